public import GatewayModel
public import PolicyEngine
import PolicyLanguage

extension PolicyGate {
    /// The event type of erasure notices: they go to every connection of their company, whatever it
    /// subscribed to, and are not a policy-whitelisted event type.
    public static let forgottenEventType = "gdpr.subject.forgotten"

    /// Whether `event` is an erasure notice.
    public static func isNotice(_ event: StoredEvent) -> Bool { event.eventType == forgottenEventType }

    /// Starts the fan-out of one event that is in the log: routed once by the policy in force, then
    /// checked per subscriber with ``DeliveryRound/admit(_:connectionID:)``. `nil` when nobody may have it
    /// (its data subject was erased).
    public func deliveries(of event: StoredEvent) -> DeliveryRound? {
        guard !forgotten.contains(event) else { return nil }
        // An erasure made on another node reaches this one as its notice: from now on this node skips the
        // subject's events too (the shared log already refuses and removed them).
        if Self.isNotice(event), let value = try? JSONValue(parsing: event.envelope),
            case .string(let subject) = value.value(atPath: "data.data_subject_id")
        {
            forgotten.insert(ForgottenSubject(dataSubjectID: subject, company: event.companyID))
        }
        return DeliveryRound(gate: self, event: event, evaluator: evaluator)
    }

    /// Acquires the plan's `deliver` limits for one live delivery to `subject` (SPEC §6.4); the refusing
    /// outcome when they refuse. A shared store that cannot answer at once is awaited, never skipped.
    public func acquireDeliverLimits(_ subject: Subject) async -> RateLimitOutcome? {
        let evaluator = self.evaluator
        guard evaluator.hasDeliverLimits else { return nil }
        switch await limits.acquire(evaluator.limits(for: evaluator.current(subject), action: .deliver)) {
        case .proceed: return nil
        case .refused(let refusal): return refusal
        case .unavailable: return LimitEnforcer.storeFailure
        }
    }
}

/// One event's deliveries: the delivery decision per subscriber (isolation, residency, redaction),
/// refusals audited one by one, allowed ones counted in bulk by ``finish()``, and one envelope per
/// redaction variant shared by every subscriber of that variant.
public struct DeliveryRound {
    let gate: PolicyGate
    /// The event delivered.
    public let event: StoredEvent
    let evaluator: PolicyEvaluator
    let route: DeliveryRoute
    private var variants: EnvelopeVariants
    private var allowed = 0

    init(gate: PolicyGate, event: StoredEvent, evaluator: PolicyEvaluator) {
        self.gate = gate
        self.event = event
        self.evaluator = evaluator
        self.route = evaluator.route(eventType: event.eventType, companyID: event.companyID)
        self.variants = EnvelopeVariants(event: event, policy: evaluator.policy)
    }

    /// Whether the active policy has `deliver` limits (then call ``PolicyGate/acquireDeliverLimits(_:)``).
    public var hasDeliverLimits: Bool { evaluator.hasDeliverLimits }

    /// The redaction mask for `subject` when it may receive the event, `nil` (audited) when not.
    public mutating func admit(_ subject: Subject, connectionID: String) -> UInt64? {
        let verdict = evaluator.deliver(evaluator.current(subject), route)
        if verdict.isAllowed {
            allowed += 1
            return verdict.redactionMask
        }
        gate.audit.record(
            AuditedDecision(
                action: .deliver,
                reason: verdict.reason,
                location: PolicyAudit.location(ofRule: verdict.ruleIndex, in: evaluator.policy),
                company: event.companyID,
                topic: event.eventType,
                connectionID: connectionID
            ),
            policyVersion: evaluator.policy.version
        )
        return nil
    }

    /// The envelope for a mask ``admit(_:connectionID:)`` returned, encoded once per mask; `nil` only if the
    /// stored envelope cannot be parsed for redaction (it always can: the gateway wrote it).
    public mutating func envelope(redacting mask: UInt64) -> String? { variants.envelope(redacting: mask) }

    /// Counts the allowed deliveries of this round in `policy_decisions_total`.
    public func finish() { gate.audit.recordAllowedDeliveries(allowed) }
}
