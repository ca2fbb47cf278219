import EventBus
import GatewayModel
import Logging
import Synchronization

/// One bus subscription of a ``RedisEventBus``: the live events the pub/sub thread offered, queued (bounded)
/// for one consumer task that awaits the handler for each in turn. When the queue overflows, or after the
/// pub/sub connection came back, the consumer reads the stream from the last position it delivered
/// (`catch-up`) instead of buffering without bound, then goes on with the live queue, skipping what it
/// already delivered. So a subscription sees every event of its channels once, in log order.
final class SubscriptionFeed: Sendable {
    private struct State {
        var channels: Set<String>
        var queue: [StoredEvent] = []
        var waiter: CheckedContinuation<Void, Never>?
        var catchUp = false
        var firstLive = false
        var live = false
        var closed = false
    }

    private enum Work {
        case events([StoredEvent])
        case firstLive
        case catchUp
        case closed
    }

    private let state: Mutex<State>
    private let handler: @Sendable (StoredEvent) async -> Void
    private let history: RedisEventBus.History?
    private let logger: Logger
    /// The most live events queued before the feed drops them and reads the stream instead.
    let queueLimit: Int
    /// How many times the queue overflowed (for tests and metrics).
    let overflows = Atomic<Int>(0)

    init(
        channels: Set<String>,
        queueLimit: Int,
        history: RedisEventBus.History?,
        logger: Logger,
        handler: @escaping @Sendable (StoredEvent) async -> Void
    ) {
        state = Mutex(State(channels: channels))
        self.queueLimit = queueLimit
        self.history = history
        self.logger = logger
        self.handler = handler
    }

    var channels: Set<String> { state.withLock { $0.channels } }

    /// Removes `channels`; returns whether the feed has none left.
    func remove(_ channels: Set<String>) -> Bool {
        state.withLock { state in
            state.channels.subtract(channels)
            return state.channels.isEmpty
        }
    }

    /// Queues a live event when one of the feed's channels covers `channel` (called on the pub/sub thread).
    func offer(_ event: StoredEvent, channel: String) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.closed, state.channels.contains(where: { RedisEventBus.channel($0, covers: channel) }) else { return nil }
            if state.queue.count >= queueLimit {
                state.queue.removeAll(keepingCapacity: false)
                state.catchUp = true
                overflows.add(1, ordering: .relaxed)
            } else {
                state.queue.append(event)
            }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The pub/sub connection is (again) subscribed: read what may have been missed before going on.
    func connectionIsLive() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            // The first time, nothing can have been missed: remember the head, where a later catch-up starts
            // if nothing was delivered by then.
            if state.live { state.catchUp = true } else { state.firstLive = true }
            state.live = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Ends ``run()`` after the event in hand.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Delivers until ``close()``.
    func run() async {
        var last: Int64?
        // Where a catch-up starts when nothing was delivered yet: the head when the feed first went live.
        var start: Int64?
        while true {
            switch await next() {
            case .closed:
                return
            case .firstLive:
                if let history { start = try? await history.log.head() }
            case .events(let events):
                for event in events {
                    if let last, event.position <= last { continue }
                    last = event.position
                    await handler(event)
                }
            case .catchUp:
                guard let history else { continue }
                do {
                    var from: Int64
                    if let known = last ?? start { from = known } else { from = try await history.log.head() }
                    let origin = from
                    var caughtUp = 0
                    while true {
                        let page = try await history.log.read(after: from, company: nil, limit: 512)
                        guard !page.events.isEmpty else { break }
                        let channels = self.channels
                        for event in page.events {
                            from = event.position
                            let channel = history.channelPrefix + "." + event.eventType
                            guard channels.contains(where: { RedisEventBus.channel($0, covers: channel) }) else { continue }
                            if let last, event.position <= last { continue }
                            last = event.position
                            caughtUp += 1
                            await handler(event)
                        }
                    }
                    last = max(last ?? from, from)
                    logger.info(
                        "caught up from the stream",
                        metadata: [LogKey.event: "event_bus.caught_up", "after": "\(origin)", "to": "\(from)", "delivered": "\(caughtUp)"]
                    )
                } catch {
                    logger.warning(
                        "catching up from the stream failed; retrying",
                        metadata: [LogKey.event: "event_bus.catch_up_failed", LogKey.error: "\(error)"]
                    )
                    // Redis went away again: try once more after a pause (the queue keeps the live feed).
                    state.withLock { $0.catchUp = true }
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
    }

    private func next() async -> Work {
        while true {
            let work = state.withLock { state -> Work? in
                if state.closed { return .closed }
                if state.firstLive {
                    state.firstLive = false
                    return .firstLive
                }
                if state.catchUp {
                    state.catchUp = false
                    return .catchUp
                }
                guard !state.queue.isEmpty else { return nil }
                defer { state.queue = [] }
                return .events(state.queue)
            }
            if let work { return work }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resume = state.withLock { state -> Bool in
                    if state.closed || state.catchUp || state.firstLive || !state.queue.isEmpty { return true }
                    state.waiter = continuation
                    return false
                }
                if resume { continuation.resume() }
            }
        }
    }
}
