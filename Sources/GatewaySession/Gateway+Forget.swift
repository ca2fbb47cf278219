public import EventBus
import Foundation
public import GatewayModel
import Logging
import NIOCore
import PolicyEngine
import PolicyLanguage
import Synchronization

extension Gateway {
    /// Loads the subjects forgotten before this start, so their events stay refused (SPEC §7).
    public func loadForgottenSubjects() async throws {
        let subjects = try await log.forgottenSubjects()
        forgotten.withLock { $0.formUnion(subjects) }
    }

    /// Whether `subjectID` is forgotten in `company` (or in every company).
    func isForgotten(_ subjectID: String, company: CompanyID) -> Bool {
        forgotten.withLock { set in
            !set.isEmpty
                && (set.contains(ForgottenSubject(dataSubjectID: subjectID, company: company))
                    || set.contains(ForgottenSubject(dataSubjectID: subjectID, company: nil)))
        }
    }

    /// Whether a stored event belongs to a forgotten subject: it is never delivered, replayed or
    /// polled, also while the erasure that removes it from the log is still running.
    func isForgotten(_ event: StoredEvent) -> Bool {
        guard let subject = event.dataSubjectID else { return false }
        return isForgotten(subject, company: event.companyID)
    }

    /// The right to be forgotten (SPEC §7) for `dataSubjectID`, in `company` or in every company:
    /// from now on its events are refused at publish, skipped by delivery, replay and polling, and
    /// removed from the log; the connected clients of every affected company receive a
    /// `gdpr.subject.forgotten` event (sent live, never stored: it names the subject). Idempotent.
    public func forget(dataSubjectID: String, company: CompanyID?) async throws -> ForgetOutcome {
        let subject = ForgottenSubject(dataSubjectID: dataSubjectID, company: company)
        forgotten.withLock { _ = $0.insert(subject) }
        // The log refuses the subject's events in the same write that appends them, so a publish that
        // passed the gate's check just before this cannot store one after it.
        let outcome = try await log.forget(dataSubjectID: dataSubjectID, company: company, atMillis: Timestamp.nowMillis())
        var notified = Set(outcome.companies)
        if let company { notified.insert(company) }
        let notices = notified.sorted().map { forgottenNotice(dataSubjectID, company: $0, purged: outcome.purged) }
        // Stored like any event, so the notice has a cursor that resumes and a client that was away gets it
        // on resume; delivered by fan-out to every connection of the company (``deliverNotice(_:)``).
        _ = try await pipeline.submit(notices)
        // The subject's id is personal data: the log records the erasure, not whom it erased.
        logger.notice(
            "data subject forgotten",
            metadata: [
                "event": "gdpr.subject_forgotten", "purged": "\(outcome.purged)", "companies": "\(outcome.companies.count)",
                "scope": "\(company?.rawValue ?? "all companies")", "notices": "\(notices.count)",
                "already_forgotten": "\(outcome.alreadyForgotten)",
            ]
        )
        return outcome
    }

    /// The event type of erasure notices.
    static let forgottenEventType = "gdpr.subject.forgotten"

    /// Whether `event` is an erasure notice: it goes to every connection of its company, whatever they
    /// subscribed to, and is not a policy-whitelisted event type.
    static func isNotice(_ event: StoredEvent) -> Bool { event.eventType == forgottenEventType }

    /// The `gdpr.subject.forgotten` event for one company's clients.
    private func forgottenNotice(_ subjectID: String, company: CompanyID, purged: Int) -> NewEvent {
        let millis = Timestamp.nowMillis()
        let eventID = ids.next(millis: millis)
        let evaluator = self.evaluator
        let region = evaluator.policy.tenants.tenant(for: company.rawValue).homeRegion
        var json = JSONWriter(capacity: 256)
        json.raw(#"{"event_id":"#)
        json.string(eventID)
        json.raw(#","event_type":"#)
        json.string(Self.forgottenEventType)
        json.raw(#","timestamp":"#)
        json.string(Timestamp.rfc3339(millis: millis))
        json.raw(#","data":{"data_subject_id":"#)
        json.string(subjectID)
        json.raw(#","purged":"#)
        json.integer(Int64(purged))
        json.raw(#"},"metadata":{"region":"#)
        json.string(region.rawValue)
        json.raw(#","idempotency_key":"#)
        json.string(eventID)
        json.raw(#","company_id":"#)
        json.string(company.rawValue)
        json.raw("}}")
        let event = StoredEvent(
            position: 0,
            eventID: eventID,
            eventType: Self.forgottenEventType,
            companyID: company,
            region: region,
            dataSubjectID: nil,
            retentionDays: evaluator.policy.fallbackRetentionDays,
            createdAtMillis: millis,
            envelope: json.text
        )
        return NewEvent(event: event, idempotencyKey: eventID)
    }

    /// Fan-out of an erasure notice: to every connection of its company on this node.
    func deliverNotice(_ event: StoredEvent) {
        let frame = ByteBuffer(string: ServerMessage.event(envelope: event.envelope))
        for session in sessions.withLock({ Array($0.values) }) where session.companyID == event.companyID {
            _ = session.offerLive(position: event.position, frame: frame)
        }
    }
}
