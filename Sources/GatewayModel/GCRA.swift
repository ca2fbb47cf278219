/// The generic cell rate algorithm: an exact rate limiter with one value of state per key.
///
/// `limit` requests are allowed per `period`, with up to `burst` at once. All arithmetic is in
/// integers scaled by `limit`, so a rate such as 3 per second (one every 333 333 333⅓ ns) is
/// exact however long it runs. The type is a pure value: the caller passes the state and the time.
///
/// ```swift
/// let gcra = GCRA(limit: 5, periodNanos: 1_000_000_000, burst: 5)
/// var state: GCRA.State? = nil
/// let (outcome, next) = gcra.acquire(state, now: 0)
/// state = next
/// ```
public struct GCRA: Hashable, Sendable {
    /// The largest `limit` and `burst` accepted, so that scaled values stay within `Int64`.
    public static let maximumCount = 1_000_000

    /// Requests per period.
    public let limit: Int64
    /// The period in nanoseconds.
    public let periodNanos: Int64
    /// Requests allowed at once.
    public let burst: Int64

    /// The theoretical arrival time: `nanos + fraction / limit` nanoseconds.
    public struct State: Hashable, Sendable {
        /// Whole nanoseconds of the theoretical arrival time.
        public var nanos: Int64
        /// The fractional part, in units of `1 / limit` nanoseconds (`0..<limit`).
        public var fraction: Int64

        /// Creates a state.
        public init(nanos: Int64, fraction: Int64) {
            self.nanos = nanos
            self.fraction = fraction
        }
    }

    /// Creates a limiter; counts are clamped to `1...maximumCount`.
    /// - Parameters:
    ///   - limit: requests per period.
    ///   - periodNanos: the period.
    ///   - burst: requests allowed at once; defaults to `limit`.
    public init(limit: Int, periodNanos: Int64, burst: Int? = nil) {
        self.limit = Int64(min(max(limit, 1), Self.maximumCount))
        self.periodNanos = max(periodNanos, 1)
        self.burst = Int64(min(max(burst ?? limit, 1), Self.maximumCount))
    }

    /// How far the theoretical arrival time is ahead of `now`, scaled by `limit`.
    private func backlog(_ state: State?, now: Int64) -> Int64 {
        guard let state, state.nanos >= now else { return 0 }
        // A state written by this limiter is at most `burst * periodNanos` ahead; clamp anything else
        // (a foreign or corrupted state) instead of overflowing.
        let (scaled, overflow) = (state.nanos - now).multipliedReportingOverflow(by: limit)
        if overflow { return burst * periodNanos }
        return min(scaled + state.fraction, burst * periodNanos)
    }

    /// Tries to take `cost` requests at time `now` (nanoseconds on any fixed origin).
    /// - Returns: the outcome and the state to store; a refusal leaves the state as it was.
    public func acquire(_ state: State?, now: Int64, cost: Int64 = 1) -> (RateLimitOutcome, State?) {
        let capacity = burst * periodNanos
        let current = backlog(state, now: now)
        let needed = current + cost * periodNanos
        guard needed <= capacity else {
            let retry = cost > burst ? Int64.max : ceilDiv(needed - capacity, limit)
            let outcome = RateLimitOutcome(
                allowed: false,
                exceeded: true,
                limit: Int(limit),
                remaining: Int((capacity - current) / periodNanos),
                retryAfterNanos: retry,
                resetAfterNanos: ceilDiv(current, limit)
            )
            return (outcome, state)
        }
        let next = State(nanos: now + needed / limit, fraction: needed % limit)
        let outcome = RateLimitOutcome(
            allowed: true,
            exceeded: false,
            limit: Int(limit),
            remaining: Int((capacity - needed) / periodNanos),
            retryAfterNanos: 0,
            resetAfterNanos: ceilDiv(needed, limit)
        )
        return (outcome, next)
    }

    /// Whether a stored state no longer matters at `now` (it equals an absent one).
    public func isExpired(_ state: State, now: Int64) -> Bool { backlog(state, now: now) == 0 }

    private func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { a <= 0 ? 0 : (a + b - 1) / b }
}

/// The GCRA states of many keys, as one in-memory table. Not thread-safe: owners lock it.
public struct GCRATable: Sendable {
    /// States per counter and limiter: when a reload changes a limit, its counter starts afresh
    /// instead of reading a state written under other parameters.
    private struct Slot: Hashable {
        var key: LimitKey
        var gcra: GCRA
    }

    private var states: [Slot: GCRA.State] = [:]
    private var acquiresSinceSweep = 0
    /// Sweep expired states after this many acquisitions.
    public var sweepInterval = 4096

    /// Creates an empty table.
    public init() {}

    /// The number of keys held.
    public var count: Int { states.count }

    /// Acquires every check or none: states are stored only when no non-shadow check refuses,
    /// so a request refused by one limit does not use up another. Shadow refusals never consume.
    /// - Returns: one outcome per check, in order; the request may proceed when all are `allowed`.
    public mutating func acquireAll(_ checks: [LimitCheck], now: Int64) -> [RateLimitOutcome] {
        var outcomes: [RateLimitOutcome] = []
        outcomes.reserveCapacity(checks.count)
        var pending: [(Slot, GCRA.State)] = []
        for check in checks {
            let slot = Slot(key: check.key, gcra: check.limit.gcra)
            var (outcome, next) = check.limit.gcra.acquire(states[slot], now: now)
            if outcome.allowed, let next { pending.append((slot, next)) }
            if !outcome.allowed && check.limit.shadow { outcome.allowed = true }
            outcomes.append(outcome)
        }
        if outcomes.allSatisfy(\.allowed) {
            for (key, state) in pending { states[key] = state }
        }
        acquiresSinceSweep += checks.count
        if acquiresSinceSweep >= sweepInterval { sweep(now: now) }
        return outcomes
    }

    /// Drops every state that has drained completely; such keys behave as if never seen.
    public mutating func sweep(now: Int64) {
        acquiresSinceSweep = 0
        states = states.filter { !$0.key.gcra.isExpired($0.value, now: now) }
    }
}
