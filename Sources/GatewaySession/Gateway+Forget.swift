public import EventBus
import Foundation
public import GatewayModel
import Logging
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
        var outcome = try await log.forget(dataSubjectID: dataSubjectID, company: company, atMillis: Timestamp.nowMillis())
        // A publish that passed its check just before the insert may still be in the group commit: a
        // second pass after it has had time to land removes that too.
        try? await Task.sleep(for: .milliseconds(50))
        let late = try await log.forget(dataSubjectID: dataSubjectID, company: company, atMillis: Timestamp.nowMillis())
        outcome.purged += late.purged
        outcome.companies = Array(Set(outcome.companies + late.companies)).sorted()
        var notified = Set(outcome.companies)
        if let company { notified.insert(company) }
        var sent = 0
        for session in sessions.withLock({ Array($0.values) }) where notified.contains(session.companyID) {
            if session.outbox.enqueue(text: forgottenNotice(dataSubjectID, company: session.companyID, purged: outcome.purged)) { sent += 1 }
        }
        // The subject's id is personal data: the log records the erasure, not whom it erased.
        logger.notice(
            "data subject forgotten",
            metadata: [
                "event": "gdpr.subject_forgotten", "purged": "\(outcome.purged)", "companies": "\(outcome.companies.count)",
                "scope": "\(company?.rawValue ?? "all companies")", "notified_connections": "\(sent)",
                "already_forgotten": "\(outcome.alreadyForgotten)",
            ]
        )
        return outcome
    }

    /// The `gdpr.subject.forgotten` event for one company's clients.
    private func forgottenNotice(_ subjectID: String, company: CompanyID, purged: Int) -> String {
        let millis = Timestamp.nowMillis()
        var json = JSONWriter(capacity: 256)
        json.raw(#"{"type":"event","data":{"event_id":"#)
        json.string(ids.next(millis: millis))
        json.raw(#","event_type":"gdpr.subject.forgotten","timestamp":"#)
        json.string(Timestamp.rfc3339(millis: millis))
        json.raw(#","data":{"data_subject_id":"#)
        json.string(subjectID)
        json.raw(#","purged":"#)
        json.integer(Int64(purged))
        json.raw(#"},"metadata":{"company_id":"#)
        json.string(company.rawValue)
        json.raw("}}}")
        return json.text
    }
}
