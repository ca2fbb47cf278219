import GatewayModel
import PolicyLanguage

extension PolicyEvaluator {
    /// Deliver: company isolation, tenant and residency, the subscriber's role on the event's
    /// topic, then PII redaction. Allocation-free when no trace is asked for.
    public func deliver(_ subject: Subject, _ event: DeliveryIntent, trace: inout DecisionTrace?) -> Decision {
        guard let company = subject.principal.companyID, company == event.companyID, let tenant = subject.tenant else {
            trace?.add("company", passed: false, "event of company '\(event.companyID)' may not reach a principal of company '\(subject.principal.companyID?.rawValue ?? "none")'")
            return .deny(.deliver, .companyMismatch, "event belongs to another company")
        }
        trace?.add("company", passed: true, "event and principal are of company '\(company)'")
        guard tenant.enabled else {
            trace?.add("tenant", passed: false, "company '\(company)' is disabled", at: tenant.enabledLocation ?? tenant.location)
            return .deny(.deliver, .companyDisabled, "company is disabled", at: tenant.enabledLocation ?? tenant.location)
        }
        trace?.add("tenant", passed: true, "company '\(company)' is enabled", at: tenant.enabledLocation)
        guard serves(tenant) else {
            trace?.add("region", passed: false, "node region '\(nodeRegion?.rawValue ?? "")' may not hold company '\(company)'s data", at: tenant.regionLocation)
            return .deny(.deliver, .regionNotServed, "this node's region may not hold the company's data", at: tenant.regionLocation)
        }
        if let nodeRegion { trace?.add("region", passed: true, "node region '\(nodeRegion)' may hold company '\(company)'s data", at: tenant.regionLocation) }
        let matches: RuleMatches
        switch policy.trie.rules(covering: event.eventType, allowWildcards: false) {
        case .failure(let problem):
            trace?.add("whitelist", passed: false, "event type \(problem)")
            return .deny(.deliver, .topicMalformed, "event type is malformed")
        case .success(let found): matches = found
        }
        guard !matches.isEmpty else {
            trace?.add("whitelist", passed: false, "no whitelisted pattern matches '\(event.eventType)'")
            return .deny(.deliver, .topicNotWhitelisted, "event type is not whitelisted")
        }
        var admitted = -1
        for position in 0..<matches.count where policy.rules[matches[position]].subscribe.admits(subject.roles) {
            admitted = matches[position]
            break
        }
        guard admitted >= 0 else {
            let rule = policy.rules[matches[0]]
            trace?.add("roles", passed: false, "subscribe grant of '\(rule.pattern)' allows \(rule.subscribe.summary)", at: rule.subscribe.location ?? rule.location)
            return .deny(.deliver, .roleNotAllowed, "role may not receive this event type", rule: rule.index, at: rule.location)
        }
        let rule = policy.rules[admitted]
        trace?.add("roles", passed: true, "'\(event.eventType)' matches '\(rule.pattern)', which allows \(rule.subscribe.summary)", at: rule.location)
        var decision = Decision.allow(.deliver, rule: rule.index, at: rule.location, limits: deliverLimits(subject, tenant))
        if !subject.readsPII { decision.redaction = redaction(for: matches) }
        if decision.redaction.isEmpty {
            trace?.add("redaction", passed: true, subject.readsPII ? "principal holds pii_reader: nothing redacted" : "no PII fields declared")
        } else {
            trace?.add("redaction", passed: true, "redacted for lack of pii_reader: \(decision.redaction.paths.map(\.text).joined(separator: ", "))", at: rule.location)
        }
        return decision
    }

    /// Allocation-free delivery decision for the fan-out hot path.
    public func deliver(_ subject: Subject, _ event: DeliveryIntent) -> Decision {
        var trace: DecisionTrace? = nil
        return deliver(subject, event, trace: &trace)
    }

    func deliverLimits(_ subject: Subject, _ tenant: Tenant) -> LimitPlan {
        guard let plan = policy.plan(of: tenant) else { return .none }
        let limits = plan.limits(for: .deliver)
        if limits.isEmpty { return .none }
        return LimitPlan(limits: limits, company: subject.principal.companyID?.rawValue ?? "", user: subject.principal.userID, ip: subject.principal.ip)
    }

    /// The PII paths of every matching rule (the union: redaction errs towards hiding).
    func redaction(for matches: RuleMatches) -> Redaction {
        var single: [DataPath]?
        var merged: [DataPath]?
        for position in 0..<matches.count {
            let pii = policy.rules[matches[position]].pii
            if pii.isEmpty { continue }
            if single == nil {
                single = pii
            } else {
                var union = merged ?? single!
                for path in pii where !union.contains(path) { union.append(path) }
                merged = union
            }
        }
        return Redaction(paths: merged ?? single ?? [])
    }
}
