import EventBus
import GatewayModel
import Synchronization
import Testing

/// A clock that moves only when told to.
final class ManualClock: Clock, @unchecked Sendable {
    // Safe: `current` is only read and written under `lock`.
    private let lock = Mutex(ContinuousClock.Instant.now)
    var now: ContinuousClock.Instant { lock.withLock { $0 } }
    var minimumResolution: Duration { .nanoseconds(1) }
    func advance(by duration: Duration) { lock.withLock { $0 = $0.advanced(by: duration) } }
    func sleep(until deadline: ContinuousClock.Instant, tolerance: Duration?) async throws {}
}

@Suite("Memory rate-limit store")
struct MemoryRateLimitStoreTests {
    @Test("limits follow the injected clock exactly")
    func manualClock() async throws {
        let clock = ManualClock()
        let store = MemoryRateLimitStore(clock: clock)
        let limit = RateLimit(scope: .user, action: .publish, gcra: GCRA(limit: 5, periodNanos: 1_000_000_000))
        let check = LimitCheck(limit: limit, key: LimitKey(scope: .user, action: .publish, company: "1", subject: "u"))
        var allowed = 0
        for _ in 0..<7 where store.acquire([check])[0].allowed { allowed += 1 }
        #expect(allowed == 5)
        let refused = store.acquire([check])[0]
        #expect(!refused.allowed && refused.retryAfterNanos == 200_000_000)
        clock.advance(by: .milliseconds(199))
        #expect(!store.acquire([check])[0].allowed)
        clock.advance(by: .milliseconds(1))
        #expect(store.acquire([check])[0].allowed)
        #expect(store.keyCount == 1)
    }

    @Test("concurrent acquisitions never exceed the limit")
    func concurrent() async throws {
        let store = MemoryRateLimitStore(clock: ManualClock())
        let limit = RateLimit(scope: .company, action: .publish, gcra: GCRA(limit: 100, periodNanos: 1_000_000_000))
        let check = LimitCheck(limit: limit, key: LimitKey(scope: .company, action: .publish, company: "1", subject: ""))
        let allowed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<50).reduce(0) { count, _ in count + (store.acquire([check])[0].allowed ? 1 : 0) } }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 100)
    }
}
