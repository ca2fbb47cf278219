public import GatewayModel
import ServiceLifecycle
import Synchronization

/// An exact in-process ``RateLimitStore``: one GCRA state per key behind a mutex.
///
/// Generic over the clock so tests drive time by hand:
/// ```swift
/// let store = MemoryRateLimitStore(clock: ContinuousClock())
/// let outcomes = try await store.acquire(decision.limits.checks)
/// ```
public final class MemoryRateLimitStore<C: Clock>: RateLimitStore where C.Duration == Duration {
    private let clock: C
    private let origin: C.Instant
    private let table = Mutex(GCRATable())

    /// Creates a store whose time starts now on `clock`.
    /// - Parameter clock: the time source; a manual clock in tests.
    public init(clock: C) {
        self.clock = clock
        self.origin = clock.now
    }

    /// Acquires every check or none; never suspends.
    public func acquire(_ checks: [LimitCheck]) -> [RateLimitOutcome] {
        let elapsed = origin.duration(to: clock.now)
        let (seconds, attoseconds) = elapsed.components
        let now = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        return table.withLock { $0.acquireAll(checks, now: now) }
    }

    /// ``acquire(_:)``: an in-process store always answers at once.
    public func acquireWithoutWaiting(_ checks: [LimitCheck]) -> [RateLimitOutcome]? { acquire(checks) }

    /// Nothing to start or release: serves until graceful shutdown.
    public func run() async throws { try? await gracefulShutdown() }

    /// Always healthy: the counters are in this process and answer without I/O.
    public func health() async -> ComponentHealth { .healthy }

    /// The number of keys currently counted.
    public var keyCount: Int { table.withLock { $0.count } }
}
