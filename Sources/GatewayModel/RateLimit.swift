/// Who a rate limit counts (SPEC §6.4).
public enum LimitScope: String, Hashable, Sendable, CaseIterable {
    case ip, user, company
}

/// Which action a rate limit counts (SPEC §6.4).
public enum LimitAction: String, Hashable, Sendable, CaseIterable {
    case connect, subscribe, publish, poll, deliver
}

/// The period a limit's count refers to.
public enum LimitPeriod: String, Hashable, Sendable, CaseIterable {
    case second, minute, hour

    /// The period in nanoseconds.
    public var nanoseconds: Int64 {
        switch self {
        case .second: 1_000_000_000
        case .minute: 60_000_000_000
        case .hour: 3_600_000_000_000
        }
    }
}

/// What an action does when the rate-limit store cannot answer (a shared store that is unreachable):
/// `on_store_error` of a `rate_limits` entry.
public enum StoreErrorPolicy: String, Hashable, Sendable, CaseIterable {
    /// Proceed without counting (availability over the limit).
    case allow
    /// Refuse the action as unavailable (the default: limits fail closed).
    case deny
}

/// One compiled `rate_limits` entry of a plan.
public struct RateLimit: Hashable, Sendable {
    /// Who is counted.
    public var scope: LimitScope
    /// What is counted.
    public var action: LimitAction
    /// The exact limiter.
    public var gcra: GCRA
    /// Count and log would-be refusals without refusing.
    public var shadow: Bool
    /// Where the rule is written, for traces and logs.
    public var location: SourceLocation?
    /// The plan that declares the rule (after `extends` resolution).
    public var plan: String
    /// What the action does when the store cannot answer; an action proceeds then only when every one of its
    /// enforced (non-shadow) limits says `allow`.
    public var onStoreError: StoreErrorPolicy = .deny

    /// Creates a limit.
    public init(scope: LimitScope, action: LimitAction, gcra: GCRA, shadow: Bool = false, location: SourceLocation? = nil, plan: String = "") {
        self.scope = scope
        self.action = action
        self.gcra = gcra
        self.shadow = shadow
        self.location = location
        self.plan = plan
    }
}

/// The counter a limit check acquires from: one GCRA state per key.
public struct LimitKey: Hashable, Sendable, CustomStringConvertible {
    /// The limit's scope.
    public var scope: LimitScope
    /// The limited action.
    public var action: LimitAction
    /// The tenant the counter belongs to.
    public var company: String
    /// The user id or IP address for `user` and `ip` scopes; empty for `company`.
    public var subject: String

    /// Creates a key.
    public init(scope: LimitScope, action: LimitAction, company: String, subject: String) {
        self.scope = scope
        self.action = action
        self.company = company
        self.subject = subject
    }

    /// A stable textual form, also used as the shared-store key.
    public var description: String { "\(action.rawValue):\(scope.rawValue):\(company):\(subject)" }
}

/// One limit to acquire before an action proceeds.
public struct LimitCheck: Hashable, Sendable {
    /// The rule.
    public var limit: RateLimit
    /// The counter.
    public var key: LimitKey

    /// Creates a check.
    public init(limit: RateLimit, key: LimitKey) {
        self.limit = limit
        self.key = key
    }
}

/// The answer of a rate-limit store for one check.
public struct RateLimitOutcome: Hashable, Sendable {
    /// Whether the action may proceed (always true for shadow limits).
    public var allowed: Bool
    /// Whether the limit refused, or would have refused if it is a shadow limit.
    public var exceeded: Bool
    /// The limit's configured count (for `RateLimit-Limit`).
    public var limit: Int
    /// Requests left before the limit refuses (for `RateLimit-Remaining`).
    public var remaining: Int
    /// When a refused request may be retried, in nanoseconds from now; 0 when allowed.
    public var retryAfterNanos: Int64
    /// When the counter is back to full, in nanoseconds from now (for `RateLimit-Reset`).
    public var resetAfterNanos: Int64

    /// Creates an outcome.
    public init(allowed: Bool, exceeded: Bool, limit: Int, remaining: Int, retryAfterNanos: Int64, resetAfterNanos: Int64) {
        self.allowed = allowed
        self.exceeded = exceeded
        self.limit = limit
        self.remaining = remaining
        self.retryAfterNanos = retryAfterNanos
        self.resetAfterNanos = resetAfterNanos
    }

    /// `retryAfterNanos` in seconds.
    public var retryAfterSeconds: Double { Double(retryAfterNanos) / 1e9 }
}
