import EventBus
import GatewayModel
import Testing

/// Every guarantee of the `RateLimitStore` protocol, run against each backend in ``Backends/limits``.
@Suite("RateLimitStore conformance")
struct RateLimitStoreConformanceTests {
    static func check(_ subject: String, limit: Int, perSecond: Bool = true, shadow: Bool = false, action: LimitAction = .publish) -> LimitCheck {
        let gcra = GCRA(limit: limit, periodNanos: perSecond ? 1_000_000_000 : 3_600_000_000_000)
        let rule = RateLimit(scope: .user, action: action, gcra: gcra, shadow: shadow)
        return LimitCheck(limit: rule, key: LimitKey(scope: .user, action: action, company: "1", subject: subject))
    }

    @Test("limits follow the store's clock exactly", arguments: Backends.limits)
    func clock(_ factory: LimitsFactory) async throws {
        let fixture = try await factory.make()
        let store = fixture.store
        let check = Self.check("u", limit: 5)
        var allowed = 0
        for _ in 0..<7 {
            if try await store.acquire([check])[0].allowed { allowed += 1 }
        }
        #expect(allowed == 5)
        let refused = try await store.acquire([check])[0]
        #expect(!refused.allowed && refused.exceeded && refused.retryAfterNanos == 200_000_000)
        try await fixture.advance(.milliseconds(199))
        #expect(try await !store.acquire([check])[0].allowed)
        try await fixture.advance(.milliseconds(1))
        #expect(try await store.acquire([check])[0].allowed)
    }

    @Test("all or none: a batch with one check over its limit counts nothing; outcomes follow the checks' order", arguments: Backends.limits)
    func allOrNone(_ factory: LimitsFactory) async throws {
        let store = try await factory.make().store
        let full = Self.check("full", limit: 1, perSecond: false)
        let other = Self.check("other", limit: 2, perSecond: false)
        #expect(try await store.acquire([full])[0].allowed)
        for _ in 0..<5 {
            let outcomes = try await store.acquire([other, full])
            #expect(outcomes.map(\.allowed) == [true, false] && outcomes.map(\.limit) == [2, 1])
        }
        // `other` was never counted: both of its requests are still there.
        #expect(try await store.acquire([other]).allSatisfy(\.allowed))
        #expect(try await store.acquire([other]).allSatisfy(\.allowed))
        #expect(try await !store.acquire([other])[0].allowed)
    }

    @Test("shadow limits report a would-be refusal without refusing, and never block the other checks", arguments: Backends.limits)
    func shadow(_ factory: LimitsFactory) async throws {
        let store = try await factory.make().store
        let shadow = Self.check("s", limit: 1, perSecond: false, shadow: true)
        let real = Self.check("r", limit: 3, perSecond: false)
        #expect(try await store.acquire([shadow, real]).map(\.exceeded) == [false, false])
        let second = try await store.acquire([shadow, real])
        #expect(second.map(\.allowed) == [true, true] && second.map(\.exceeded) == [true, false])
        #expect(try await store.acquire([real])[0].allowed, "the real limit counted both batches: this is its third request")
        #expect(try await !store.acquire([real])[0].allowed)
    }

    @Test("acquireWithoutWaiting shares the counters of acquire, or is nil (ask acquire)", arguments: Backends.limits)
    func withoutWaiting(_ factory: LimitsFactory) async throws {
        let store = try await factory.make().store
        let check = Self.check("d", limit: 2, perSecond: false, action: .deliver)
        guard let first = store.acquireWithoutWaiting([check]) else {
            // A store that cannot answer here: the caller must await acquire, which must then count.
            #expect(try await store.acquire([check])[0].allowed)
            return
        }
        #expect(first[0].allowed)
        #expect(try await store.acquire([check])[0].allowed)
        #expect(store.acquireWithoutWaiting([check])?[0].allowed == false)
    }

    @Test("concurrent acquisitions never exceed the limit", arguments: Backends.limits)
    func concurrent(_ factory: LimitsFactory) async throws {
        let store = try await factory.make().store
        let check = Self.check("c", limit: 100, perSecond: false)
        let allowed = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var count = 0
                    for _ in 0..<50 {
                        if try await store.acquire([check])[0].allowed { count += 1 }
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(allowed == 100)
    }

    @Test("health answers healthy while the store serves", arguments: Backends.limits)
    func health(_ factory: LimitsFactory) async throws {
        let store = try await factory.make().store
        #expect(await store.health() == .healthy)
    }
}
