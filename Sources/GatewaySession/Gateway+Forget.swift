public import GatewayModel
import NIOCore
import PolicyEnforcement
import Synchronization

extension Gateway {
    /// The right to be forgotten (SPEC §7) for `dataSubjectID`, in `company` or in every company; see
    /// ``PolicyGate/forget(dataSubjectID:company:)``. The notices reach connections by fan-out.
    public func forget(dataSubjectID: String, company: CompanyID?) async throws -> ForgetOutcome {
        try await gate.forget(dataSubjectID: dataSubjectID, company: company)
    }

    /// Fan-out of an erasure notice: to every connection of its company on this node, whatever it subscribed to.
    func deliverNotice(_ event: StoredEvent) {
        let frame = ByteBuffer(string: ServerMessage.event(envelope: event.envelope))
        for session in sessions.withLock({ Array($0.values) }) where session.companyID == event.companyID {
            _ = session.offerLive(position: event.position, frame: frame)
        }
    }
}
