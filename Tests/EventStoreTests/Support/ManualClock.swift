import Synchronization

/// A clock that moves only when told to.
final class ManualClock: Clock, Sendable {
    private let current = Mutex(ContinuousClock.Instant.now)
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    var minimumResolution: Duration { .nanoseconds(1) }
    func advance(by duration: Duration) { current.withLock { $0 = $0.advanced(by: duration) } }
    func sleep(until deadline: ContinuousClock.Instant, tolerance: Duration?) async throws {}
}

/// Milliseconds since 1970 that move only when told to, for a log's `now`.
final class ManualMillis: Sendable {
    private let current: Atomic<Int64>
    init(_ start: Int64) { current = Atomic(start) }
    var now: Int64 { current.load(ordering: .acquiring) }
    func advance(byMillis millis: Int64) { current.add(millis, ordering: .acquiringAndReleasing) }
}

/// Microseconds that move only when told to, for a rate-limit store's manual time.
final class ManualMicros: Sendable {
    private let current: Atomic<Int64>
    init(_ start: Int64) { current = Atomic(start) }
    var now: Int64 { current.load(ordering: .acquiring) }
    func advance(by micros: Int64) { current.add(micros, ordering: .acquiringAndReleasing) }
}
