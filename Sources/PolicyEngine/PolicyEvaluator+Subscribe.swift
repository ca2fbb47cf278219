import GatewayModel
import PolicyLanguage

/// A subscribe or poll answer for one pattern as plain values: the gate decides with
/// ``PolicyEvaluator/subscribe(_:topic:)`` and asks for the ``Decision`` (message, location) only
/// to explain a refusal.
public struct TopicVerdict: Sendable, Hashable {
    /// Why; `.allowed` when the pattern may be subscribed to.
    public var reason: ReasonCode
    /// The rule whose subscribe grant admitted the principal; on a role refusal the first rule
    /// covering the pattern; otherwise -1.
    public var ruleIndex: Int32
    /// Why the pattern is malformed, when it is.
    var problem: TopicSyntaxProblem?

    /// Whether the pattern may be subscribed to (subject to the limits).
    @inlinable public var isAllowed: Bool { reason == .allowed }
}

extension PolicyEvaluator {
    /// Subscribe, the hot-path form: the pattern must be equal to or narrower than a whitelisted
    /// pattern whose `subscribe` grant admits the principal (SPEC §6.2), for an enabled company this
    /// node serves. The `subscribe` limits are ``limits(for:action:)``.
    public func subscribe(_ subject: Subject, topic: String) -> TopicVerdict {
        var trace: DecisionTrace? = nil
        return topicVerdict(subject, topic: topic, action: .subscribe, trace: &trace)
    }

    /// Subscribe as a full ``Decision``, with message, location and limits.
    public func subscribe(_ subject: Subject, topic: String, trace: inout DecisionTrace?) -> Decision {
        let verdict = topicVerdict(subject, topic: topic, action: .subscribe, trace: &trace)
        guard verdict.isAllowed else { return denial(for: verdict, subject, topic: topic, action: .subscribe) }
        return .allow(.subscribe, rule: Int(verdict.ruleIndex), limits: limits(for: subject, action: .subscribe))
    }

    /// Poll: every pattern as for subscribe, and the `poll` limits instead of `subscribe`'s.
    public func poll(_ subject: Subject, topics: [String], trace: inout DecisionTrace?) -> Decision {
        guard !topics.isEmpty else { return .deny(.poll, .topicMalformed, "no topics given") }
        // Every pattern's whitelist and roles first, then the tenant once (as a subscribe of each would).
        for topic in topics {
            let verdict = topicVerdict(subject, topic: topic, action: .poll, checkingTenant: false, trace: &trace)
            guard verdict.isAllowed else { return denial(for: verdict, subject, topic: topic, action: .poll) }
        }
        guard checkTenant(subject, action: .poll, trace: &trace) else { return tenantDenial(subject, action: .poll) }
        return .allow(.poll, limits: limits(for: subject, action: .poll))
    }

    /// The whitelist, role and tenant checks for one pattern, recording each step when `trace` is not `nil`.
    func topicVerdict(
        _ subject: Subject,
        topic: String,
        action: PolicyAction,
        checkingTenant: Bool = true,
        trace: inout DecisionTrace?
    ) -> TopicVerdict {
        var matches = RuleMatches()
        if let problem = trie.rules(covering: topic, allowWildcards: true, into: &matches) {
            trace?.add("whitelist", passed: false, "topic '\(topic)' \(problem)")
            return TopicVerdict(reason: .topicMalformed, ruleIndex: -1, problem: problem)
        }
        guard !matches.isEmpty else {
            trace?.add("whitelist", passed: false, "no whitelisted pattern covers '\(topic)'")
            return TopicVerdict(reason: .topicNotWhitelisted, ruleIndex: -1)
        }
        var admitted = -1
        for position in 0..<matches.count where policy.grants[matches[position]].admitsSubscriber(subject.roles) {
            admitted = matches[position]
            break
        }
        if trace != nil {
            let rule = policy.rules[admitted >= 0 ? admitted : matches[0]]
            trace?.add("whitelist", passed: true, "'\(topic)' is covered by '\(rule.pattern)'", at: rule.location)
            let roles = admitted >= 0 ? "" : "; principal has [\(subject.principal.roles.joined(separator: ", "))]"
            trace?.add(
                "roles",
                passed: admitted >= 0,
                "subscribe grant allows \(rule.subscribe.summary)\(roles)",
                at: rule.subscribe.location ?? rule.location
            )
        }
        guard admitted >= 0 else { return TopicVerdict(reason: .roleNotAllowed, ruleIndex: Int32(matches[0])) }
        guard !checkingTenant || checkTenant(subject, action: action, trace: &trace) else {
            return TopicVerdict(reason: tenantReason(subject), ruleIndex: Int32(admitted))
        }
        return TopicVerdict(reason: .allowed, ruleIndex: Int32(admitted))
    }

    /// A refused pattern as a ``Decision``: its message and the rule or setting that refused.
    func denial(for verdict: TopicVerdict, _ subject: Subject, topic: String, action: PolicyAction) -> Decision {
        switch verdict.reason {
        case .topicMalformed: return .deny(action, .topicMalformed, "topic \(verdict.problem ?? .empty)")
        case .topicNotWhitelisted: return .deny(action, .topicNotWhitelisted, "topic is not whitelisted")
        case .roleNotAllowed:
            let rule = policy.rules[Int(verdict.ruleIndex)]
            return .deny(
                action,
                .roleNotAllowed,
                "role may not subscribe to this topic",
                rule: rule.index,
                at: rule.subscribe.location ?? rule.location
            )
        default: return tenantDenial(subject, action: action)
        }
    }
}
