public import GatewayModel
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

/// The policy's view of one event, found once per event and shared by all of its deliveries:
/// the rules its type matches and the union of their PII paths. Fan-out to N subscribers then
/// costs N ``PolicyEvaluator/deliver(_:_:)-(Subject,DeliveryRoute)`` checks of plain values.
public struct DeliveryRoute: Sendable {
    /// The event's company.
    public let companyID: CompanyID
    /// `.allowed` when the type is whitelisted; otherwise why nobody may receive it.
    public let reason: ReasonCode
    /// Why the type is malformed, when it is.
    let problem: TopicSyntaxProblem?
    /// The rules whose patterns match the type.
    let matches: RuleMatches
    /// The union of the matching rules' PII paths.
    let redactionMask: UInt64
}

extension PolicyEvaluator {
    /// Looks an event up once for all of its deliveries.
    public func route(_ event: DeliveryIntent) -> DeliveryRoute {
        route(eventType: event.eventType, companyID: event.companyID)
    }

    /// Looks an event of type `eventType` and company `companyID` up once for all of its deliveries.
    public func route(eventType: String, companyID: CompanyID) -> DeliveryRoute {
        var matches = RuleMatches()
        let problem = trie.rules(covering: eventType, allowWildcards: false, into: &matches)
        var redaction: UInt64 = 0
        for position in 0..<matches.count { redaction |= policy.grants[matches[position]].piiMask }
        let reason: ReasonCode = problem != nil ? .topicMalformed : matches.isEmpty ? .topicNotWhitelisted : .allowed
        return DeliveryRoute(
            companyID: companyID,
            reason: reason,
            problem: problem,
            matches: matches,
            redactionMask: redaction
        )
    }

    /// Deliver, for one subscriber of a routed event: company isolation, tenant and residency, the
    /// subscriber's role on the event's topic, then the PII redaction mask. Allocation-free.
    public func deliver(_ subject: Subject, _ route: DeliveryRoute) -> DeliveryVerdict {
        var trace: DecisionTrace? = nil
        return deliver(subject, route, eventType: "", trace: &trace)
    }

    /// Deliver, looking the event up for this one subscriber (``route(_:)`` and then the check).
    public func deliver(_ subject: Subject, _ event: DeliveryIntent) -> DeliveryVerdict {
        var trace: DecisionTrace? = nil
        return deliver(subject, route(event), eventType: event.eventType, trace: &trace)
    }

    /// The delivery checks, recording each step when `trace` is not `nil` (`eventType` is only
    /// read for the trace).
    func deliver(_ subject: Subject, _ route: DeliveryRoute, eventType: String, trace: inout DecisionTrace?) -> DeliveryVerdict {
        guard subject.tenant != nil, subject.principal.companyID == route.companyID else {
            trace?.add(
                "company",
                passed: false,
                "event of company '\(route.companyID)' may not reach a principal of company '\(subject.principal.companyID?.rawValue ?? "none")'"
            )
            return .deny(.companyMismatch)
        }
        trace?.add("company", passed: true, "event and principal are of company '\(route.companyID)'")
        guard subject.tenantEnabled else {
            trace?.add(
                "tenant",
                passed: false,
                "company '\(route.companyID)' is disabled",
                at: subject.tenant?.enabledLocation ?? subject.tenant?.location
            )
            return .deny(.companyDisabled)
        }
        trace?.add("tenant", passed: true, "company '\(route.companyID)' is enabled", at: subject.tenant?.enabledLocation)
        guard serves(subject.tenantRegions) else {
            trace?.add(
                "region",
                passed: false,
                "node region '\(nodeRegion?.rawValue ?? "")' may not hold company '\(route.companyID)'s data",
                at: subject.tenant?.regionLocation
            )
            return .deny(.regionNotServed)
        }
        if let nodeRegion {
            trace?.add(
                "region",
                passed: true,
                "node region '\(nodeRegion)' may hold company '\(route.companyID)'s data",
                at: subject.tenant?.regionLocation
            )
        }
        guard route.reason == .allowed else {
            if let problem = route.problem {
                trace?.add("whitelist", passed: false, "event type \(problem)")
            } else {
                trace?.add("whitelist", passed: false, "no whitelisted pattern matches '\(eventType)'")
            }
            return .deny(route.reason)
        }
        var admitted = -1
        for position in 0..<route.matches.count where policy.grants[route.matches[position]].admitsSubscriber(subject.roles) {
            admitted = route.matches[position]
            break
        }
        guard admitted >= 0 else {
            let rule = policy.rules[route.matches[0]]
            trace?.add(
                "roles",
                passed: false,
                "subscribe grant of '\(rule.pattern)' allows \(rule.subscribe.summary)",
                at: rule.subscribe.location ?? rule.location
            )
            return .deny(.roleNotAllowed, rule: Int32(rule.index))
        }
        if trace != nil {
            let rule = policy.rules[admitted]
            trace?.add(
                "roles",
                passed: true,
                "'\(eventType)' matches '\(rule.pattern)', which allows \(rule.subscribe.summary)",
                at: rule.location
            )
        }
        var redaction = route.redactionMask
        if subject.readsPII {
            trace?.add("redaction", passed: true, redaction == 0 ? "no PII fields declared" : "principal holds pii_reader: nothing redacted")
            redaction = 0
        } else if redaction == 0 {
            trace?.add("redaction", passed: true, "no PII fields declared")
        } else {
            trace?.add(
                "redaction",
                passed: true,
                "redacted for lack of pii_reader: \(policy.piiPaths(in: redaction).map(\.text).joined(separator: ", "))"
            )
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
            case .regionNotServed:
                return .deny(.deliver, .regionNotServed, "this node's region may not hold the company's data", at: tenant?.regionLocation)
            case .roleNotAllowed:
                return .deny(.deliver, .roleNotAllowed, "role may not receive this event type", rule: rule?.index, at: rule?.location)
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
