import GatewayModel
import PolicyLanguage

extension PolicyEvaluator {
    /// Subscribe: the pattern must be equal to or narrower than a whitelisted pattern whose
    /// `subscribe` grant admits the principal (SPEC §6.2), for an enabled company this node serves.
    public func subscribe(_ subject: Subject, topic: String, trace: inout DecisionTrace?) -> Decision {
        let topicDecision = checkTopic(subject, topic: topic, action: .subscribe, trace: &trace)
        guard topicDecision.isAllowed else { return topicDecision }
        guard checkTenant(subject, action: .subscribe, trace: &trace) else { return tenantDenial(subject, action: .subscribe) }
        return .allow(.subscribe, rule: topicDecision.ruleIndex, limits: limits(for: subject, action: .subscribe))
    }

    /// Poll: every pattern as for subscribe, and the `poll` limits instead of `subscribe`'s.
    public func poll(_ subject: Subject, topics: [String], trace: inout DecisionTrace?) -> Decision {
        guard !topics.isEmpty else { return .deny(.poll, .topicMalformed, "no topics given") }
        for topic in topics {
            let decision = checkTopic(subject, topic: topic, action: .poll, trace: &trace)
            guard decision.isAllowed else { return decision }
        }
        guard checkTenant(subject, action: .poll, trace: &trace) else { return tenantDenial(subject, action: .poll) }
        return .allow(.poll, limits: limits(for: subject, action: .poll))
    }

    /// The whitelist and role checks for one subscription pattern.
    func checkTopic(_ subject: Subject, topic: String, action: PolicyAction, trace: inout DecisionTrace?) -> Decision {
        var matches = RuleMatches()
        if let problem = policy.trie.rules(covering: topic, allowWildcards: true, into: &matches) {
            trace?.add("whitelist", passed: false, "topic '\(topic)' \(problem)")
            return .deny(action, .topicMalformed, "topic \(problem)")
        }
        guard !matches.isEmpty else {
            trace?.add("whitelist", passed: false, "no whitelisted pattern covers '\(topic)'")
            return .deny(action, .topicNotWhitelisted, "topic is not whitelisted")
        }
        for position in 0..<matches.count where policy.grants[matches[position]].admitsSubscriber(subject.roles) {
            if trace != nil {
                let rule = policy.rules[matches[position]]
                trace?.add("whitelist", passed: true, "'\(topic)' is covered by '\(rule.pattern)'", at: rule.location)
                trace?.add("roles", passed: true, "subscribe grant allows \(rule.subscribe.summary)", at: rule.subscribe.location ?? rule.location)
            }
            return .allow(action, rule: matches[position], limits: .none)
        }
        let rule = policy.rules[matches[0]]
        trace?.add("whitelist", passed: true, "'\(topic)' is covered by '\(rule.pattern)'", at: rule.location)
        trace?.add(
            "roles",
            passed: false,
            "subscribe grant allows \(rule.subscribe.summary); principal has [\(subject.principal.roles.joined(separator: ", "))]",
            at: rule.subscribe.location ?? rule.location
        )
        return .deny(action, .roleNotAllowed, "role may not subscribe to this topic", rule: rule.index, at: rule.subscribe.location ?? rule.location)
    }
}
