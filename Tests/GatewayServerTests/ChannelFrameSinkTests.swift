import GatewaySession
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing

@testable import GatewayServer

/// The per-connection limit holds before the event loop has written anything: frames waiting in the
/// loop writer count against it, so a burst cannot queue without bound in front of a channel.
@Suite("Channel frame sink")
struct ChannelFrameSinkTests {
    @Test("frames queued for the loop but not yet written count against the connection's limit")
    func queuedBytesBounded() throws {
        let channel = EmbeddedChannel()
        let sink = ChannelFrameSink(channel: channel, limitBytes: 1000)
        let frame = ByteBuffer(repeating: UInt8(ascii: "x"), count: 300)
        // The embedded loop runs nothing until told: everything stays queued in the loop writer.
        #expect((0..<3).map { _ in sink.send(frame) } == [true, true, true])
        #expect(sink.send(frame) == false)
        #expect(sink.queuedBytes.load(ordering: .relaxed) == 900)
        // Once the loop has written them into the channel they no longer count.
        channel.embeddedEventLoop.run()
        #expect(sink.queuedBytes.load(ordering: .relaxed) == 0)
        var written = 0
        while let outbound = try channel.readOutbound(as: WebSocketFrame.self) {
            #expect(outbound.opcode == .text)
            written += 1
        }
        #expect(written == 3)
        #expect(sink.send(frame))
        _ = try channel.finish()
    }

    @Test("deferred frames wait for startAll or the next frame that starts a drain, then go out in order, once")
    func deferredFrames() throws {
        let channel = EmbeddedChannel()
        let sink = ChannelFrameSink(channel: channel, limitBytes: 1 << 20)
        channel.embeddedEventLoop.run()
        func written() throws -> [String] {
            var texts: [String] = []
            // No head handler in an embedded channel: frames go through the pipeline as they were queued.
            while let outbound = try channel.readOutbound(as: WebSocketFrame.self) { texts.append(String(buffer: outbound.unmaskedData)) }
            return texts
        }
        #expect(sink.sendDeferred(ByteBuffer(string: "a")) && sink.sendDeferred(ByteBuffer(string: "b")))
        channel.embeddedEventLoop.run()
        #expect(try written().isEmpty, "no drain was started")
        #expect(sink.queuedBytes.load(ordering: .relaxed) == 2, "they count against the limit while they wait")
        LoopWriter.startAll()
        channel.embeddedEventLoop.run()
        #expect(try written() == ["a", "b"])
        // A frame that starts a drain takes the deferred ones queued before it along.
        #expect(sink.sendDeferred(ByteBuffer(string: "c")) && sink.send(ByteBuffer(string: "d")))
        channel.embeddedEventLoop.run()
        #expect(try written() == ["c", "d"])
        LoopWriter.startAll()
        channel.embeddedEventLoop.run()
        #expect(try written().isEmpty, "nothing twice")
        _ = try channel.finish()
    }

    @Test("a replay waits while the loop writer holds more than half the limit, so its frames are not refused")
    func waitsForTheLoopWriter() async throws {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let sink = ChannelFrameSink(channel: channel, limitBytes: 1000)
        channel.embeddedEventLoop.run()
        let frame = ByteBuffer(repeating: UInt8(ascii: "x"), count: 300)
        #expect(sink.send(frame) && sink.send(frame))
        // 600 of 1,000 bytes wait in the loop writer (the embedded loop runs nothing until told): the channel
        // is writable, but a replay must not add more.
        #expect(sink.queuedBytes.load(ordering: .relaxed) == 600 && channel.isWritable)
        #expect(await sink.waitUntilWritable(timeout: .milliseconds(20)) == false)
        channel.embeddedEventLoop.run()
        #expect(sink.queuedBytes.load(ordering: .relaxed) == 0)
        #expect(await sink.waitUntilWritable(timeout: .milliseconds(20)))
        _ = try channel.finish()
    }

