public import GatewayModel
import Synchronization

/// The single writer between publishers and the log: publishes queue here, one loop appends everything
/// queued in one transaction (one fsync for the batch: group commit), then hands the stored events to
/// the bus in log order and answers each publisher. Because one loop does both, the bus (and so every
/// node's fan-out) sees events exactly in log order, which replay and cursors rely on.
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

    private let state = Mutex(State())
    private let log: any EventLog
    private let deliver: @Sendable ([StoredEvent]) async -> Void
    /// The most events appended in one transaction.
    public let maximumBatch: Int

    /// Creates a pipeline over `log`; `deliver` receives each appended batch, in log order, before the
    /// publishers of that batch are answered.
    /// - Parameters:
    ///   - log: where events are appended.
    ///   - maximumBatch: the most events appended in one transaction.
    ///   - deliver: hands appended events on (to the bus).
    public init(log: any EventLog, maximumBatch: Int = 1024, deliver: @escaping @Sendable ([StoredEvent]) async -> Void) {
        self.log = log
        self.maximumBatch = maximumBatch
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

    /// Runs until ``stop()``; then drains what was queued before returning.
    public func run() async {
        while true {
            let batch = await nextBatch()
            guard let batch else { return }
            let events = batch.flatMap(\.events)
            do {
                let outcomes = try await log.append(events)
                var appended: [StoredEvent] = []
                appended.reserveCapacity(outcomes.count)
                for case .appended(let event) in outcomes { appended.append(event) }
                if !appended.isEmpty { await deliver(appended) }
                var offset = 0
                for item in batch {
                    item.reply.resume(returning: Array(outcomes[offset..<offset + item.events.count]))
                    offset += item.events.count
                }
            } catch {
                for item in batch { item.reply.resume(throwing: error) }
            }
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
