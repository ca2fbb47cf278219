public import GatewayModel
public import PolicyEngine
public import PolicyLanguage

extension PolicyGate {
    /// What a live connection keeps after a policy swap.
    public struct Recheck: Sendable {
        /// The principal resolved against the new policy.
        public var subject: Subject
        /// The close reason (≤ 32 bytes) when the company may no longer connect here (4003); `nil` when it may.
        public var closeReason: String?
        /// The subscriptions the new policy no longer allows, sorted.
        public var dropped: [String]
    }

    /// Makes `policy` the active one (SPEC §6.8): every decision after this uses it. Returns the version it
    /// replaced; the caller then re-checks each live connection with ``recheck(_:subscriptions:)``.
    @discardableResult
    public func replace(with policy: CompiledPolicy) -> String {
        active.replace(with: policy).policy.version
    }

    /// Re-decides a live connection under the policy in force: its company as on connect, each of its
    /// subscriptions as on subscribe.
    public func recheck(_ principal: Principal, subscriptions: some Sequence<String>) -> Recheck {
        let evaluator = self.evaluator
        let subject = evaluator.subject(for: principal)
        var trace: DecisionTrace? = nil
        let admission = evaluator.connect(subject, trace: &trace)
        guard admission.isAllowed else {
            let reason =
                admission.reason == .regionNotServed
                ? subject.tenant.map { "home region \($0.homeRegion.rawValue)" } ?? "forbidden" : "forbidden by policy"
            return Recheck(subject: subject, closeReason: String(reason.prefix(32)), dropped: [])
        }
        let dropped = subscriptions.filter { !evaluator.subscribe(subject, topic: $0).isAllowed }.sorted()
        return Recheck(subject: subject, closeReason: nil, dropped: dropped)
    }
}