    @Test("nothing is written after a close frame: frames queued behind it are dropped, later ones refused")
    func nothingAfterClose() throws {
        let channel = EmbeddedChannel()
        let sink = ChannelFrameSink(channel: channel, limitBytes: 1 << 20)
        let frame = ByteBuffer(string: "x")
        #expect(sink.send(frame))
        sink.sendClose(code: 4029, reason: "message rate exceeded")
        #expect(sink.send(frame), "queued behind the close before the loop ran")
        channel.embeddedEventLoop.run()
        var opcodes: [WebSocketOpcode] = []
        while let written = try channel.readOutbound(as: WebSocketFrame.self) { opcodes.append(written.opcode) }
        #expect(opcodes == [.text, .connectionClose])
        #expect(!sink.send(frame), "refused once the close is written")
        #expect(sink.queuedBytes.load(ordering: .relaxed) == 0)
        _ = try channel.finish()
    }

    @Test("a replay waiting for a full channel is woken by NIO's writability event, not by a timer")
    func writabilityWakesWaiters() async throws {
        // The async testing channel, safe to use from the test's task whatever thread it resumes on.
        let channel = NIOAsyncTestingChannel()
        let sink = ChannelFrameSink(channel: channel, limitBytes: 1000)
        await channel.testingEventLoop.run()  // adds the writability handler
        // A wait that only the event can end within the test's patience: its own bound is ten times longer.
        let woken = Atomic<Bool>(false)
        let waiter = Task {
            await sink.writable.wait(atMost: patience * 10)
            woken.store(true, ordering: .releasing)
        }
        defer { waiter.cancel() }
        // An event that comes before the waiter has registered wakes nobody: it comes again until one is woken.
        try await eventually("the writability event woke the waiter") {
            channel.isWritable = false
            channel.pipeline.fireChannelWritabilityChanged()
            channel.isWritable = true
            channel.pipeline.fireChannelWritabilityChanged()
            await channel.testingEventLoop.run()
            return woken.load(ordering: .acquiring)
        }
        await waiter.value
        _ = try await channel.finish()
    }
}

/// The per-connection message queue of the WebSocket stage, and the receive-buffer sizes.
@Suite("Message inbox")
struct MessageInboxTests {
    @Test("messages come out in order; one drain task at a time; reading pauses past a depth and resumes below another")
    func inbox() {
        let inbox = MessageInbox(resumeDepth: 2)
        #expect(!inbox.claimDrainer(), "nothing waits")
        for index in 0..<5 { inbox.push(.text("m\(index)")) }
        #expect(inbox.claimDrainer())
        #expect(!inbox.claimDrainer(), "a drain task already runs")
        #expect(inbox.pauseIfDeeper(than: 4))
        var taken: [String] = []
        var resumedAt: Int?
        while let (message, resume) = inbox.next() {
            if case .text(let text) = message { taken.append(text) } else { taken.append("binary") }
            if resume { resumedAt = taken.count }
        }
        #expect(taken == ["m0", "m1", "m2", "m3", "m4"])
        #expect(resumedAt == 3, "resumes once at most two wait")
        #expect(!inbox.pauseIfDeeper(than: 4))
        inbox.push(.binary)
        #expect(inbox.claimDrainer(), "the drain ended, so a new message claims a new one")
        inbox.close()
        #expect(inbox.next() == nil)
        inbox.push(.text("after close"))
        #expect(!inbox.claimDrainer())
    }

    @Test("the receive buffer starts at 1 KiB and doubles after full reads, up to 64 KiB")
    func receiveBuffers() {
        var allocator = DoublingRecvAllocator()
        #expect(allocator.nextBufferSize() == 1024)
        let partial = allocator.record(actualReadBytes: 800)
        #expect(!partial)
        let full = allocator.record(actualReadBytes: 1024)
        #expect(full)
        #expect(allocator.nextBufferSize() == 2048)
        for _ in 0..<10 { _ = allocator.record(actualReadBytes: 1 << 20) }
        #expect(allocator.nextBufferSize() == 65536)
        let atMaximum = allocator.record(actualReadBytes: 65536)
        #expect(!atMaximum)
    }
}
