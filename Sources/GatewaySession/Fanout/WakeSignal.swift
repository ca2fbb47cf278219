import Synchronization

/// Waiters for something to change (a channel writable again, budget given back): each wait is a short
/// sleep that ``signal()`` cuts short, so a waiter re-checks its condition at once after a change and at
/// the latest after its bound. Stored inline in its owner (an idle connection's bytes count).
public struct WakeSignal: ~Copyable, Sendable {
    private let sleepers = Mutex<[Task<Void, Never>]>([])

    /// A signal with no waiters.
    public init() {}

    /// Returns when signalled, or after `limit`.
    public func wait(atMost limit: Duration) async {
        let sleeper = Task<Void, Never> { try? await Task.sleep(for: limit) }
        sleepers.withLock { $0.append(sleeper) }
        await sleeper.value
        sleepers.withLock { $0.removeAll { $0 == sleeper } }
    }

    /// Wakes every waiter.
    public func signal() {
        for sleeper in sleepers.withLock({ $0 }) { sleeper.cancel() }
    }
}
