import CoreMetrics
import EventBus
import Foundation
import GatewayModel
import Logging
public import NIOCore
import PolicyEngine
import PolicyLanguage
import Synchronization

/// The bounded outbound queue of one connection. Producers (fan-out, replay, replies) enqueue
/// encoded frames without waiting; the connection's writer takes everything queued in one batch.
/// A connection that lets more than ``limitBytes`` pile up is a slow consumer: its queue is dropped and
/// the socket closed with 1008 "slow consumer" (transient: the client reconnects and resumes by cursor),
/// so one slow client never holds memory or slows the others.
public final class Outbox: Sendable {
    /// What the writer should do next.
    public enum Next: Sendable {
        /// Write these text frames, in order.
        case frames([ByteBuffer])
        /// Close the socket with this code and reason (after writing what was queued before it).
        case close(code: UInt16, reason: String)
    }

    private struct State {
        var frames = CircularBuffer<ByteBuffer>(initialCapacity: 4)
        var bytes = 0
        var waiter: CheckedContinuation<Next, Never>?
        var closing: (code: UInt16, reason: String)?
        var closeDelivered = false
    }

    private let state = Mutex(State())
    /// The most bytes that may wait in the queue.
    public let limitBytes: Int

    /// An empty outbox.
    public init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// Queues a text frame. Returns `false` when the outbox is closing, or when the frame would overflow
    /// it; in that case the outbox closes with 1008 ("slow consumer").
    @discardableResult
    public func enqueue(_ frame: ByteBuffer) -> Bool {
        let (accepted, waiter, next) = state.withLock { state -> (Bool, CheckedContinuation<Next, Never>?, Next?) in
            guard state.closing == nil else { return (false, nil, nil) }
            let accepted = state.bytes + frame.readableBytes <= limitBytes
            if accepted {
                state.frames.append(frame)
                state.bytes += frame.readableBytes
            } else {
                state.closing = (1008, "slow consumer")
                state.frames.removeAll()
                state.bytes = 0
            }
            let (waiter, next) = Self.takeIfWaiting(&state)
            return (accepted, waiter, next)
        }
        if let waiter, let next { waiter.resume(returning: next) }
        return accepted
    }

    /// Queues a text frame made from `text`.
    @discardableResult
    public func enqueue(text: String) -> Bool { enqueue(ByteBuffer(string: text)) }

    /// Asks the writer to close the socket once the frames queued so far are written. The first close wins.
    public func close(code: UInt16, reason: String) {
        let (waiter, next) = state.withLock { state -> (CheckedContinuation<Next, Never>?, Next?) in
            guard state.closing == nil else { return (nil, nil) }
            state.closing = (code, String(decoding: reason.utf8.prefix(32), as: UTF8.self))
            return Self.takeIfWaiting(&state)
        }
        if let waiter, let next { waiter.resume(returning: next) }
    }

    /// Whether a close was requested (or forced by overflow).
    public var isClosing: Bool { state.withLock { $0.closing != nil } }

    /// The number of bytes waiting.
    public var queuedBytes: Int { state.withLock { $0.bytes } }

    /// Waits for the next batch of frames, or the close request once every earlier frame was taken.
    /// One writer only.
    public func next() async -> Next {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Next? in
                if let next = Self.take(&state) { return next }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private static func takeIfWaiting(_ state: inout State) -> (CheckedContinuation<Next, Never>?, Next?) {
        guard let waiter = state.waiter, let next = take(&state) else { return (nil, nil) }
        state.waiter = nil
        return (waiter, next)
    }

    private static func take(_ state: inout State) -> Next? {
        if !state.frames.isEmpty {
            let frames = Array(state.frames)
            state.frames.removeAll(keepingCapacity: true)
            state.bytes = 0
            return .frames(frames)
        }
        if let closing = state.closing, !state.closeDelivered {
            state.closeDelivered = true
            return .close(code: closing.code, reason: closing.reason)
        }
        if state.closeDelivered { return .close(code: state.closing!.code, reason: state.closing!.reason) }
        return nil
    }
}
