/// What erasing a data subject did.
public struct ForgetOutcome: Sendable, Equatable {
    /// Events removed.
    public var purged: Int
    /// The companies whose events were removed.
    public var companies: [CompanyID]
    /// Whether the subject had been forgotten (in the same scope) before.
    public var alreadyForgotten: Bool

    /// Creates an outcome.
    public init(purged: Int, companies: [CompanyID], alreadyForgotten: Bool) {
        self.purged = purged
        self.companies = companies
        self.alreadyForgotten = alreadyForgotten
    }
}

/// A data subject whose events are refused and erased: in one company, or in all (`company == nil`).
public struct ForgottenSubject: Sendable, Hashable {
    /// The subject's id (`gdpr_context.data_subject_id`).
    public var dataSubjectID: String
    /// The company it was forgotten in; `nil` for every company.
    public var company: CompanyID?

    /// Creates an entry.
    public init(dataSubjectID: String, company: CompanyID?) {
        self.dataSubjectID = dataSubjectID
        self.company = company
    }
}
