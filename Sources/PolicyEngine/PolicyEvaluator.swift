public import GatewayModel
public import PolicyLanguage

/// Decides every connect, subscribe, publish, poll and delivery against a ``CompiledPolicy``.
///
/// Pure and synchronous: no I/O, no clock, no locks. It returns the verdict, the enrichment and
/// redaction to apply and the ``LimitPlan`` to acquire; enforcing them is the caller's job.
///
/// ```swift
/// let evaluator = PolicyEvaluator(policy: policy, nodeRegion: "eu-west-1")
/// let decision = evaluator.decide(.subscribe(principal, topic: "deal.stage.*"), explain: true)
/// print(decision.reason, decision.trace ?? DecisionTrace())
/// ```
public struct PolicyEvaluator: Sendable {
    /// The policy decided against.
    public let policy: CompiledPolicy
    /// The region this node serves; `nil` serves every company (SPEC §6.5).
    public let nodeRegion: Region?
    let nodeRegionBit: UInt64
    /// The whitelist decided against: the policy's live rules, or its shadow view (``shadow``).
    let trie: TopicTrie
    /// Whether this evaluator decides the shadow view.
    public let isShadow: Bool
    /// Whether any plan limits `deliver`: when none does, fan-out skips the per-delivery limit lookup.
    public let hasDeliverLimits: Bool

    /// The role that sees PII unredacted.
    public static let piiReaderRole = "pii_reader"

    /// Creates an evaluator.
    /// - Parameters:
    ///   - policy: the compiled policy.
    ///   - nodeRegion: the node's `--region`, or `nil` for a node that serves every region.
    public init(policy: CompiledPolicy, nodeRegion: Region? = nil) {
        self.init(policy: policy, nodeRegion: nodeRegion, shadow: false)
    }

    private init(policy: CompiledPolicy, nodeRegion: Region?, shadow: Bool) {
        self.policy = policy
        self.nodeRegion = nodeRegion
        self.nodeRegionBit = nodeRegion.map { policy.tenants.bit(of: $0) } ?? 0
        self.trie = shadow ? policy.shadowTrie ?? policy.trie : policy.trie
        self.isShadow = shadow
        self.hasDeliverLimits = policy.plans.contains { !$0.limits(for: .deliver).isEmpty }
    }

    /// The evaluator of the policy as it would be with its `shadow: true` topic rules enforced, when
    /// it has any: the gate decides with it after an allow and logs what it would have refused.
    public var shadow: PolicyEvaluator? {
        guard !isShadow, policy.shadowTrie != nil else { return nil }
        return PolicyEvaluator(policy: policy, nodeRegion: nodeRegion, shadow: true)
    }

    /// Resolves a principal's roles and tenant against the policy.
    public func subject(for principal: Principal) -> Subject {
        let roles = policy.roles.set(of: principal.roles)
        return Subject(
            principal: principal,
            roles: roles,
            // A malformed company id (empty, spaces, non-ASCII) resolves to no tenant: it can neither
            // connect nor receive, and canonically equivalent Unicode spellings never meet.
            tenant: principal.companyID.flatMap { CompanyID.isWellFormed($0.rawValue) ? policy.tenants.tenant(for: $0.rawValue) : nil },
            readsPII: principal.roles.contains(Self.piiReaderRole),
            isService: principal.roles.contains("service"),
            isAdmin: principal.roles.contains("admin"),
            policyGeneration: policy.generation
        )
    }

    /// `subject` if it was resolved against this evaluator's policy, else the same principal
    /// resolved again: after a reload, a connection's subject is re-resolved before it is decided on.
    @inlinable public func current(_ subject: Subject) -> Subject {
        isCurrent(subject) ? subject : self.subject(for: subject.principal)
    }

    /// Whether `subject` was resolved against this evaluator's policy.
    public func isCurrent(_ subject: Subject) -> Bool { subject.policyGeneration == policy.generation }

    /// Decides any request.
    /// - Parameters:
    ///   - request: the question.
    ///   - explain: record a ``DecisionTrace`` of every check.
    public func decide(_ request: PolicyRequest, explain: Bool = false) -> Decision {
        let subject = subject(for: request.principal)
        var trace: DecisionTrace? = explain ? DecisionTrace() : nil
        var decision: Decision
        switch request {
        case .connect: decision = connect(subject, trace: &trace)
        case .subscribe(_, let topic): decision = subscribe(subject, topic: topic, trace: &trace)
        case .publish(_, let intent): decision = publish(subject, intent, trace: &trace)
        case .deliver(_, let intent):
            decision = self.decision(for: deliver(subject, route(intent), eventType: intent.eventType, trace: &trace), subject, intent)
        case .poll(_, let topics): decision = poll(subject, topics: topics, trace: &trace)
        }
        if explain {
            if decision.isAllowed { recordLimits(decision.limits, into: &trace) }
            decision.trace = trace
            if decision.location == nil, let rule = decision.ruleIndex { decision.location = policy.rules[rule].location }
        }
        return decision
    }

    /// The limits that apply to `action` for this subject's tenant.
    public func limits(for subject: Subject, action: LimitAction) -> LimitPlan {
        // A token without company (service, admin) is limited by the default tenant's plan.
        let tenant = subject.tenant ?? (subject.principal.companyID == nil ? policy.tenants.defaultTenant : nil)
        guard let plan = tenant?.planIndex else { return .none }
        return LimitPlan(limits: policy.plans[plan].limitsByAction[action.ordinal], subject: subject, company: nil)
    }

    /// Whether this node may hold the data of a tenant whose allowed regions are `regions`.
    func serves(_ regions: RegionSet) -> Bool {
        nodeRegion == nil || regions.contains(bit: nodeRegionBit)
    }

    func recordLimits(_ limits: LimitPlan, into trace: inout DecisionTrace?) {
        if limits.isEmpty {
            trace?.add("limits", passed: true, "no rate limit applies")
            return
        }
        for limit in limits.limits {
            let burst = limit.gcra.burst == limit.gcra.limit ? "" : ", burst \(limit.gcra.burst)"
            let shadow = limit.shadow ? " (shadow: counts, never refuses)" : ""
            let storeError = limit.shadow ? "" : "; if the store is unreachable: \(limit.onStoreError.rawValue) (on_store_error)"
            trace?.add(
                "limits",
                passed: true,
                "to acquire: \(limit.scope.rawValue) \(limit.action.rawValue) \(limit.gcra.limit) per \(Self.periodName(limit.gcra.periodNanos))\(burst) from plan '\(limit.plan)'\(shadow)\(storeError)",
                at: limit.location
            )
        }
    }

    static func periodName(_ nanos: Int64) -> String {
        LimitPeriod.allCases.first { $0.nanoseconds == nanos }?.rawValue ?? "\(nanos) ns"
    }
}
