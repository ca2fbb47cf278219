/// The GDPR metadata every event carries in `metadata.gdpr_context` (SPEC §5, §6.6).
public struct GDPRContext: Hashable, Sendable {
    /// Whether the data subject consented.
    public var consent: Bool?
    /// Why the data is processed, e.g. `sales_pipeline`.
    public var purpose: String?
    /// How long the event may be kept.
    public var retentionDays: Int?
    /// The person the event is about, filled from the topic's `data_subject` path.
    public var dataSubjectID: String?
    /// The GDPR Art. 6 legal basis, e.g. `contract`.
    public var legalBasis: String?

    /// Creates a context; every field is optional.
    public init(consent: Bool? = nil, purpose: String? = nil, retentionDays: Int? = nil, dataSubjectID: String? = nil, legalBasis: String? = nil) {
        self.consent = consent
        self.purpose = purpose
        self.retentionDays = retentionDays
        self.dataSubjectID = dataSubjectID
        self.legalBasis = legalBasis
    }

    /// The legal bases of GDPR Art. 6(1), as policy and publishers spell them.
    public static let legalBases = ["consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"]
}
