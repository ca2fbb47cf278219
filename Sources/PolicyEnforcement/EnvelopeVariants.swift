import GatewayModel
import PolicyEngine
import PolicyLanguage

/// The envelopes of one event, one per redaction mask, built on first use: the stored bytes for
/// readers that see everything, a copy with the PII paths of the mask replaced by `"[redacted]"` for the others.
struct EnvelopeVariants {
    let event: StoredEvent
    let policy: CompiledPolicy
    private var envelopes: [UInt64: String] = [:]
    private var decoded: JSONValue?

    init(event: StoredEvent, policy: CompiledPolicy) {
        self.event = event
        self.policy = policy
    }

    /// The envelope for redaction `mask`; `nil` only if the stored envelope cannot be parsed (it always
    /// can: the gateway wrote it).
    mutating func envelope(redacting mask: UInt64) -> String? {
        if mask == 0 { return event.envelope }
        if let envelope = envelopes[mask] { return envelope }
        if decoded == nil { decoded = try? JSONValue(parsing: event.envelope) }
        guard case .object(var envelope)? = decoded, let data = envelope["data"] else { return nil }
        envelope["data"] = Redaction(paths: policy.piiPaths(in: mask)).apply(to: data)
        var json = JSONWriter()
        json.value(.object(envelope))
        envelopes[mask] = json.text
        return json.text
    }
}
