import GatewayModel
import PolicyLanguage

/// The fan-out answer for one event and one subscriber: plain values only, so deciding
/// allocates and retains nothing. ``redactionMask`` names the delivery variant: subscribers with
/// the same mask receive the same encoding of the event.
public struct DeliveryVerdict: Sendable, Hashable {
    /// Why; `.allowed` when the event may be delivered.
    public var reason: ReasonCode
    /// The rule that admitted (or refused) the subscriber, or -1.
    public var ruleIndex: Int32
    /// PII paths to redact, as bits of ``CompiledPolicy/piiPaths``.
    public var redactionMask: UInt64

    /// Whether the event may be delivered.
    @inlinable public var isAllowed: Bool { reason == .allowed }

    static func deny(_ reason: ReasonCode, rule: Int32 = -1) -> DeliveryVerdict { DeliveryVerdict(reason: reason, ruleIndex: rule, redactionMask: 0) }
}

extension PolicyEvaluator {
    /// Deliver, for the fan-out hot path: company isolation, tenant and residency, the
    /// subscriber's role on the event's topic, then the PII redaction mask. Allocation-free.
    public func deliver(_ subject: Subject, _ event: DeliveryIntent) -> DeliveryVerdict {
        var trace: DecisionTrace? = nil
        return deliver(subject, event, trace: &trace)
    }

    /// The delivery checks, recording each step when `trace` is not `nil`.
    public func deliver(_ subject: Subject, _ event: DeliveryIntent, trace: inout DecisionTrace?) -> DeliveryVerdict {
        guard let tenant = subject.tenant, subject.principal.companyID == event.companyID else {
            trace?.add("company", passed: false, "event of company '\(event.companyID)' may not reach a principal of company '\(subject.principal.companyID?.rawValue ?? "none")'")
            return .deny(.companyMismatch)
        }
        trace?.add("company", passed: true, "event and principal are of company '\(event.companyID)'")
        guard tenant.enabled else {
            trace?.add("tenant", passed: false, "company '\(event.companyID)' is disabled", at: tenant.enabledLocation ?? tenant.location)
            return .deny(.companyDisabled)
        }
        trace?.add("tenant", passed: true, "company '\(event.companyID)' is enabled", at: tenant.enabledLocation)
        guard serves(tenant) else {
            trace?.add("region", passed: false, "node region '\(nodeRegion?.rawValue ?? "")' may not hold company '\(event.companyID)'s data", at: tenant.regionLocation)
            return .deny(.regionNotServed)
        }
        if let nodeRegion { trace?.add("region", passed: true, "node region '\(nodeRegion)' may hold company '\(event.companyID)'s data", at: tenant.regionLocation) }
        let matches: RuleMatches
        switch policy.trie.rules(covering: event.eventType, allowWildcards: false) {
        case .failure(let problem):
            trace?.add("whitelist", passed: false, "event type \(problem)")
            return .deny(.topicMalformed)
        case .success(let found): matches = found
        }
        guard !matches.isEmpty else {
            trace?.add("whitelist", passed: false, "no whitelisted pattern matches '\(event.eventType)'")
            return .deny(.topicNotWhitelisted)
        }
        var admitted = -1
        var redaction: UInt64 = 0
        for position in 0..<matches.count {
            let rule = policy.rules[matches[position]]
            redaction |= rule.piiMask
            if admitted < 0 && rule.subscribe.admits(subject.roles) { admitted = rule.index }
        }
        guard admitted >= 0 else {
            let rule = policy.rules[matches[0]]
            trace?.add("roles", passed: false, "subscribe grant of '\(rule.pattern)' allows \(rule.subscribe.summary)", at: rule.subscribe.location ?? rule.location)
            return .deny(.roleNotAllowed, rule: Int32(rule.index))
        }
        if trace != nil {
            let rule = policy.rules[admitted]
            trace?.add("roles", passed: true, "'\(event.eventType)' matches '\(rule.pattern)', which allows \(rule.subscribe.summary)", at: rule.location)
        }
        if subject.readsPII {
            trace?.add("redaction", passed: true, redaction == 0 ? "no PII fields declared" : "principal holds pii_reader: nothing redacted")
            redaction = 0
        } else if redaction == 0 {
            trace?.add("redaction", passed: true, "no PII fields declared")
        } else {
            trace?.add("redaction", passed: true, "redacted for lack of pii_reader: \(policy.piiPaths(in: redaction).map(\.text).joined(separator: ", "))")
        }
        return DeliveryVerdict(reason: .allowed, ruleIndex: Int32(admitted), redactionMask: redaction)
    }

    /// A delivery verdict as a full ``Decision``: message, location, `deliver` limits and redaction paths.
    func decision(for verdict: DeliveryVerdict, _ subject: Subject, _ event: DeliveryIntent) -> Decision {
        let rule = verdict.ruleIndex >= 0 ? policy.rules[Int(verdict.ruleIndex)] : nil
        let tenant = subject.tenant
        guard verdict.isAllowed else {
            switch verdict.reason {
            case .companyDisabled: return .deny(.deliver, .companyDisabled, "company is disabled", at: tenant?.enabledLocation ?? tenant?.location)
            case .regionNotServed: return .deny(.deliver, .regionNotServed, "this node's region may not hold the company's data", at: tenant?.regionLocation)
            case .roleNotAllowed: return .deny(.deliver, .roleNotAllowed, "role may not receive this event type", rule: rule?.index, at: rule?.location)
            case .topicMalformed: return .deny(.deliver, .topicMalformed, "event type is malformed")
            case .topicNotWhitelisted: return .deny(.deliver, .topicNotWhitelisted, "event type is not whitelisted")
            default: return .deny(.deliver, .companyMismatch, "event belongs to another company")
            }
        }
        var decision = Decision.allow(.deliver, rule: rule?.index, at: rule?.location, limits: limits(for: subject, action: .deliver))
        decision.redaction = Redaction(paths: policy.piiPaths(in: verdict.redactionMask))
        return decision
    }
}
