import GatewayModel
import HTTPTypes

extension ErrorCode {
    /// The HTTP status of each error code (SPEC §2): the one place statuses are chosen.
    ///
    /// | status | codes |
    /// |---|---|
    /// | 400 | `invalid_message`, `unknown_type`, `invalid_topic`, `topic_malformed`, `company_missing`, `gdpr_invalid`, `invalid_cursor`, `policy_invalid` |
    /// | 401 | `unauthorized` |
    /// | 403 | `forbidden`, `topic_not_whitelisted`, `role_not_allowed`, `company_mismatch`, `company_disabled`, `region_not_allowed`, `region_not_served`, `subject_forgotten` |
    /// | 404 | `not_found` |
    /// | 410 | `cursor_expired` |
    /// | 413 | `payload_too_large` |
    /// | 426 | `upgrade_required` |
    /// | 429 | `rate_limited` |
    /// | 500 | `internal` |
    /// | 503 | `unavailable` |
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalidMessage, .unknownType, .invalidTopic, .topicMalformed, .companyMissing, .gdprInvalid, .invalidCursor, .policyInvalid:
            .badRequest
        case .unauthorized: .unauthorized
        case .forbidden, .topicNotWhitelisted, .roleNotAllowed, .companyMismatch, .companyDisabled, .regionNotAllowed, .regionNotServed,
            .subjectForgotten:
            .forbidden
        case .notFound: .notFound
        case .cursorExpired: .gone
        case .payloadTooLarge: .contentTooLarge
        case .upgradeRequired: .upgradeRequired
        case .rateLimited: .tooManyRequests
        case .internal: .internalServerError
        case .unavailable: .serviceUnavailable
        }
    }
}
