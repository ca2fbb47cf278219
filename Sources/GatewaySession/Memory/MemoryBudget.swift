import CAllocator
import Metrics
import Synchronization

/// The process-wide budget of bytes that replays and long-poll answers may hold (`MEMORY_BUDGET_BYTES`).
///
/// History is the one thing a client can make the gateway read in bulk, so it is the one thing a hostile
/// client could make it hold: a replay's frames wait in its socket's buffer, a poll's answer waits for a
/// reader. Each running replay reserves what its connection may hold (its outbox limit) before it reads,
/// and each poll reserves its answer's bytes as it collects them; a reservation is given back when the
/// frames have gone to the socket or the connection is gone. Beyond the budget, new replays and polls wait
/// a little and are then refused (close 1013 / 503) instead of growing the process.
///
/// When reservations fall back to nothing after a busy spell, the allocator is asked to return its free
/// pages to the system (glibc's `malloc_trim`), so the process's resident memory falls back too.
public final class MemoryBudget: Sendable {
    private struct State {
        var used = 0
        /// The most `used` reached since the last trim.
        var peak = 0
        var trimScheduled = false
    }

    /// The budget in bytes.
    public let limitBytes: Int
    private let state = Mutex(State())
    private let released = WakeSignal()
    private let usedGauge = Gauge(label: "memory_budget_used_bytes")
    private let refusals = Counter(label: "memory_budget_refused_total")
    /// A peak below this is not worth a trim.
    private let trimThreshold: Int

    /// A budget of `limitBytes`.
    public init(limitBytes: Int) {
        self.limitBytes = max(1, limitBytes)
        self.trimThreshold = min(self.limitBytes / 4, 8 << 20)
    }

    /// The bytes reserved now.
    public var usedBytes: Int { state.withLock { $0.used } }

    /// Reserves `bytes` (at most the whole budget) at once, or returns `nil` when they do not fit.
    public func reserveWithoutWaiting(_ bytes: Int) -> MemoryReservation? {
        let bytes = min(max(0, bytes), limitBytes)
        guard add(bytes) else { return nil }
        return MemoryReservation(budget: self, bytes: bytes)
    }

    /// Reserves `bytes`, waiting up to `patience` for other reservations to be given back; `nil` (counted
    /// in `memory_budget_refused_total`) when they did not fit in time.
    public func reserve(_ bytes: Int, waitingAtMost patience: Duration) async -> MemoryReservation? {
        let deadline = ContinuousClock.now + patience
        while true {
            if let reservation = reserveWithoutWaiting(bytes) { return reservation }
            let now = ContinuousClock.now
            guard now < deadline, !Task.isCancelled else {
                refusals.increment()
                return nil
            }
            // Woken by a release; the bound covers a release between the attempt and the wait.
            await released.wait(atMost: min(deadline - now, .milliseconds(100)))
        }
    }

    /// Adds `bytes` to an existing reservation if they fit.
    func grow(_ reservation: MemoryReservation, by bytes: Int) -> Bool {
        guard add(bytes) else { return false }
        reservation.added(bytes)
        return true
    }

    private func add(_ bytes: Int) -> Bool {
        let used = state.withLock { state -> Int? in
            guard state.used + bytes <= limitBytes else { return nil }
            state.used += bytes
            state.peak = max(state.peak, state.used)
            return state.used
        }
        guard let used else { return false }
        usedGauge.record(used)
        return true
    }

    func give(back bytes: Int) {
        guard bytes > 0 else { return }
        let (used, trim) = state.withLock { state -> (Int, Bool) in
            state.used -= bytes
            let trim = state.used == 0 && state.peak >= trimThreshold && !state.trimScheduled
            if trim { state.trimScheduled = true }
            return (state.used, trim)
        }
        usedGauge.record(used)
        released.signal()
        if trim { scheduleTrim() }
    }

    /// Returns free heap pages to the system a moment after the budget emptied, and once more a few seconds
    /// later (the sockets that held the frames close and free their buffers a little after their replays
    /// end), unless the budget is in use again by then.
    private func scheduleTrim() {
        Task.detached { [self] in
            for pause in [Duration.seconds(1), .seconds(4)] {
                try? await Task.sleep(for: pause)
                guard state.withLock({ $0.used < trimThreshold }) else { break }
                _ = gateway_release_free_memory()
            }
            state.withLock { state in
                state.trimScheduled = false
                state.peak = state.used
            }
        }
    }
}

/// Bytes held against a ``MemoryBudget``: given back by ``release()`` (once; later calls do nothing) or,
/// as a safety net, when the reservation is deallocated.
public final class MemoryReservation: Sendable {
    private let budget: MemoryBudget
    private let bytes: Mutex<Int>

    init(budget: MemoryBudget, bytes: Int) {
        self.budget = budget
        self.bytes = Mutex(bytes)
    }

    /// The bytes held.
    public var heldBytes: Int { bytes.withLock { $0 } }

    fileprivate func added(_ more: Int) { bytes.withLock { $0 += more } }

    /// Gives the bytes back to the budget.
    public func release() {
        let held = bytes.withLock { bytes -> Int in
            defer { bytes = 0 }
            return bytes
        }
        budget.give(back: held)
    }

    deinit { release() }
}
