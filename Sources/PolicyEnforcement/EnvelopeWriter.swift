import GatewayModel

/// Writes event envelopes (`{"event_id","event_type","timestamp","data","metadata"}`) once, at publish:
/// every delivery, replay and poll then sends these bytes (or a redacted copy) without re-encoding.
enum EnvelopeWriter {
    /// The envelope of a published event.
    static func envelope(
        eventID: String,
        eventType: String,
        millis: Int64,
        data: JSONValue,
        region: Region,
        idempotencyKey: String,
        company: CompanyID,
        gdpr: GDPRContext?,
        retentionDays: Int
    ) -> String {
        var json = JSONWriter(capacity: 512)
        json.raw(#"{"event_id":"#)
        json.string(eventID)
        json.raw(#","event_type":"#)
        json.string(eventType)
        json.raw(#","timestamp":"#)
        json.string(Timestamp.rfc3339(millis: millis))
        json.raw(#","data":"#)
        json.value(data)
        json.raw(#","metadata":{"region":"#)
        json.string(region.rawValue)
        json.raw(#","idempotency_key":"#)
        json.string(idempotencyKey)
        json.raw(#","company_id":"#)
        json.string(company.rawValue)
        if let gdpr {
            json.raw(#","gdpr_context":{"#)
            var first = true
            func field(_ name: String, _ write: (inout JSONWriter) -> Void) {
                if !first { json.raw(",") }
                first = false
                json.string(name)
                json.raw(":")
                write(&json)
            }
            if let consent = gdpr.consent { field("consent") { $0.raw(consent ? "true" : "false") } }
            if let purpose = gdpr.purpose { field("purpose") { $0.string(purpose) } }
            field("retention_days") { $0.integer(Int64(retentionDays)) }
            if let subjectID = gdpr.dataSubjectID { field("data_subject_id") { $0.string(subjectID) } }
            if let basis = gdpr.legalBasis { field("legal_basis") { $0.string(basis) } }
            json.raw("}")
        }
        json.raw("}}")
        return json.text
    }
}
