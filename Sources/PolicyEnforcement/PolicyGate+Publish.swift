import EventBus
public import GatewayModel
import Logging
import PolicyEngine
import PolicyLanguage

extension PolicyGate {
    /// A publish the gate accepted: 202 with these fields.
    public struct Accepted: Sendable, Equatable {
        /// The event's id (the original one for a duplicate).
        public var eventID: String
        /// The cursor that resumes after it.
        public var cursor: String
        /// Whether the idempotency key was seen within the dedup window.
        public var duplicate: Bool
    }

    /// The most events one batch publish may carry.
    public static let maximumBatch = 1000

    /// Publishes one event given as the JSON body of `POST /api/realtime/publish/`: parses the body,
    /// decides, checks erasure, audits, runs the shadow dry run, acquires the publish limits, enriches and
    /// appends. Returns once the event is durable.
    public func publish(_ principal: Principal, body: JSONValue) async -> Result<Accepted, GateRefusal> {
        await publishBatch(principal, events: [body])[0]
    }

    /// Publishes a batch: each event is decided on its own; the accepted ones are appended together,
    /// in the order given. One result per event.
    public func publishBatch(_ principal: Principal, events: [JSONValue]) async -> [Result<Accepted, GateRefusal>] {
        var results = [Result<Accepted, GateRefusal>?](repeating: nil, count: events.count)
        var accepted: [(Int, PreparedEvent)] = []
        for (index, body) in events.enumerated() {
            switch prepare(principal, body: body) {
            case .failure(let refusal): results[index] = .failure(refusal)
            case .success(let prepared):
                switch await limits.acquire(prepared.limits) {
                case .proceed: accepted.append((index, prepared))
                case .refused(let refusal): results[index] = .failure(.rateLimited(refusal))
                case .unavailable: results[index] = .failure(.limitsUnavailable)
                }
            }
        }
        if !accepted.isEmpty {
            let committed = await commit(accepted.map(\.1))
            for ((index, _), result) in zip(accepted, committed) { results[index] = result }
        }
        return results.map { $0! }
    }

    struct PreparedEvent {
        var event: NewEvent
        var limits: LimitPlan
    }

    /// Validates the body, asks the policy, and builds the envelope.
    func prepare(_ principal: Principal, body: JSONValue) -> Result<PreparedEvent, GateRefusal> {
        let request: PublishRequest
        switch PublishRequest.parse(body) {
        case .failure(let problem): return .failure(GateRefusal(problem.code, problem.message))
        case .success(let parsed): request = parsed
        }
        let evaluator = self.evaluator
        let subject = evaluator.subject(for: principal)
        let verdict = evaluator.publish(subject, request.intent)
        let company = request.intent.companyText.map { CompanyID($0) }
        var audited = AuditedDecision(action: .publish, reason: verdict.reason, company: company, topic: request.intent.eventType)
        guard verdict.isAllowed else {
            // The refusal's message and location come from the explained decision; refusals are the rare path.
            var trace: DecisionTrace? = nil
            let decision = evaluator.publish(subject, request.intent, trace: &trace)
            audited.location = decision.location
            audit.record(audited, policyVersion: evaluator.policy.version)
            return .failure(GateRefusal(decision))
        }
        let enrichment = evaluator.enrich(request.intent, verdict)
        // Every subject the event names: the publisher's `gdpr_context.data_subject_id` does not hide the one in its data.
        if enrichment.dataSubjectIDs.contains(where: { forgotten.contains($0, company: enrichment.companyID) }) {
            audited.reason = .subjectForgotten
            audit.record(audited, policyVersion: evaluator.policy.version)
            return .failure(.subjectForgotten)
        }
        if audit.auditAllowed { audited.location = PolicyAudit.location(ofRule: verdict.ruleIndex, in: evaluator.policy) }
        audit.record(audited, policyVersion: evaluator.policy.version)
        if let shadow = evaluator.shadow {
            let wouldBe = shadow.publish(subject, request.intent)
            if !wouldBe.isAllowed {
                var trace: DecisionTrace? = nil
                audited.reason = wouldBe.reason
                audited.location = shadow.publish(subject, request.intent, trace: &trace).location
                audit.recordShadow(audited, policyVersion: evaluator.policy.version)
            }
        }
        let millis = Timestamp.nowMillis()
        let eventID = ids.next(millis: millis)
        let idempotencyKey = request.idempotencyKey ?? eventID
        let retention = enrichment.gdpr.retentionDays ?? 365
        let envelope = EnvelopeWriter.envelope(
            eventID: eventID,
            eventType: request.intent.eventType,
            millis: millis,
            data: request.intent.data,
            region: enrichment.region,
            idempotencyKey: idempotencyKey,
            company: enrichment.companyID,
            gdpr: configuration.gdprEnabled ? enrichment.gdpr : nil,
            retentionDays: retention
        )
        let stored = StoredEvent(
            position: 0,
            eventID: eventID,
            eventType: request.intent.eventType,
            companyID: enrichment.companyID,
            region: enrichment.region,
            dataSubjectID: enrichment.gdpr.dataSubjectID,
            retentionDays: retention,
            createdAtMillis: millis,
            envelope: envelope
        )
        return .success(
            PreparedEvent(
                event: NewEvent(event: stored, idempotencyKey: idempotencyKey, otherDataSubjectIDs: Array(enrichment.dataSubjectIDs.dropFirst())),
                limits: evaluator.limits(forPublishing: request.intent, verdict, by: subject)
            )
        )
    }

    /// Appends prepared events through the pipeline (durable before this returns).
    func commit(_ prepared: [PreparedEvent]) async -> [Result<Accepted, GateRefusal>] {
        do {
            let outcomes = try await pipeline.submit(prepared.map(\.event))
            return outcomes.map { outcome in
                switch outcome {
                case .appended(let event):
                    logger.debug(
                        "event published",
                        metadata: [
                            LogKey.event: "event.published", LogKey.eventID: "\(event.eventID)", LogKey.eventType: "\(event.eventType)",
                            LogKey.region: "\(event.region.rawValue)",
                        ]
                    )
                    return .success(Accepted(eventID: event.eventID, cursor: event.cursor, duplicate: false))
                case .subjectForgotten:
                    return .failure(.subjectForgotten)
                case .duplicate(let eventID, let position):
                    return .success(Accepted(eventID: eventID, cursor: String(position), duplicate: true))
                }
            }
        } catch {
            logger.error("event log append failed", metadata: [LogKey.event: "event.published", LogKey.error: "\(error)"])
            return prepared.map { _ in .failure(.unavailable("the event log is unavailable; retry with the same idempotency_key")) }
        }
    }
}
