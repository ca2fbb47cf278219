import GatewayModel
import Synchronization

/// The data subjects erased under SPEC §7, in one company or in all: loaded from the log at start,
/// added to by `forget`, checked at publish and before every delivery, replay and poll.
final class ForgottenSubjects: Sendable {
    private let subjects = Mutex<Set<ForgottenSubject>>([])

    /// Adds subjects (at start, from the log).
    func insert(contentsOf list: [ForgottenSubject]) { subjects.withLock { $0.formUnion(list) } }

    /// Adds one subject; `false` when it was there already.
    @discardableResult
    func insert(_ subject: ForgottenSubject) -> Bool { subjects.withLock { $0.insert(subject).inserted } }

    /// Whether `subjectID` is forgotten in `company` (or in every company).
    func contains(_ subjectID: String, company: CompanyID) -> Bool {
        subjects.withLock { set in
            !set.isEmpty
                && (set.contains(ForgottenSubject(dataSubjectID: subjectID, company: company))
                    || set.contains(ForgottenSubject(dataSubjectID: subjectID, company: nil)))
        }
    }

    /// Whether a stored event belongs to a forgotten subject: it is never delivered, replayed or polled,
    /// also while the erasure that removes it from the log is still running.
    func contains(_ event: StoredEvent) -> Bool {
        guard let subject = event.dataSubjectID else { return false }
        return contains(subject, company: event.companyID)
    }
}
