import NIOConcurrencyHelpers
import NIOCore

/// One per event loop and ping interval: a single repeating timer pings every WebSocket connection of the
/// loop, instead of a scheduled task per connection (which cost an idle connection about 300 bytes).
/// A connection that has not answered the previous ping when the next tick comes is closed (1001).
/// Confined to its event loop, like the handlers it holds.
final class LoopPinger: @unchecked Sendable {
    private struct Key: Hashable {
        let loop: ObjectIdentifier
        let interval: Int64
    }

    private static let pingers = NIOLockedValueBox<[Key: LoopPinger]>([:])

    /// The pinger of `eventLoop` for `interval`.
    static func `for`(_ eventLoop: any EventLoop, interval: TimeAmount) -> LoopPinger {
        pingers.withLockedValue { pingers in
            let key = Key(loop: ObjectIdentifier(eventLoop), interval: interval.nanoseconds)
            if let pinger = pingers[key] { return pinger }
            let pinger = LoopPinger(eventLoop: eventLoop, interval: interval)
            pingers[key] = pinger
            return pinger
        }
    }

    private let eventLoop: any EventLoop
    private let interval: TimeAmount
    private var connections: [WebSocketConnectionHandler] = []
    private var timer: RepeatedTask?

    private init(eventLoop: any EventLoop, interval: TimeAmount) {
        self.eventLoop = eventLoop
        self.interval = interval
    }

    /// Starts pinging `connection`; returns its slot, for ``remove(_:at:)``.
    func add(_ connection: WebSocketConnectionHandler) -> Int {
        eventLoop.preconditionInEventLoop()
        connections.append(connection)
        if timer == nil {
            timer = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in tick() }
        }
        return connections.count - 1
    }

    /// Stops pinging the connection in `slot`; the connection moved into that slot learns its new one.
    func remove(_ connection: WebSocketConnectionHandler, at slot: Int) {
        eventLoop.preconditionInEventLoop()
        guard slot < connections.count, connections[slot] === connection else { return }
        let last = connections.removeLast()
        if slot < connections.count {
            connections[slot] = last
            last.pingSlot = slot
        }
        if connections.isEmpty {
            timer?.cancel()
            timer = nil
        }
    }

    private func tick() {
        // A ping may close its connection, which removes it: go over a copy.
        for connection in connections { connection.ping() }
    }
}
