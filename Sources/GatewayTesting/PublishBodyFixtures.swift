/// Publish bodies the one publish-body parser refuses, each with the message it must answer with: the
/// server's publish endpoint (400 `invalid_message`) and `policy explain --action publish` (exit 2)
/// are both tested against this list, so they cannot drift apart.
public enum PublishBodyFixtures {
    /// A refused body and the parser's message for it.
    public struct Refused: Sendable, CustomStringConvertible {
        /// The JSON body.
        public let body: String
        /// The message both the server and `explain` give.
        public let message: String
        public var description: String { body }
    }

    /// Unknown fields, wrong types and out-of-range values, one each.
    public static let refused: [Refused] = [
        Refused(
            body: #"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"extra":1}"#,
            message: "unknown field 'extra'; expected event_type, data, region, gdpr_context, idempotency_key"
        ),
        Refused(
            body: #"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"gdpr":{"purpose":"x"}}"#,
            message: "unknown field 'gdpr'; expected event_type, data, region, gdpr_context, idempotency_key"
        ),
        Refused(body: #"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"region":1}"#, message: "'region' must be a string"),
        Refused(body: #"{"event_type":7,"data":{"company_id":"123"}}"#, message: "'event_type' must be a string"),
        Refused(body: #"{"event_type":"deal.stage.updated","data":[1]}"#, message: "'data' must be a JSON object"),
        Refused(
            body: #"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"idempotency_key":""}"#,
            message: "'idempotency_key' must be a string of 1-255 bytes"
        ),
        Refused(
            body: #"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"gdpr_context":{"retention_days":"x"}}"#,
            message: "'gdpr_context.retention_days' has the wrong type"
        ),
        Refused(
            body: #"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"gdpr_context":{"basis":"x"}}"#,
            message: "unknown field 'gdpr_context.basis'"
        ),
        Refused(
            body: #"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"gdpr_context":[]}"#,
            message: "'gdpr_context' must be a JSON object"
        ),
    ]
}
