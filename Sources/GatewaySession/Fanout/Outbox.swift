public import NIOCore
import Synchronization

/// Where a connection's frames go: implemented by the transport (for WebSocket, straight into the NIO
/// channel on its event loop, batched per loop). Callable from any thread.
public protocol FrameSink: Sendable {
    /// Queues one text frame; returns `false` when the connection already holds more than its limit
    /// of unwritten bytes (a slow consumer).
    func send(_ frame: ByteBuffer) -> Bool

    /// Queues one text frame like ``send(_:)`` but starts no write: the frame goes out with the next write
    /// the transport starts (another `send`, or the end of the fan-out's batch: ``Gateway/Configuration/startQueuedWrites``).
    /// The fan-out queues events this way, so that events handed over together share one write per
    /// connection. A transport without batching sends at once (the default).
    func sendDeferred(_ frame: ByteBuffer) -> Bool

    /// Waits (at most `timeout`) until the connection can take more frames; `false` when it did not.
    /// Producers that can wait (a replay) call it so that a reader behind by more than the limit is paced
    /// rather than dropped.
    func waitUntilWritable(timeout: Duration) async -> Bool
}

extension FrameSink {
    public func sendDeferred(_ frame: ByteBuffer) -> Bool { send(frame) }
}

/// The outbound side of one connection. Producers (fan-out, replay, replies) enqueue encoded frames
/// without waiting and without waking any task: frames go to the ``FrameSink``. A connection whose
/// unwritten bytes exceed its limit is a slow consumer: it is closed with 1008 "slow consumer" (transient:
/// the client reconnects and resumes by cursor), so one slow client never holds memory or slows the others.
/// Closing is a request the transport hears of through ``onCloseRequested(_:)``.
public final class Outbox: Sendable {
    private struct State {
        var closing: (code: UInt16, reason: String)?
        var listener: (@Sendable (_ code: UInt16, _ reason: String) -> Void)?
    }

    private let state = Mutex(State())
    private let sink: any FrameSink

    /// An outbox writing to `sink`.
    public init(sink: any FrameSink) { self.sink = sink }

    /// Sends a text frame. Returns `false` when the outbox is closing, or when the connection is over its
    /// limit; in that case the outbox closes with 1008 ("slow consumer").
    /// - Parameter deferred: start no write (``FrameSink/sendDeferred(_:)``); the caller starts them.
    @discardableResult
    public func enqueue(_ frame: ByteBuffer, deferred: Bool = false) -> Bool {
        guard !isClosing else { return false }
        guard deferred ? sink.sendDeferred(frame) : sink.send(frame) else {
            close(code: 1008, reason: "slow consumer")
            return false
        }
        return true
    }

    /// Waits until the connection can take more frames (see ``FrameSink/waitUntilWritable(timeout:)``).
    public func waitUntilWritable(timeout: Duration = .seconds(30)) async -> Bool {
        guard !isClosing else { return false }
        return await sink.waitUntilWritable(timeout: timeout)
    }

    /// Sends a text frame made from `text`.
    @discardableResult
    public func enqueue(text: String) -> Bool { enqueue(ByteBuffer(string: text)) }

    /// Asks the transport to close the socket with `code` and `reason` (at most 32 bytes). The first close wins.
    public func close(code: UInt16, reason: String) {
        let closing = (code: code, reason: String(decoding: reason.utf8.prefix(32), as: UTF8.self))
        let listener = state.withLock { state -> (@Sendable (UInt16, String) -> Void)? in
            guard state.closing == nil else { return nil }
            state.closing = closing
            defer { state.listener = nil }
            return state.listener
        }
        listener?(closing.code, closing.reason)
    }

    /// Whether a close was requested (or forced by overflow).
    public var isClosing: Bool { state.withLock { $0.closing != nil } }

    /// Calls `listener` once with the code and reason of the first close request, at once when one was
    /// already made. One listener only; it runs on the requesting thread and must not block.
    public func onCloseRequested(_ listener: @escaping @Sendable (_ code: UInt16, _ reason: String) -> Void) {
        let ready = state.withLock { state -> (code: UInt16, reason: String)? in
            if let closing = state.closing { return closing }
            state.listener = listener
            return nil
        }
        if let ready { listener(ready.code, ready.reason) }
    }
}
