import GatewaySession
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import Synchronization

/// Writes a connection's frames straight into its NIO channel, bypassing per-connection tasks: frames are
/// handed to the ``LoopWriter`` of the channel's event loop, which writes everything queued for all of its
/// channels in one task and flushes each channel once. Fan-out to N connections on a loop therefore costs
/// one hop to that loop, not N task wake-ups.
///
/// The channel's write-buffer high watermark is the connection's limit: once more than that is unwritten
/// (the peer does not read), the channel is not writable and ``send(_:)`` refuses: a slow consumer.
///
/// Frames waiting in the loop writer count too: until the loop has written them the channel still looks
/// writable, so a burst could otherwise queue without bound in front of it. ``send(_:)`` refuses once the
/// frames queued but not yet written reach the same limit.
final class ChannelFrameSink: FrameSink {
    let channel: any Channel
    private let writer: LoopWriter
    private let limitBytes: Int
    /// Bytes handed to the loop writer and not yet written into the channel.
    let queuedBytes = Atomic<Int>(0)
    /// Whether a close frame has been written: nothing may follow it (RFC 6455 §5.5.1), so the loop writer
    /// drops what is still queued for this channel.
    let closeWritten = Atomic<Bool>(false)

    /// Wakes ``waitUntilWritable(timeout:)`` when NIO reports the channel writable again.
    let writable = WakeSignal()
    /// The context of the ``FlushCoalescingHandler`` at the head of the pipeline, next to the socket: the loop
    /// writer writes text frames it encoded itself there, past the WebSocket encoder and every other handler.
    /// Empty when the pipeline has none (then frames take the whole pipeline). Touched on the loop only.
    let head: NIOLoopBoundBox<ChannelHandlerContext?>

    /// - Parameter watchesWritability: adds a handler at the end of the pipeline that signals ``writable``;
    ///   without it, the pipeline's own last handler must.
    init(channel: any Channel, limitBytes: Int, watchesWritability: Bool = true) {
        self.channel = channel
        self.writer = LoopWriter.for(channel.eventLoop)
        self.limitBytes = limitBytes
        let head = NIOLoopBoundBox<ChannelHandlerContext?>.makeEmptyBox(valueType: ChannelHandlerContext.self, eventLoop: channel.eventLoop)
        self.head = head
        let findHead = { head.value = try? channel.pipeline.syncOperations.context(handlerType: FlushCoalescingHandler.self) }
        if channel.eventLoop.inEventLoop { findHead() } else { channel.eventLoop.execute(findHead) }
        channel.setOption(ChannelOptions.writeBufferWaterMark, value: .init(low: max(1, limitBytes / 2), high: limitBytes))
            .whenFailure { _ in }
        guard watchesWritability else { return }
        channel.eventLoop.execute { [self] in
            try? channel.pipeline.syncOperations.addHandler(WritabilityHandler(sink: self), position: .last)
        }
    }

    func send(_ frame: ByteBuffer) -> Bool { queue(frame, start: true) }

    /// Queues the frame in the loop writer without scheduling its drain (``LoopWriter/startAll()`` does).
    func sendDeferred(_ frame: ByteBuffer) -> Bool { queue(frame, start: false) }

    private func queue(_ frame: ByteBuffer, start: Bool) -> Bool {
        guard !closeWritten.load(ordering: .relaxed) else { return false }
        guard channel.isWritable || !channel.isActive else { return false }
        let size = frame.readableBytes
        guard queuedBytes.wrappingAdd(size, ordering: .relaxed).newValue <= limitBytes else {
            queuedBytes.wrappingSubtract(size, ordering: .relaxed)
            return false
        }
        writer.enqueue(self, .text(frame), start: start)
        return true
    }

    /// Queues a close frame after everything queued so far, whatever the channel's writability.
    func sendClose(code: UInt16, reason: String) {
        let frame = WebSocketFrame.close(code: code, reason: reason)
        queuedBytes.wrappingAdd(frame.data.readableBytes, ordering: .relaxed)
        writer.enqueue(self, .control(frame))
    }

