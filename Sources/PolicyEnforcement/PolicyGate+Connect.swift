public import GatewayModel
public import PolicyEngine
import PolicyLanguage

extension PolicyGate {
    /// A connection the gate admitted.
    public struct Admission: Sendable {
        /// The principal resolved against the policy in force.
        public var subject: Subject
        /// The connection's company: the token's, or empty for a token without company (service, admin),
        /// which no event, subscription or cursor ever has.
        public var company: CompanyID
        /// The version of the policy that admitted it.
        public var policyVersion: String
        /// The policy generation that admitted it: a reload in between means deciding again.
        public var generation: UInt64
    }

    /// Why a connection is refused, as the close code the transport sends.
    public enum ConnectRefusal: Error, Sendable, Equatable {
        /// The company is disabled or not served here (4003), with a short reason (≤ 32 bytes).
        case forbidden(reason: String)
        /// A `connect` rate limit refused (4029), retry after this many seconds.
        case rateLimited(retryAfterSeconds: Int)
        /// The rate-limit store could not answer (1013: try again later); limits fail closed.
        case unavailable
    }

    /// Decides a WebSocket connection: the policy's connect decision (company enabled, node region) and
    /// the connect rate limits, audited.
    public func connect(_ principal: Principal) async -> Result<Admission, ConnectRefusal> {
        let evaluator = self.evaluator
        let subject = evaluator.subject(for: principal)
        var trace: DecisionTrace? = nil
        let decision = evaluator.connect(subject, trace: &trace)
        audit.record(
            AuditedDecision(action: .connect, reason: decision.reason, location: decision.location, company: principal.companyID),
            policyVersion: evaluator.policy.version
        )
        guard decision.isAllowed else {
            if decision.reason == .regionNotServed, let home = subject.tenant?.homeRegion {
                return .failure(.forbidden(reason: String("home region \(home.rawValue)".prefix(32))))
            }
            return .failure(.forbidden(reason: "forbidden"))
        }
        switch await limits.acquire(decision.limits) {
        case .proceed: break
        case .refused(let refusal): return .failure(.rateLimited(retryAfterSeconds: Int(refusal.retryAfterSeconds.rounded(.up))))
        case .unavailable: return .failure(.unavailable)
        }
        return .success(
            Admission(
                subject: subject,
                company: principal.companyID ?? CompanyID(""),
                policyVersion: evaluator.policy.version,
                generation: evaluator.policy.generation
            )
        )
    }

    /// Whether `principal` may still connect under the policy now in force (a reload happened while it
    /// was being admitted). Not audited again: the first decision was.
    public func stillAdmits(_ principal: Principal) -> Bool {
        let evaluator = self.evaluator
        var trace: DecisionTrace? = nil
        return evaluator.connect(evaluator.subject(for: principal), trace: &trace).isAllowed
    }

    /// The principal resolved against the policy in force (for `auth.refresh`).
    public func subject(for principal: Principal) -> Subject { evaluator.subject(for: principal) }
}
