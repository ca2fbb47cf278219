public import GatewayModel
import Synchronization

/// The single writer between publishers and the log: publishes queue here, one loop appends everything
/// queued in one transaction (one fsync for the batch: group commit) and answers each publisher as soon as
/// its events are durable. A second loop hands the stored events to the bus in log order, beside the next
/// appends: a publisher's 202 does not wait for the fan-out. Because one loop appends and one delivers, in
/// the order appended, the bus (and so every node's fan-out) sees events exactly in log order, which replay
/// and cursors rely on.
///
/// The deliveries waiting for the bus are bounded (``maximumQueuedDeliveries`` events): when the fan-out
/// falls that far behind, the append loop waits for it, so publishers slow down instead of memory growing.
public final class EventPipeline: Sendable {
    private struct Pending {
        var events: [NewEvent]
        var reply: CheckedContinuation<[AppendOutcome], any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var waiter: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    /// Appended batches on their way to the bus.
    private struct Deliveries {
        var batches: [[StoredEvent]] = []
        var next = 0
        var queued = 0
        /// The delivery loop, waiting for a batch.
        var waiter: CheckedContinuation<Void, Never>?
        /// The append loop, waiting for room.
        var room: CheckedContinuation<Void, Never>?
        var finished = false
    }

    private let state = Mutex(State())
    private let deliveries = Mutex(Deliveries())
    private let log: any EventLog
    private let deliver: @Sendable ([StoredEvent]) async -> Void
    /// The most events appended in one transaction.
    public let maximumBatch: Int
    /// The most appended events waiting for the bus before appends wait for the fan-out.
    public let maximumQueuedDeliveries: Int
    /// The most events handed to `deliver` at once: batches appended while the fan-out was busy are handed
    /// over together, up to this many, so the fan-out can write them to each connection at once.
    public let maximumHandOver: Int

    /// Creates a pipeline over `log`; `deliver` receives each appended batch, in log order, after the
    /// publishers of that batch were answered.
    /// - Parameters:
    ///   - log: where events are appended.
    ///   - maximumBatch: the most events appended in one transaction.
    ///   - maximumQueuedDeliveries: the most appended events waiting for `deliver` before appending waits. The
    ///     default, two hand-overs, keeps the fan-out fed while it writes one; a deeper queue adds nothing to
    ///     throughput and only lets an overloaded node accept events faster than it delivers them (at 16,384,
    ///     flat-out publishers saw their events delivered 0.5–0.6 s after the 202).
    ///   - maximumHandOver: the most events of queued batches handed to `deliver` in one call (a batch
    ///     larger than that is handed over whole).
    ///   - deliver: hands appended events on (to the bus).
    public init(
        log: any EventLog,
        maximumBatch: Int = 1024,
        maximumQueuedDeliveries: Int = 128,
        maximumHandOver: Int = 64,
        deliver: @escaping @Sendable ([StoredEvent]) async -> Void
    ) {
        self.log = log
        self.maximumBatch = maximumBatch
        self.maximumQueuedDeliveries = max(1, maximumQueuedDeliveries)
        self.maximumHandOver = max(1, maximumHandOver)
        self.deliver = deliver
    }

    /// Appends `events` (in order) and returns once they are durable.
    public func submit(_ events: [NewEvent]) async throws -> [AppendOutcome] {
        try await withCheckedThrowingContinuation { continuation in
            let (stopped, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                if state.stopped { return (true, nil) }
                state.pending.append(Pending(events: events, reply: continuation))
                defer { state.waiter = nil }
                return (false, state.waiter)
            }
            if stopped { continuation.resume(throwing: EventBusError.closed) }
            waiter?.resume()
        }
    }

    /// Runs until ``stop()``; then drains what was queued (appends and deliveries) before returning.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.deliverInOrder() }
            while let batch = await nextBatch() {
                let events = batch.flatMap(\.events)
                do {
                    let outcomes = try await log.append(events)
                    var offset = 0
                    for item in batch {
                        item.reply.resume(returning: Array(outcomes[offset..<offset + item.events.count]))
                        offset += item.events.count
                    }
                    var appended: [StoredEvent] = []
                    appended.reserveCapacity(outcomes.count)
                    for case .appended(let event) in outcomes { appended.append(event) }
                    if !appended.isEmpty { await enqueueDelivery(appended) }
                } catch {
                    for item in batch { item.reply.resume(throwing: error) }
                }
            }
            let waiter = deliveries.withLock { deliveries -> CheckedContinuation<Void, Never>? in
                deliveries.finished = true
                defer { deliveries.waiter = nil }
                return deliveries.waiter
            }
            waiter?.resume()
            await group.waitForAll()
        }
    }

    /// Refuses new publishes and lets ``run()`` return once the queue is empty.
    public func stop() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopped = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Queues appended events for the bus; waits while the queue is full.
    private func enqueueDelivery(_ events: [StoredEvent]) async {
        let waiter = deliveries.withLock { deliveries -> CheckedContinuation<Void, Never>? in
            deliveries.batches.append(events)
            deliveries.queued += events.count
            defer { deliveries.waiter = nil }
            return deliveries.waiter
        }
        waiter?.resume()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let roomNow = deliveries.withLock { deliveries -> Bool in
                guard deliveries.queued > maximumQueuedDeliveries else { return true }
                deliveries.room = continuation
                return false
            }
            if roomNow { continuation.resume() }
        }
    }

    /// Hands queued batches to `deliver`, one at a time, in the order appended, until the append loop ended
    /// and the queue is empty.
    private func deliverInOrder() async {
        while let batch = await nextDelivery() {
            await deliver(batch)
            let room = deliveries.withLock { deliveries -> CheckedContinuation<Void, Never>? in
                deliveries.queued -= batch.count
                guard deliveries.queued <= maximumQueuedDeliveries else { return nil }
                defer { deliveries.room = nil }
                return deliveries.room
            }
            room?.resume()
        }
    }

    /// The appended events for the bus: the next batch, with the batches queued after it while they fit in
    /// ``maximumHandOver``; `nil` once the append loop ended and everything was handed on.
    private func nextDelivery() async -> [StoredEvent]? {
        while true {
            let taken = deliveries.withLock { deliveries -> [StoredEvent]?? in
                if deliveries.next < deliveries.batches.count {
                    var batch = deliveries.batches[deliveries.next]
                    deliveries.next += 1
                    while deliveries.next < deliveries.batches.count,
                        batch.count + deliveries.batches[deliveries.next].count <= maximumHandOver
                    {
                        batch += deliveries.batches[deliveries.next]
                        deliveries.next += 1
                    }
                    if deliveries.next >= 64 {
                        deliveries.batches.removeFirst(deliveries.next)
                        deliveries.next = 0
                    }
                    return .some(batch)
                }
                return deliveries.finished ? .some(nil) : nil
            }
            if let taken { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = deliveries.withLock { deliveries -> Bool in
                    if deliveries.next < deliveries.batches.count || deliveries.finished { return true }
                    deliveries.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        }
    }

    private func nextBatch() async -> [Pending]? {
        while true {
            let taken = state.withLock { state -> [Pending]? in
                guard !state.pending.isEmpty else { return nil }
                var count = 0
                var split = 0
                while split < state.pending.count, count == 0 || count + state.pending[split].events.count <= maximumBatch {
                    count += state.pending[split].events.count
                    split += 1
                }
                let batch = Array(state.pending[..<split])
                state.pending.removeFirst(split)
                return batch
            }
            if let taken { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if !state.pending.isEmpty || state.stopped { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            if state.withLock({ $0.stopped && $0.pending.isEmpty }) { return nil }
        }
    }
}