    /// Bytes queued for the client and not yet handed to the socket: in the loop writer and in the channel.
    /// Called on the channel's event loop.
    func unwrittenBytes() -> Int {
        let buffered = (try? channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
        return buffered + queuedBytes.load(ordering: .relaxed)
    }

    /// Whether the close frame has been handed to the channel (by the loop writer, or directly).
    var isCloseWritten: Bool { closeWritten.load(ordering: .relaxed) }

    /// Records that a close frame was written directly to the channel: frames still queued are dropped.
    func markClosed() { closeWritten.store(true, ordering: .relaxed) }

    /// Waits while the channel is not writable, and while the loop writer still holds more than half the limit
    /// for it: a replay on the cooperative pool can queue faster than a busy event loop writes, and a frame
    /// that would take the queue past the limit is refused (slow consumer) however fast the client reads.
    func waitUntilWritable(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while channel.isActive {
            let backlogged = queuedBytes.load(ordering: .relaxed) > limitBytes / 2
            guard backlogged || !channel.isWritable else { break }
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return false }
            // Woken by NIO's writability event; the bound only covers an event that came between the check
            // above and the wait (a replay waiting on a slow reader does not spin). The loop writer drains
            // within one turn of the event loop, so a backlog is polled at a short interval instead.
            await writable.wait(atMost: backlogged ? .milliseconds(2) : .milliseconds(100))
        }
        return channel.isActive
    }
}

/// Passes NIO's writability and inactivity events to a sink's ``WakeSignal``; forwards everything.
final class WritabilityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let sink: ChannelFrameSink

    init(sink: ChannelFrameSink) { self.sink = sink }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { sink.writable.signal() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink.writable.signal()
        context.fireChannelInactive()
    }
}

/// One per event loop: collects frames for the loop's channels from any thread and writes them in a single
/// task on the loop, flushing each channel once per batch. Frames queued with `start: false` (the fan-out's)
/// wait for ``startAll()`` or the next frame that starts a drain, so several events the fan-out queued together become
/// one write per connection.
final class LoopWriter: Sendable {
    /// A queued frame: a text payload (framed by the drain), or a frame already made (close).
    enum Item {
        case text(ByteBuffer)
        case control(WebSocketFrame)

        /// The payload's size, as counted in the sink's queued bytes.
        var payloadBytes: Int {
            switch self {
            case .text(let payload): payload.readableBytes
            case .control(let frame): frame.data.readableBytes
            }
        }
    }

    private struct Pending {
        var frames: [(sink: ChannelFrameSink, item: Item)] = []
        var scheduled = false
        /// Whether a drain is writing now.
        var draining = false
        /// ``waitUntilWritten(atMost:)``'s waiters, by number; resumed when no drain is running or scheduled.
        var waiters: [Int: Waiter] = [:]
        var lastWaiter = 0
    }

    /// A caller of ``waitUntilWritten(atMost:)`` and its deadline on the loop (cancelled when it is resumed first).
    private struct Waiter {
        var continuation: CheckedContinuation<Void, Never>
        var deadline: Scheduled<Void>?
    }

    private static let writers = NIOLockedValueBox<[ObjectIdentifier: LoopWriter]>([:])

    /// The writer of `eventLoop`.
    static func `for`(_ eventLoop: any EventLoop) -> LoopWriter {
        writers.withLockedValue { writers in
            let key = ObjectIdentifier(eventLoop)
            if let writer = writers[key] { return writer }
            let writer = LoopWriter(eventLoop: eventLoop)
            writers[key] = writer
            return writer
        }
    }

    private let eventLoop: any EventLoop
    private let pending = Mutex(Pending())

