public import GatewayModel
public import PolicyEngine
import PolicyLanguage

extension PolicyGate {
    /// A long-poll the gate allowed.
    public struct PollPermit: Sendable {
        /// The poller, resolved against the policy that allowed it.
        public var subject: Subject
        /// The company whose events it reads.
        public var company: CompanyID
        /// The polled patterns.
        public var patterns: [TopicPattern]
    }

    /// Decides a long-poll (SPEC §4): the policy's poll decision for every topic, audited with its
    /// shadow dry run, the company checks and the poll limits.
    /// - Parameter companyID: `company_id` from the query, which must be the token's company.
    public func poll(_ principal: Principal, topics: [String], companyID: CompanyID?) async -> Result<PollPermit, GateRefusal> {
        let evaluator = self.evaluator
        let subject = evaluator.subject(for: principal)
        var trace: DecisionTrace? = nil
        let decision = evaluator.poll(subject, topics: topics, trace: &trace)
        let audited = AuditedDecision(
            action: .poll,
            reason: decision.reason,
            location: decision.location,
            company: principal.companyID,
            topic: topics.joined(separator: ",")
        )
        audit.record(audited, policyVersion: evaluator.policy.version)
        if decision.isAllowed, let shadow = evaluator.shadow {
            let wouldBe = shadow.poll(subject, topics: topics, trace: &trace)
            if !wouldBe.isAllowed {
                var shadowed = audited
                shadowed.reason = wouldBe.reason
                shadowed.location = wouldBe.location
                audit.recordShadow(shadowed, policyVersion: evaluator.policy.version)
            }
        }
        guard decision.isAllowed else { return .failure(GateRefusal(decision)) }
        guard let company = principal.companyID else {
            return .failure(GateRefusal(.forbidden, "long-polling needs a token bound to a company"))
        }
        if let asked = companyID, asked != company {
            return .failure(GateRefusal(.companyMismatch, "company_id does not match the token's company"))
        }
        switch await limits.acquire(decision.limits) {
        case .proceed: break
        case .refused(let refusal): return .failure(.rateLimited(refusal))
        case .unavailable: return .failure(.limitsUnavailable)
        }
        return .success(PollPermit(subject: subject, company: company, patterns: topics.compactMap { try? TopicPattern($0) }))
    }
}
