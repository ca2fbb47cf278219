public import GatewayModel

/// Why a decision came out as it did: stable codes for tests, logs and metrics.
///
/// Each maps to one wire code (SPEC §3) and one HTTP status (SPEC §2) in ``wireCode`` and ``errorCode``.
public enum ReasonCode: String, Hashable, Sendable, CaseIterable {
    /// Every check passed.
    case allowed
    /// The topic or event type is not well formed.
    case topicMalformed = "topic_malformed"
    /// No whitelisted pattern covers the topic.
    case topicNotWhitelisted = "topic_not_whitelisted"
    /// A pattern covers the topic but none grants the principal's roles.
    case roleNotAllowed = "role_not_allowed"
    /// No company: the event has no `data.company_id`, or a token without company is not a service token.
    case companyMissing = "company_missing"
    /// The principal's company is not the event's company.
    case companyMismatch = "company_mismatch"
    /// The company is disabled by the policy.
    case companyDisabled = "company_disabled"
    /// The publish names a region outside the company's `allowed_regions`.
    case regionNotAllowed = "region_not_allowed"
    /// This node's region is not allowed to hold the company's data.
    case regionNotServed = "region_not_served"
    /// A rate limit refused.
    case rateLimited = "rate_limited"
    /// Publisher-given GDPR fields are out of bounds (retention, legal basis, lengths).
    case gdprInvalid = "gdpr_invalid"
    /// The event's data subject was erased (SPEC §7): decided by the gate from its erasure list, not by the policy.
    case subjectForgotten = "subject_forgotten"

    /// The wire `error.code` (SPEC §3).
    public var wireCode: String {
        switch self {
        case .allowed: "ok"
        case .topicMalformed, .topicNotWhitelisted: "invalid_topic"
        case .roleNotAllowed, .companyMissing, .companyMismatch, .companyDisabled, .regionNotAllowed, .regionNotServed, .subjectForgotten:
            "forbidden"
        case .rateLimited: "rate_limited"
        case .gdprInvalid: "invalid_message"
        }
    }

    /// The error code a refusal answers with over HTTP: the reason's own name (`allowed` never refuses).
    public var errorCode: ErrorCode { ErrorCode(rawValue: rawValue) ?? .forbidden }

    /// The HTTP status for a refused publish or poll (SPEC §2), from the ``ErrorCode`` table.
    public var httpStatus: Int { errorCode.httpStatusCode }
}

/// Allow or deny.
public enum Verdict: String, Hashable, Sendable {
    case allow, deny
}
