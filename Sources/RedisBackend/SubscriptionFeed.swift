import EventBus
import GatewayModel
import Logging
import Synchronization

/// One bus subscription of a ``RedisEventBus``: the live events the pub/sub thread offered, queued (bounded)
/// for one consumer task that awaits the handler for each in turn.
///
/// Catch-up: after the pub/sub connection broke, live events are held (queued, not delivered) until the
/// connection is subscribed again and the consumer has read the stream from the last position it delivered;
/// when the queue overflows, it is dropped and the stream read instead of buffering without bound. Either way
/// the consumer then goes on with the live queue, skipping positions it already delivered. So a subscription
/// sees every event of its channels once, in log order, from the head of the log when it subscribed.
final class SubscriptionFeed: Sendable {
    private struct State {
        var channels: Set<String>
        var queue: [StoredEvent] = []
        var waiter: CheckedContinuation<Void, Never>?
        /// A catch-up is due: the connection came back, or the queue overflowed.
        var catchUp = false
        /// The connection broke: live events wait until a catch-up has run.
        var held = false
        /// The first live moment, when the head before subscribing could not be read.
        var firstLive = false
        var live = false
        var closed = false
    }

    private enum Work {
        case events([StoredEvent])
        case firstLive
        case catchUp(firstQueued: Int64?)
        case closed
    }

    private let state: Mutex<State>
    private let handler: @Sendable (StoredEvent) async -> Void
    private let history: RedisEventBus.History?
    private let logger: Logger
    /// The head of the log read just before the subscription was made: nothing after it may be missed.
    private let start: Int64?
    /// The most live events queued before the feed drops them and reads the stream instead.
    let queueLimit: Int
    /// How many times the queue overflowed (for tests and metrics).
    let overflows = Atomic<Int>(0)

    init(
        channels: Set<String>,
        start: Int64?,
        queueLimit: Int,
        history: RedisEventBus.History?,
        logger: Logger,
        handler: @escaping @Sendable (StoredEvent) async -> Void
    ) {
        state = Mutex(State(channels: channels))
        self.start = start
        self.queueLimit = queueLimit
        self.history = history
        self.logger = logger
        self.handler = handler
    }

    var channels: Set<String> { state.withLock { $0.channels } }

    /// Removes `channels`; returns how many of them the feed held and whether it has none left.
    func remove(_ channels: Set<String>) -> (removed: Set<String>, empty: Bool) {
        state.withLock { state in
            let removed = state.channels.intersection(channels)
            state.channels.subtract(channels)
            return (removed, state.channels.isEmpty)
        }
    }

    /// Queues a live event when one of the feed's channels covers `channel` (called on the pub/sub thread).
    func offer(_ event: StoredEvent, channel: String) {
        change { state in
            guard state.channels.contains(where: { RedisEventBus.channel($0, covers: channel) }) else { return }
            if state.queue.count >= queueLimit {
                state.queue.removeAll(keepingCapacity: false)
                state.catchUp = history != nil
                overflows.add(1, ordering: .relaxed)
            } else {
                state.queue.append(event)
            }
        }
    }

    /// The pub/sub connection broke: hold live events until the stream has been read after it comes back.
    func connectionLost() {
        guard history != nil else { return }
        change { $0.held = true }
    }

    /// The pub/sub connection is (again) subscribed: read what may have been missed before going on.
    func connectionIsLive() {
        change { state in
            if state.live {
                state.catchUp = history != nil
            } else if start == nil {
                state.firstLive = history != nil
            }
            state.live = true
        }
    }

    /// Ends ``run()`` after the event in hand.
    func close() { change { $0.closed = true } }

    private var isClosed: Bool { state.withLock { $0.closed } }

    private func change(_ body: (inout State) -> Void) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.closed else { return nil }
            body(&state)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Delivers until ``close()``.
    func run() async {
        var last: Int64?
        // Where a catch-up starts while nothing was delivered yet.
        var origin = start
        while true {
            switch await next() {
            case .closed:
                return
            case .firstLive:
                // The head could not be read before subscribing; now the subscription is in place.
                if let history, origin == nil { origin = try? await history.log.head() }
            case .events(let events):
                for event in events {
                    if isClosed { return }
                    if let last, event.position <= last { continue }
                    last = event.position
                    await handler(event)
                }
            case .catchUp(let firstQueued):
                guard let history else { continue }
                do {
                    var from: Int64
                    if let last {
                        from = last
                    } else if let known = [origin, firstQueued.map { $0 - 1 }].compactMap({ $0 }).min() {
                        from = known
                    } else {
                        from = try await history.log.head()
                    }
                    let began = from
                    var delivered = 0
                    while !isClosed {
                        let page = try await history.log.read(after: from, company: nil, limit: 512)
                        if let known = last, known > page.head {
                            // The log's head went back (Redis lost its newest writes): positions after it will
                            // be given again, and must not be skipped as already delivered.
                            logger.warning(
                                "the event log's head went back; delivering from it",
                                metadata: [LogKey.event: "event_bus.head_regressed", "head": "\(page.head)", "delivered": "\(known)"]
                            )
                            last = page.head
                            from = page.head
                        }
                        let channels = self.channels
                        for event in page.events {
                            if isClosed { return }
                            from = event.position
                            let channel = history.channelPrefix + "." + event.eventType
                            guard channels.contains(where: { RedisEventBus.channel($0, covers: channel) }) else { continue }
                            if let last, event.position <= last { continue }
                            last = event.position
                            delivered += 1
                            await handler(event)
                        }
                        // Entries this node could not decode are passed over, not read again forever.
                        if let scanned = page.scannedThrough { from = max(from, scanned) }
                        if page.events.isEmpty && page.scannedThrough == nil { break }
                    }
                    last = max(last ?? from, from)
                    state.withLock { $0.held = false }
                    logger.info(
                        "caught up from the stream",
                        metadata: [LogKey.event: "event_bus.caught_up", "after": "\(began)", "to": "\(from)", "delivered": "\(delivered)"]
                    )
                } catch {
                    logger.warning(
                        "catching up from the stream failed; retrying",
                        metadata: [LogKey.event: "event_bus.catch_up_failed", LogKey.error: "\(error)"]
                    )
                    // Redis went away again: try once more after a pause (live events stay held meanwhile).
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
                    return .catchUp(firstQueued: state.queue.first?.position)
                }
                guard !state.held, !state.queue.isEmpty else { return nil }
                defer { state.queue = [] }
                return .events(state.queue)
            }
            if let work { return work }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resume = state.withLock { state -> Bool in
                    if state.closed || state.catchUp || state.firstLive || (!state.held && !state.queue.isEmpty) { return true }
                    state.waiter = continuation
                    return false
                }
                if resume { continuation.resume() }
            }
        }
    }
}
