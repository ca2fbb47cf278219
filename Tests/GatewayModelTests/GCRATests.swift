import GatewayModel
import Testing

@Suite("GCRA")
struct GCRATests {
    let second: Int64 = 1_000_000_000

    @Test("a burst of `burst` passes at once, the next waits one emission interval")
    func burstThenRetry() {
        let gcra = GCRA(limit: 5, periodNanos: second, burst: 5)
        var state: GCRA.State?
        var outcomes: [RateLimitOutcome] = []
        for _ in 0..<7 {
            let (outcome, next) = gcra.acquire(state, now: 0)
            state = next
            outcomes.append(outcome)
        }
        #expect(outcomes.map(\.allowed) == [true, true, true, true, true, false, false])
        #expect(outcomes.map(\.remaining) == [4, 3, 2, 1, 0, 0, 0])
        #expect(outcomes[5].retryAfterNanos == 200_000_000)
        #expect(outcomes[4].resetAfterNanos == second)
        // 200 ms later exactly one more passes.
        let (later, _) = gcra.acquire(state, now: 200_000_000)
        #expect(later.allowed)
    }

    @Test("a rate of 3 per second is exact: 3000 requests take exactly 1000 s to drain")
    func exactThirds() {
        // One request every 333 333 333⅓ ns. Rounding the interval to whole nanoseconds would drain
        // 3000 requests in 999.999999 s; the scaled arithmetic gives exactly 1000 s.
        let gcra = GCRA(limit: 3, periodNanos: second, burst: 3000)
        var state: GCRA.State?
        var last = RateLimitOutcome(allowed: false, exceeded: false, limit: 0, remaining: 0, retryAfterNanos: 0, resetAfterNanos: 0)
        for _ in 0..<3000 {
            let (outcome, next) = gcra.acquire(state, now: 0)
            #expect(outcome.allowed)
            state = next
            last = outcome
        }
        #expect(last.resetAfterNanos == 1000 * second)
        #expect(state == GCRA.State(nanos: 1000 * second, fraction: 0))
        let (refused, _) = gcra.acquire(state, now: 0)
        #expect(!refused.allowed)
        #expect(refused.retryAfterNanos == 333_333_334)
        // Hammered every millisecond for 1000 s after the burst, exactly 3000 more pass.
        var allowed = 0
        var now: Int64 = 1_000_000
        while now <= 1000 * second {
            let (outcome, next) = gcra.acquire(state, now: now)
            if outcome.allowed { allowed += 1 }
            state = next
            now += 1_000_000
        }
        #expect(allowed == 3000)
    }

    @Test("a refusal leaves the state unchanged")
    func refusalDoesNotConsume() {
        let gcra = GCRA(limit: 1, periodNanos: second, burst: 1)
        let (_, state) = gcra.acquire(nil, now: 0)
        let (refused, after) = gcra.acquire(state, now: 10)
        #expect(!refused.allowed)
        #expect(after == state)
        #expect(refused.retryAfterNanos == second - 10)
    }

    @Test("a key idle for long is as good as new, without overflow")
    func longIdle() {
        let gcra = GCRA(limit: 1_000_000, periodNanos: 3_600 * second, burst: 1_000_000)
        let (_, state) = gcra.acquire(nil, now: 0)
        let (outcome, _) = gcra.acquire(state, now: Int64.max / 2)
        #expect(outcome.allowed)
        #expect(outcome.remaining == 999_999)
        #expect(gcra.isExpired(state!, now: Int64.max / 2))
    }

    @Test("acquireAll counts all limits or none; shadow limits never refuse")
    func acquireAllIsAtomic() {
        let strict = RateLimit(scope: .user, action: .publish, gcra: GCRA(limit: 1, periodNanos: second))
        let loose = RateLimit(scope: .company, action: .publish, gcra: GCRA(limit: 10, periodNanos: second))
        let shadow = RateLimit(scope: .ip, action: .publish, gcra: GCRA(limit: 1, periodNanos: second), shadow: true)
        let checks = [
            LimitCheck(limit: loose, key: LimitKey(scope: .company, action: .publish, company: "1", subject: "")),
            LimitCheck(limit: strict, key: LimitKey(scope: .user, action: .publish, company: "1", subject: "u")),
            LimitCheck(limit: shadow, key: LimitKey(scope: .ip, action: .publish, company: "1", subject: "10.0.0.1")),
        ]
        var table = GCRATable()
        let first = table.acquireAll(checks, now: 0)
        #expect(first.allSatisfy { $0.allowed })
        let second = table.acquireAll(checks, now: 0)
        #expect(second.map(\.allowed) == [true, false, true])
        #expect(second[2].exceeded, "the shadow limit reports that it would have refused")
        // The refused request used none of the company's 10: nine remain.
        let companyOnly = table.acquireAll([checks[0]], now: 0)
        #expect(companyOnly[0].remaining == 8)
    }

    @Test("sweeping drops only drained keys")
    func sweep() {
        let limit = RateLimit(scope: .user, action: .poll, gcra: GCRA(limit: 1, periodNanos: second))
        var table = GCRATable()
        _ = table.acquireAll([LimitCheck(limit: limit, key: LimitKey(scope: .user, action: .poll, company: "1", subject: "a"))], now: 0)
        _ = table.acquireAll([LimitCheck(limit: limit, key: LimitKey(scope: .user, action: .poll, company: "1", subject: "b"))], now: second / 2)
        table.sweep(now: second)
        #expect(table.count == 1)
        table.sweep(now: 2 * second)
        #expect(table.count == 0)
    }
}
