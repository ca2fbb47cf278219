import EventBus
public import GatewayModel
import Logging
import PolicyEngine
import PolicyLanguage

extension PolicyGate {
    /// The right to be forgotten (SPEC §7) for `dataSubjectID`, in `company` or in every company: from now
    /// on its events are refused at publish, skipped by delivery, replay and polling, and removed from the
    /// log; every affected company gets a stored `gdpr.subject.forgotten` notice, which fan-out delivers to
    /// all of its connections. Idempotent: repeating it stores and sends no second notice, unless it purged
    /// events the first one had not (then the companies they were in are told).
    public func forget(dataSubjectID: String, company: CompanyID?) async throws -> ForgetOutcome {
        forgotten.insert(ForgottenSubject(dataSubjectID: dataSubjectID, company: company))
        // The log refuses the subject's events in the same write that appends them, so a publish that
        // passed the gate's check just before this cannot store one after it.
        let outcome = try await log.forget(dataSubjectID: dataSubjectID, company: company, atMillis: Timestamp.nowMillis())
        var notified = Set(outcome.companies)
        // A repeated erasure that found nothing new tells no one again: the first one's notice is stored.
        if let company, !outcome.alreadyForgotten { notified.insert(company) }
        let notices = notified.sorted().map { notice(dataSubjectID, company: $0, purged: outcome.purged) }
        // Stored like any event, so the notice has a cursor that resumes and a client that was away gets it.
        _ = try await pipeline.submit(notices)
        // The subject's id is personal data: the log records the erasure, not whom it erased.
        logger.notice(
            "data subject forgotten",
            metadata: [
                LogKey.event: "gdpr.subject_forgotten", "purged": "\(outcome.purged)", "companies": "\(outcome.companies.count)",
                "scope": "\(company?.rawValue ?? "all companies")", "notices": "\(notices.count)",
                "already_forgotten": "\(outcome.alreadyForgotten)",
            ]
        )
        return outcome
    }

    /// The `gdpr.subject.forgotten` event for one company's clients.
    private func notice(_ subjectID: String, company: CompanyID, purged: Int) -> NewEvent {
        let millis = Timestamp.nowMillis()
        let eventID = ids.next(millis: millis)
        let policy = evaluator.policy
        let region = policy.tenants.tenant(for: company.rawValue).homeRegion
        let event = StoredEvent(
            position: 0,
            eventID: eventID,
            eventType: Self.forgottenEventType,
            companyID: company,
            region: region,
            dataSubjectID: nil,
            retentionDays: policy.fallbackRetentionDays,
            createdAtMillis: millis,
            envelope: EnvelopeWriter.envelope(
                eventID: eventID,
                eventType: Self.forgottenEventType,
                millis: millis,
                data: .object(["data_subject_id": .string(subjectID), "purged": .number(JSONNumber(purged))]),
                region: region,
                idempotencyKey: eventID,
                company: company,
                gdpr: nil,
                retentionDays: policy.fallbackRetentionDays
            )
        )
        return NewEvent(event: event, idempotencyKey: eventID)
    }
}
