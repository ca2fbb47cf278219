public import GatewayModel

/// The body of a publish, validated field by field (SPEC §2): the one parser behind the server's
/// publish endpoints and `policy explain --action publish`, so both refuse the same bodies.
public struct PublishRequest: Sendable {
    /// What the policy decides on.
    public var intent: PublishIntent
    /// `idempotency_key`, when the publisher gave one.
    public var idempotencyKey: String?

    /// The fields a body may carry.
    public static let fields: Set<String> = ["event_type", "data", "region", "gdpr_context", "idempotency_key"]

    /// Why a body is refused (HTTP 400: `invalid_message`, or `gdpr_invalid` for an unusable data subject id).
    public struct Problem: Error, Sendable, Equatable {
        /// What is wrong, naming the field.
        public var message: String
        /// The error code.
        public var code: ErrorCode = .invalidMessage
    }

    /// Validates a parsed body: unknown fields, types, lengths.
    public static func parse(_ body: JSONValue) -> Result<PublishRequest, Problem> {
        guard case .object(let object) = body else { return .failure(Problem(message: "the body must be a JSON object")) }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            return .failure(
                Problem(message: "unknown field '\(unknown.prefix(64))'; expected event_type, data, region, gdpr_context, idempotency_key")
            )
        }
        guard case .string(let eventType)? = object["event_type"] else { return .failure(Problem(message: "'event_type' must be a string")) }
        guard case .object? = object["data"], let data = object["data"] else { return .failure(Problem(message: "'data' must be a JSON object")) }
        var region: String?
        switch object["region"] {
        case nil, .null?: break
        case .string(let value)?: region = value
        default: return .failure(Problem(message: "'region' must be a string"))
        }
        var key: String?
        switch object["idempotency_key"] {
        case nil, .null?: break
        case .string(let value)? where (1...255).contains(value.utf8.count): key = value
        default: return .failure(Problem(message: "'idempotency_key' must be a string of 1-255 bytes"))
        }
        var gdpr: GDPRContext?
        switch object["gdpr_context"] {
        case nil, .null?: break
        case .object(let fields)?:
            var context = GDPRContext()
            for (name, value) in fields {
                switch (name, value) {
                case (_, .null): continue
                case ("consent", .bool(let flag)): context.consent = flag
                case ("purpose", .string(let text)): context.purpose = text
                case ("retention_days", .number(let days)):
                    guard let whole = retentionDays(days) else {
                        return .failure(Problem(message: "'gdpr_context.retention_days' has the wrong type"))
                    }
                    context.retentionDays = whole
                case ("data_subject_id", _) where value.identifierString != nil: context.dataSubjectID = value.identifierString
                case ("data_subject_id", _):
                    return .failure(
                        Problem(
                            message: "'gdpr_context.data_subject_id' must be a string or an integer (no fraction or exponent)",
                            code: .gdprInvalid
                        )
                    )
                case ("legal_basis", .string(let text)): context.legalBasis = text
                case ("consent", _), ("purpose", _), ("retention_days", _), ("legal_basis", _):
                    return .failure(Problem(message: "'gdpr_context.\(name)' has the wrong type"))
                default:
                    return .failure(Problem(message: "unknown field 'gdpr_context.\(name.prefix(64))'"))
                }
            }
            gdpr = context
        default: return .failure(Problem(message: "'gdpr_context' must be a JSON object"))
        }
        return .success(PublishRequest(intent: PublishIntent(eventType: eventType, data: data, region: region, gdpr: gdpr), idempotencyKey: key))
    }

    /// `retention_days` as a whole number of days below 10^9: an integer literal, or a number with a
    /// fraction or exponent whose value is whole (`30.0`, `3e1`).
    static func retentionDays(_ number: JSONNumber) -> Int? {
        if let days = number.int64Value { return abs(days) < 1_000_000_000 ? Int(days) : nil }
        let days = number.doubleValue
        guard days == days.rounded(), abs(days) < 1e9 else { return nil }
        return Int(days)
    }
}
