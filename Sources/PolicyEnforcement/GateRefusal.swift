public import GatewayModel
import PolicyEngine

/// Why the gate refused an action: a code from the one ``ErrorCode`` table, a message for the client
/// (never payload or PII), and the refusing limit's outcome for a rate-limit refusal. The transport maps
/// the code to an HTTP status or a wire `error`; the gate knows neither.
public struct GateRefusal: Error, Sendable, Equatable {
    /// The error code.
    public var code: ErrorCode
    /// A sentence for the client.
    public var message: String
    /// For `rate_limited`: the limit's numbers for `Retry-After` and the `RateLimit-*` headers.
    public var rateLimit: RateLimitOutcome?

    /// Creates a refusal.
    public init(_ code: ErrorCode, _ message: String, rateLimit: RateLimitOutcome? = nil) {
        self.code = code
        self.message = message
        self.rateLimit = rateLimit
    }

    /// A policy refusal: its reason code names it.
    init(_ decision: Decision) {
        self.init(decision.reason.errorCode, decision.message)
    }

    /// A rate-limit refusal.
    static func rateLimited(_ outcome: RateLimitOutcome) -> GateRefusal {
        GateRefusal(.rateLimited, "rate limit exceeded", rateLimit: outcome)
    }

    /// The rate-limit store cannot answer: limits fail closed.
    static let limitsUnavailable = GateRefusal(.unavailable, "the rate-limit store is unreachable; retry with the same idempotency_key")

    /// The log or bus cannot answer.
    static func unavailable(_ what: String) -> GateRefusal { GateRefusal(.unavailable, what) }

    /// A publish of an erased subject (SPEC §7).
    static let subjectForgotten = GateRefusal(.subjectForgotten, "the event's data subject was erased (GDPR); its events are refused")
}
