import GatewayModel
import Logging
import PolicyEngine
import PolicyLanguage
import Synchronization

/// One decision as the audit sees it: what was decided, why, and which rule or setting decided.
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

/// The audit trail of the gate: every decision is counted in `policy_decisions_total{action,result,reason}`;
/// refusals, shadow refusals and (with ``auditAllowed``) allowed decisions are written as `policy.decision`
/// log lines naming the rule's location and the policy version; the latest refusals are kept for `/dashboard`.
public final class PolicyAudit: Sendable {
    /// A refusal as `/dashboard` lists it.
    public struct RecentDecision: Sendable {
        /// When, in milliseconds since 1970.
        public var atMillis: Int64
        /// The action.
        public var action: String
        /// `deny` or `shadow_deny`.
        public var result: String
        /// The reason code.
        public var reason: String
        /// `FILE:LINE:COLUMN` of the deciding rule, when one decided.
        public var rule: String?
        /// The topic or event type.
        public var topic: String?
    }

    /// Refusals by `action reason` and the most recent ones, newest last.
    public typealias Snapshot = (refusals: [String: Int], recent: [RecentDecision])

    /// How many recent refusals are kept.
    public static let recentCapacity = 50
    /// `POLICY_AUDIT_ALLOWED`: log allowed decisions too.
    public let auditAllowed: Bool
    let logger: Logger
    let metrics: GateMetrics
    private let ledger = Mutex<Snapshot>(([:], []))

    init(auditAllowed: Bool, logger: Logger, metrics: GateMetrics) {
        self.auditAllowed = auditAllowed
        self.logger = logger
        self.metrics = metrics
    }

    /// Refusals so far, for the dashboard.
    public var snapshot: Snapshot { ledger.withLock { $0 } }

    /// Counts a decision and, for a refusal (or any decision with ``auditAllowed``), logs it.
    func record(_ decision: AuditedDecision, policyVersion: String) {
        let decision = decision.bounded
        metrics.decision(action: decision.action.rawValue, reason: decision.reason.rawValue)
        let allowed = decision.reason == .allowed
        if !allowed { remember(decision, result: "deny") }
        guard !allowed || auditAllowed else { return }
        log(decision, result: allowed ? "allow" : "deny", policyVersion: policyVersion)
    }

    /// Records a shadow rule's would-be refusal of an action the live policy allowed; the action goes ahead.
    func recordShadow(_ decision: AuditedDecision, policyVersion: String) {
        let decision = decision.bounded
        metrics.decision(action: decision.action.rawValue, reason: decision.reason.rawValue, result: "shadow_deny")
        remember(decision, result: "shadow_deny")
        log(decision, result: "shadow_deny", policyVersion: policyVersion)
    }

    /// Counts `count` allowed deliveries at once (they are never logged one by one).
    func recordAllowedDeliveries(_ count: Int) {
        if count > 0 { metrics.decision(action: PolicyAction.deliver.rawValue, reason: ReasonCode.allowed.rawValue, count: count) }
    }

    private func log(_ decision: AuditedDecision, result: String, policyVersion: String) {
        var metadata: Logger.Metadata = [
            LogKey.event: "policy.decision", LogKey.action: "\(decision.action.rawValue)", LogKey.result: "\(result)",
            LogKey.reason: "\(decision.reason.rawValue)", LogKey.policyVersion: "\(policyVersion)",
        ]
        if let location = decision.location { metadata[LogKey.rule] = "\(location)" }
        if let company = decision.company { metadata[LogKey.companyID] = "\(company.rawValue)" }
        if let topic = decision.topic { metadata[LogKey.topic] = "\(topic)" }
        if let connection = decision.connectionID { metadata[LogKey.connectionID] = "\(connection)" }
        logger.info("policy decision", metadata: metadata)
    }

    private func remember(_ decision: AuditedDecision, result: String) {
        let recent = RecentDecision(
            atMillis: Timestamp.nowMillis(),
            action: decision.action.rawValue,
            result: result,
            reason: decision.reason.rawValue,
            rule: decision.location.map { "\($0)" },
            topic: decision.topic
        )
        ledger.withLock { ledger in
            ledger.refusals[recent.action + " " + recent.reason + (result == "shadow_deny" ? " (shadow)" : ""), default: 0] += 1
            ledger.recent.append(recent)
            if ledger.recent.count > Self.recentCapacity { ledger.recent.removeFirst(ledger.recent.count - Self.recentCapacity) }
        }
    }

    /// The location of rule `index` of `policy`, if there is one.
    static func location(ofRule index: Int32, in policy: CompiledPolicy) -> SourceLocation? {
        index >= 0 && Int(index) < policy.rules.count ? policy.rules[Int(index)].location : nil
    }
}
