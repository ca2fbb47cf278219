import GatewayModel
import Synchronization

/// Long-polls waiting for their company's next event. Fan-out bumps the company's generation and wakes
/// every waiter; a poll reads the generation before it reads the log and only sleeps if it is unchanged,
/// so an event that lands between the read and the sleep is never missed.
final class PollWaiters: Sendable {
    private struct State {
        var generations: [CompanyID: UInt64] = [:]
        var waiters: [CompanyID: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The company's current generation.
    func generation(of company: CompanyID) -> UInt64 { state.withLock { $0.generations[company] ?? 0 } }

    /// Wakes every poll of `company`.
    func notify(_ company: CompanyID) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generations[company, default: 0] &+= 1
            guard let waiting = state.waiters.removeValue(forKey: company) else { return [] }
            return Array(waiting.values)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes every waiting poll of every company (shutdown): each answers with what it has.
    func notifyAll() {
        let companies = state.withLock { Array($0.waiters.keys) }
        for company in companies { notify(company) }
    }

    /// How many polls are waiting.
    var count: Int { state.withLock { $0.waiters.values.reduce(0) { $0 + $1.count } } }

    /// Sleeps until `company` has an event after `generation`, `deadline` passes, or the task is cancelled.
    func wait(for company: CompanyID, after generation: UInt64, until deadline: ContinuousClock.Instant) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            self.resume(company, id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    // An event arrived since the caller looked, or the deadline passed (the timer may have
                    // fired before this registration, and would then never resume it).
                    if (state.generations[company] ?? 0) != generation || ContinuousClock.now >= deadline { return true }
                    state.waiters[company, default: [:]][id] = continuation
                    return false
                }
                if ready || Task.isCancelled {
                    if !ready { resume(company, id) } else { continuation.resume() }
                }
            }
        } onCancel: {
            self.resume(company, id)
        }
        timer.cancel()
    }

    private func resume(_ company: CompanyID, _ id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let found = state.waiters[company]?.removeValue(forKey: id)
            if state.waiters[company]?.isEmpty == true { state.waiters[company] = nil }
            return found
        }
        continuation?.resume()
    }
}
