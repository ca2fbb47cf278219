public import GatewayModel
public import PolicyEngine
import PolicyLanguage

extension PolicyGate {
    /// The answer to one `subscribe` message.
    public struct SubscribeResult: Sendable {
        /// A refused topic, answered with one `error` each.
        public struct Refused: Sendable, Equatable {
            /// The topic as the client sent it.
            public var topic: String
            /// `invalid_topic`, `forbidden`.
            public var code: ErrorCode
            /// The `error.message`.
            public var message: String
        }

        /// The allowed topics with their parsed patterns, in the order sent.
        public var accepted: [(topic: String, pattern: TopicPattern)] = []
        /// The refused ones.
        public var refused: [Refused] = []
        /// Set when the subscribe limits refused the message: then nothing is accepted.
        public var rateLimited: RateLimitOutcome?
        /// Set when the rate-limit store could not answer: then nothing is accepted (limits fail closed).
        public var limitsUnavailable = false
        /// The policy generation that decided: the session re-checks with ``stillAllowed(_:for:since:)``.
        public var generation: UInt64 = 0
    }

    /// Decides each topic of a `subscribe` message (duplicates once), audited one by one, with the shadow
    /// dry run; then acquires the subscribe limits once for the whole message, which is refused whole
    /// when they refuse. A connection holding `held` subscriptions may hold at most `maximum`.
    public func subscribe(
        _ subject: Subject,
        topics: [String],
        held: Int,
        maximum: Int,
        connectionID: String,
        company: CompanyID
    ) async
        -> SubscribeResult
    {
        let evaluator = self.evaluator
        let subject = evaluator.current(subject)
        var result = SubscribeResult(generation: evaluator.policy.generation)
        var seen = Set<String>()
        for topic in topics where seen.insert(topic).inserted {
            if held + result.accepted.count >= maximum {
                result.refused.append(.init(topic: topic, code: .forbidden, message: "a connection may hold at most \(maximum) subscriptions"))
                continue
            }
            let verdict = evaluator.subscribe(subject, topic: topic)
            var audited = AuditedDecision(action: .subscribe, reason: verdict.reason, company: company, topic: topic, connectionID: connectionID)
            if verdict.isAllowed {
                if audit.auditAllowed { audited.location = PolicyAudit.location(ofRule: verdict.ruleIndex, in: evaluator.policy) }
            } else {
                // A refusal names the rule or setting that refused: the explained decision has it.
                var trace: DecisionTrace? = nil
                audited.location = evaluator.subscribe(subject, topic: topic, trace: &trace).location
            }
            audit.record(audited, policyVersion: evaluator.policy.version)
            if verdict.isAllowed, let shadow = evaluator.shadow {
                let wouldBe = shadow.subscribe(subject, topic: topic)
                if !wouldBe.isAllowed {
                    var trace: DecisionTrace? = nil
                    audited.reason = wouldBe.reason
                    audited.location = shadow.subscribe(subject, topic: topic, trace: &trace).location
                    audit.recordShadow(audited, policyVersion: evaluator.policy.version)
                }
            }
            guard verdict.isAllowed, let pattern = try? TopicPattern(topic) else {
                let code = ErrorCode(rawValue: verdict.reason.wireCode) ?? .forbidden
                result.refused.append(.init(topic: topic, code: code, message: code == .invalidTopic ? "Invalid topic" : "Forbidden topic"))
                continue
            }
            result.accepted.append((topic, pattern))
        }
        guard !result.accepted.isEmpty else { return result }
        // One subscribe message counts once against the subscribe limits, and is refused whole.
        switch await limits.acquire(evaluator.limits(for: subject, action: .subscribe)) {
        case .proceed: break
        case .refused(let refusal):
            result.rateLimited = refusal
            result.accepted = []
        case .unavailable:
            result.limitsUnavailable = true
            result.accepted = []
        }
        return result
    }

    /// The topics of `topics` the policy now in force refuses, when it is not the one of `generation`
    /// (a reload while the subscribe waited for its limits); call under the session's lock, so that either
    /// this check or the reload's re-check sees every subscription.
    public func stillAllowed(_ subject: Subject, for topics: [String], since generation: UInt64) -> (subject: Subject, refused: [String]) {
        let evaluator = self.evaluator
        guard evaluator.policy.generation != generation else { return (subject, []) }
        let current = evaluator.current(subject)
        return (current, topics.filter { !evaluator.subscribe(current, topic: $0).isAllowed })
    }
}
