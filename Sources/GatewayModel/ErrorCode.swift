/// Every error code the gateway answers with: the wire `error.code` (SPEC §3) and the HTTP body's
/// `error.code` (SPEC §2). One table; the transport maps each to its HTTP status in one place
/// (`HTTPStatusTable`), and policy refusals keep their reason code's name.
public enum ErrorCode: String, Sendable, CaseIterable {
    // The WebSocket codes of SPEC §3.
    /// A subscription pattern that is not whitelisted or is malformed.
    case invalidTopic = "invalid_topic"
    /// Whitelisted, but the principal may not.
    case forbidden
    /// A rate limit refused (with `retry_after`).
    case rateLimited = "rate_limited"
    /// Not JSON, no `type`, wrong field types, or a body the endpoint does not take.
    case invalidMessage = "invalid_message"
    /// A client message of a type the gateway does not know.
    case unknownType = "unknown_type"
    /// The cursor is older than the retained history, or from a log this one is not.
    case cursorExpired = "cursor_expired"
    /// Something failed inside the gateway.
    case `internal`

    // Policy refusals over HTTP carry the reason code (PolicyEngine `ReasonCode`).
    /// The event type is not well formed.
    case topicMalformed = "topic_malformed"
    /// No whitelisted pattern covers the event type.
    case topicNotWhitelisted = "topic_not_whitelisted"
    /// A pattern covers it, but the roles may not.
    case roleNotAllowed = "role_not_allowed"
    /// No company: the event names none, or the token is bound to none.
    case companyMissing = "company_missing"
    /// The token's company is not the event's or the request's.
    case companyMismatch = "company_mismatch"
    /// The company is disabled by the policy.
    case companyDisabled = "company_disabled"
    /// The publish names a region outside the company's `allowed_regions`.
    case regionNotAllowed = "region_not_allowed"
    /// This node may not hold the company's data.
    case regionNotServed = "region_not_served"
    /// Publisher-given GDPR fields are out of bounds.
    case gdprInvalid = "gdpr_invalid"
    /// The event's data subject was erased (SPEC §7).
    case subjectForgotten = "subject_forgotten"

    // HTTP only.
    /// A poll cursor that is not a cursor of this gateway.
    case invalidCursor = "invalid_cursor"
    /// No token, or a token that does not verify.
    case unauthorized
    /// The body is over the size limit.
    case payloadTooLarge = "payload_too_large"
    /// A storage or bus part cannot answer now, or the node is shutting down: retry.
    case unavailable
    /// `GET /ws` without an upgrade.
    case upgradeRequired = "upgrade_required"
    /// A policy reload that failed validation.
    case policyInvalid = "policy_invalid"
    /// No such endpoint.
    case notFound = "not_found"
    /// Bytes that are not an HTTP/1.1 request, conflicting or invalid lengths, or a malformed WebSocket handshake.
    case malformedRequest = "malformed_request"
    /// The request's headers or body did not arrive in time (`HTTP_HEADER_TIMEOUT`, `HTTP_BODY_TIMEOUT`).
    case requestTimeout = "request_timeout"
    /// The request's headers are over `HTTP_MAX_HEADER_BYTES` or `HTTP_MAX_HEADER_COUNT`.
    case headersTooLarge = "headers_too_large"

    /// The HTTP status of each code (SPEC §2): the one place statuses are chosen.
    ///
    /// | status | codes |
    /// |---|---|
    /// | 400 | `invalid_message`, `unknown_type`, `invalid_topic`, `topic_malformed`, `company_missing`, `gdpr_invalid`, `invalid_cursor`, `policy_invalid`, `malformed_request` |
    /// | 401 | `unauthorized` |
    /// | 403 | `forbidden`, `topic_not_whitelisted`, `role_not_allowed`, `company_mismatch`, `company_disabled`, `region_not_allowed`, `region_not_served`, `subject_forgotten` |
    /// | 404 | `not_found` |
    /// | 408 | `request_timeout` |
    /// | 410 | `cursor_expired` |
    /// | 413 | `payload_too_large` |
    /// | 426 | `upgrade_required` |
    /// | 431 | `headers_too_large` |
    /// | 429 | `rate_limited` |
    /// | 500 | `internal` |
    /// | 503 | `unavailable` |
    public var httpStatusCode: Int {
        switch self {
        case .invalidMessage, .unknownType, .invalidTopic, .topicMalformed, .companyMissing, .gdprInvalid, .invalidCursor, .policyInvalid,
            .malformedRequest:
            400
        case .unauthorized: 401
        case .forbidden, .topicNotWhitelisted, .roleNotAllowed, .companyMismatch, .companyDisabled, .regionNotAllowed, .regionNotServed,
            .subjectForgotten:
            403
        case .notFound: 404
        case .requestTimeout: 408
        case .cursorExpired: 410
        case .payloadTooLarge: 413
        case .upgradeRequired: 426
        case .headersTooLarge: 431
        case .rateLimited: 429
        case .internal: 500
        case .unavailable: 503
        }
    }
}
