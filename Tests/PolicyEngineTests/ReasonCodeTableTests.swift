import GatewayModel
import PolicyEngine
import Testing

/// The reason codes and the one ``ErrorCode`` table agree: every refusal reason is an error code of its
/// own name (none falls back), with the status the README's reason table gives.
@Suite("Reason codes and the error-code table")
struct ReasonCodeTableTests {
    @Test("every refusal reason is an ErrorCode of the same name")
    func everyReasonHasItsCode() {
        for reason in ReasonCode.allCases where reason != .allowed {
            #expect(ErrorCode(rawValue: reason.rawValue) != nil, "\(reason)")
            #expect(reason.errorCode.rawValue == reason.rawValue)
        }
    }

    @Test("HTTP statuses of the reasons, as documented")
    func statuses() {
        let expected: [ReasonCode: Int] = [
            .topicMalformed: 400, .topicNotWhitelisted: 403, .roleNotAllowed: 403, .companyMissing: 400, .companyMismatch: 403,
            .companyDisabled: 403, .regionNotAllowed: 403, .regionNotServed: 403, .rateLimited: 429, .gdprInvalid: 400,
            .subjectForgotten: 403,
        ]
        #expect(Set(expected.keys) == Set(ReasonCode.allCases.filter { $0 != .allowed }))
        for (reason, status) in expected { #expect(reason.httpStatus == status, "\(reason)") }
    }

    @Test("the wire codes of SPEC §3 are all in the table")
    func wireCodes() {
        for code in ["invalid_topic", "forbidden", "rate_limited", "invalid_message", "unknown_type", "cursor_expired", "internal"] {
            #expect(ErrorCode(rawValue: code) != nil, "\(code)")
        }
        for reason in ReasonCode.allCases where reason != .allowed { #expect(ErrorCode(rawValue: reason.wireCode) != nil, "\(reason)") }
    }
}