    private init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ sink: ChannelFrameSink, _ item: Item, start: Bool = true) {
        let schedule = pending.withLock { pending -> Bool in
            pending.frames.append((sink, item))
            if pending.scheduled || !start { return false }
            pending.scheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.drain() } }
    }

    /// Schedules the drain of every loop writer that holds frames and has none scheduled.
    static func startAll() {
        for writer in writers.withLockedValue({ Array($0.values) }) { writer.start() }
    }

    /// Returns once every loop writer has written what its drains were started with (drains running or
    /// scheduled), or after `limit`; at once when no drain is under way.
    static func waitUntilWritten(atMost limit: Duration) async {
        for writer in writers.withLockedValue({ Array($0.values) }) { await writer.waitUntilWritten(atMost: limit) }
    }

    private func waitUntilWritten(atMost limit: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiter = pending.withLock { pending -> Int? in
                guard pending.scheduled || pending.draining else { return nil }
                pending.lastWaiter += 1
                pending.waiters[pending.lastWaiter] = Waiter(continuation: continuation)
                return pending.lastWaiter
            }
            guard let waiter else { return continuation.resume() }
            // The deadline's future completes when it passes, when it is cancelled, and when the loop shuts down
            // (then nothing else would resume the waiter).
            let deadline = eventLoop.scheduleTask(in: .nanoseconds(Int64(limit / .nanoseconds(1)))) {}
            deadline.futureResult.whenComplete { _ in self.resume(waiter) }
            pending.withLock { pending in
                pending.waiters[waiter]?.deadline = deadline
            }
        }
    }

    /// Resumes one waiter, unless it was resumed already.
    private func resume(_ waiter: Int) {
        pending.withLock { $0.waiters.removeValue(forKey: waiter) }?.continuation.resume()
    }

    private func start() {
        let schedule = pending.withLock { pending -> Bool in
            if pending.scheduled || pending.frames.isEmpty { return false }
            pending.scheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.drain() } }
    }

    private func drain() {
        let frames = pending.withLock { pending -> [(sink: ChannelFrameSink, item: Item)] in
            pending.scheduled = false
            pending.draining = true
            defer { pending.frames.removeAll(keepingCapacity: true) }
            return pending.frames
        }
        defer {
            let waiters = pending.withLock { pending -> [Waiter] in
                pending.draining = false
                guard !pending.scheduled, !pending.waiters.isEmpty else { return [] }
                defer { pending.waiters.removeAll() }
                return Array(pending.waiters.values)
            }
            for waiter in waiters {
                waiter.deadline?.cancel()
                waiter.continuation.resume()
            }
        }
        // A fan-out hands every subscriber of one redaction view the same payload buffer: it is framed once
        // per drain (header and payload in one buffer, one iovec) and written at the head of each pipeline.
        var encoded: [EncodedKey: ByteBuffer] = [:]
        var written: [ObjectIdentifier: (sink: ChannelFrameSink, direct: Bool)] = [:]
        for (sink, item) in frames {
            let key = ObjectIdentifier(sink.channel)
            sink.queuedBytes.wrappingSubtract(item.payloadBytes, ordering: .relaxed)
            // Nothing follows a close frame; this loop is the only writer of queued frames, so the check holds.
            guard !sink.closeWritten.load(ordering: .relaxed) else { continue }
            switch item {
            case .text(let payload):
                guard let head = sink.head.value else {
                    sink.channel.write(WebSocketFrame(fin: true, opcode: .text, data: payload), promise: nil)
                    written[key] = (sink, false)
                    continue
                }
                let identity = EncodedKey(payload)
                let bytes: ByteBuffer
                if let known = encoded[identity] {
                    bytes = known
                } else {
                    bytes = Self.encodeText(payload, allocator: sink.channel.allocator)
                    encoded[identity] = bytes
                }
                head.write(NIOAny(bytes), promise: nil)
                written[key] = (sink, written[key]?.direct ?? true)
            case .control(let frame):
                if frame.opcode == .connectionClose { sink.closeWritten.store(true, ordering: .relaxed) }
                sink.channel.write(frame, promise: nil)
                written[key] = (sink, false)
            }
        }
        for (sink, direct) in written.values {
            // Frames written at the head are flushed there (this drain already gathered them); anything that
            // went through the pipeline is flushed through it, so every handler sees its flush.
            if direct, let head = sink.head.value { head.flush() } else { sink.channel.flush() }
        }
    }

    /// A server text frame (RFC 6455 §5.2: FIN, opcode 1, no mask) around `payload`, in one buffer.
    static func encodeText(_ payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let count = payload.readableBytes
        var buffer = allocator.buffer(capacity: count + 10)
        buffer.writeInteger(UInt8(0x81))
        if count < 126 {
            buffer.writeInteger(UInt8(count))
        } else if count <= 0xFFFF {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(count))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(count))
        }
        var payload = payload
        buffer.writeBuffer(&payload)
        return buffer
    }

    /// The identity of a payload buffer: where its readable bytes are, and how many (buffers sharing storage
    /// and view are one payload).
    struct EncodedKey: Hashable {
        let address: UInt
        let count: Int

        init(_ buffer: ByteBuffer) {
            address = buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
            count = buffer.readableBytes
        }
    }
}
