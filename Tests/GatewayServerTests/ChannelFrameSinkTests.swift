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

    @Test("a replay waiting for a full channel is woken by NIO's writability event, not by a timer")
    func writabilityWakesWaiters() async throws {
        let channel = EmbeddedChannel()
        let sink = ChannelFrameSink(channel: channel, limitBytes: 1000)
        channel.embeddedEventLoop.run()  // adds the writability handler
        let started = ContinuousClock.now
        // A wait that only the event can end early: its own bound is far beyond the test's.
        let waiter = Task { await sink.writable.wait(atMost: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(50))
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        await waiter.value
        #expect(started.duration(to: .now) < .seconds(30))
        _ = try channel.finish()
    }
}
