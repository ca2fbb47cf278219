import GatewayModel
import Logging
import PolicyEngine
import PolicyLanguage

extension Gateway {
    /// One decision, as the audit sees it: what was decided, why, and which rule or setting decided.
    /// Never the principal's user id or address, the token, or any of the event's data.
    struct AuditedDecision {
        var action: PolicyAction
        var reason: ReasonCode
        /// Where the deciding rule or setting is written, when one decided.
        var location: SourceLocation?
        var company: CompanyID?
        /// The subscription pattern or event type.
        var topic: String?
        var connectionID: String?

        /// Client-given strings held to the sizes the gateway accepts: a topic to an event type's
        /// longest, a company id only when it is a well-formed one (else it may be payload data).
        var bounded: AuditedDecision {
            var copy = self
            if let topic, topic.utf8.count > EventType.maximumLength { copy.topic = String(topic.utf8.prefix(EventType.maximumLength)) ?? "" }
            if let company, !CompanyID.isWellFormed(company.rawValue) { copy.company = nil }
            return copy
        }
    }

    /// Counts a decision in `policy_decisions_total{action,result,reason}` and, for a refusal (or
    /// any decision when ``Configuration/auditAllowedDecisions`` is set), writes a `policy.decision`
    /// log line with the reason code, the rule's location and the policy version.
    func audit(_ decision: AuditedDecision, policyVersion: String) {
        let decision = decision.bounded
        metrics.decision(action: decision.action.rawValue, reason: decision.reason.rawValue)
        let allowed = decision.reason == .allowed
        if !allowed { recordForDashboard(decision, result: "deny") }
        guard !allowed || configuration.auditAllowedDecisions else { return }
        log(decision, result: allowed ? "allow" : "deny", policyVersion: policyVersion)
    }

    /// Records a shadow rule's would-be refusal of an action the live policy allowed: counted as
    /// `policy_decisions_total{result="shadow_deny"}` and logged as a `policy.decision` line with
    /// `result: shadow_deny`; the action goes ahead.
    func auditShadow(_ decision: AuditedDecision, policyVersion: String) {
        let decision = decision.bounded
        metrics.decision(action: decision.action.rawValue, reason: decision.reason.rawValue, result: "shadow_deny")
        recordForDashboard(decision, result: "shadow_deny")
        log(decision, result: "shadow_deny", policyVersion: policyVersion)
    }

    /// One `policy.decision` log line.
    private func log(_ decision: AuditedDecision, result: String, policyVersion: String) {
        var metadata: Logger.Metadata = [
            "event": "policy.decision", "action": "\(decision.action.rawValue)", "result": "\(result)",
            "reason": "\(decision.reason.rawValue)", "policy_version": "\(policyVersion)",
        ]
        if let location = decision.location { metadata["rule"] = "\(location)" }
        if let company = decision.company { metadata["company_id"] = "\(company.rawValue)" }
        if let topic = decision.topic { metadata["topic"] = "\(topic)" }
        if let connection = decision.connectionID { metadata["connection_id"] = "\(connection)" }
        logger.info("policy decision", metadata: metadata)
    }

    private func recordForDashboard(_ decision: AuditedDecision, result: String) {
        dashboard.record(
            DashboardStats.RecentDecision(
                atMillis: Timestamp.nowMillis(),
                action: decision.action.rawValue,
                result: result,
                reason: decision.reason.rawValue,
                rule: decision.location.map { "\($0)" },
                topic: decision.topic
            )
        )
    }

    /// The location of rule `index` of `policy`, if there is one.
    static func location(ofRule index: Int32, in policy: CompiledPolicy) -> SourceLocation? {
        index >= 0 && Int(index) < policy.rules.count ? policy.rules[Int(index)].location : nil
    }
}
