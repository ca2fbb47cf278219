import CoreMetrics
import EventBus
import Foundation
public import GatewayModel
import Logging
import NIOCore
import PolicyEngine
import PolicyLanguage
import Synchronization

extension Gateway {
    /// The answer to one publish.
    public enum PublishResult: Sendable, Equatable {
        /// 202: the event is durable (or was already, for a duplicate idempotency key).
        case accepted(eventID: String, cursor: String, duplicate: Bool)
        /// Refused: HTTP status, error code and message; `rateLimit` for 429.
        case refused(status: Int, code: String, message: String, rateLimit: RateLimitOutcome?)
    }

    static let shuttingDownRefusal = PublishResult.refused(
        status: 503,
        code: "unavailable",
        message: "the gateway is shutting down; retry on another node with the same idempotency_key",
        rateLimit: nil
    )

    /// The most events one batch publish may carry.
    public static let maximumBatch = 1000

    /// Publishes one event given as the JSON body of `POST /api/realtime/publish/` (already parsed).
    public func publish(_ principal: Principal, body: JSONValue) async -> PublishResult {
        if shuttingDown.load(ordering: .acquiring) { return Self.shuttingDownRefusal }
        switch prepare(principal, body: body) {
        case .failure(let refusal): return refusal.result
        case .success(let prepared):
            if let refusal = await acquire(prepared.limits) {
                return .refused(status: 429, code: "rate_limited", message: "rate limit exceeded", rateLimit: refusal)
            }
            return await commit([prepared])[0]
        }
    }

    /// Publishes a batch (`{"events":[...]}`): each event is decided on its own; the accepted ones are
    /// appended together, in the order given. Returns one result per event.
    public func publishBatch(_ principal: Principal, events: [JSONValue]) async -> [PublishResult] {
        if shuttingDown.load(ordering: .acquiring) { return events.map { _ in Self.shuttingDownRefusal } }
        var results = [PublishResult?](repeating: nil, count: events.count)
        var accepted: [(Int, PreparedEvent)] = []
        for (index, body) in events.enumerated() {
            switch prepare(principal, body: body) {
            case .failure(let refusal): results[index] = refusal.result
            case .success(let prepared):
                if let refusal = await acquire(prepared.limits) {
                    results[index] = .refused(status: 429, code: "rate_limited", message: "rate limit exceeded", rateLimit: refusal)
                } else {
                    accepted.append((index, prepared))
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

    struct PublishRefusal: Error {
        var status: Int
        var code: String
        var message: String
        var result: PublishResult { .refused(status: status, code: code, message: message, rateLimit: nil) }
    }

    /// Validates the body, asks the policy, and builds the envelope.
    func prepare(_ principal: Principal, body: JSONValue) -> Result<PreparedEvent, PublishRefusal> {
        let request: PublishRequest
        switch PublishRequest.parse(body) {
        case .failure(let problem): return .failure(PublishRefusal(status: 400, code: "invalid_message", message: problem.message))
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
            audit(audited, policyVersion: evaluator.policy.version)
            return .failure(PublishRefusal(status: decision.reason.httpStatus, code: decision.reason.rawValue, message: decision.message))
        }
        let enrichment = evaluator.enrich(request.intent, verdict)
        if let subjectID = enrichment.gdpr.dataSubjectID, isForgotten(subjectID, company: enrichment.companyID) {
            audited.reason = .subjectForgotten
            audit(audited, policyVersion: evaluator.policy.version)
            return .failure(
                PublishRefusal(status: 403, code: "subject_forgotten", message: "the event's data subject was erased (GDPR); its events are refused")
            )
        }
        if configuration.auditAllowedDecisions { audited.location = Self.location(ofRule: verdict.ruleIndex, in: evaluator.policy) }
        audit(audited, policyVersion: evaluator.policy.version)
        if let shadow = evaluator.shadow {
            let wouldBe = shadow.publish(subject, request.intent)
            if !wouldBe.isAllowed {
                var trace: DecisionTrace? = nil
                audited.reason = wouldBe.reason
                audited.location = shadow.publish(subject, request.intent, trace: &trace).location
                auditShadow(audited, policyVersion: evaluator.policy.version)
            }
        }
        let millis = Timestamp.nowMillis()
        let eventID = ids.next(millis: millis)
        let gdpr = enrichment.gdpr
        var json = JSONWriter(capacity: 512)
        json.raw(#"{"event_id":"#)
        json.string(eventID)
        json.raw(#","event_type":"#)
        json.string(request.intent.eventType)
        json.raw(#","timestamp":"#)
        json.string(Timestamp.rfc3339(millis: millis))
        json.raw(#","data":"#)
        json.value(request.intent.data)
        json.raw(#","metadata":{"region":"#)
        json.string(enrichment.region.rawValue)
        json.raw(#","idempotency_key":"#)
        let idempotencyKey = request.idempotencyKey ?? eventID
        json.string(idempotencyKey)
        json.raw(#","company_id":"#)
        json.string(enrichment.companyID.rawValue)
        let retention = gdpr.retentionDays ?? 365
        if configuration.gdprEnabled {
            json.raw(#","gdpr_context":{"#)
            var first = true
            func field(_ name: String, _ write: (inout JSONWriter) -> Void) {
                if !first { json.raw(",") }
                first = false
                json.string(name)
                json.raw(":")
                write(&json)
            }
            if let consent = gdpr.consent { field("consent") { $0.raw(consent ? "true" : "false") } }
            if let purpose = gdpr.purpose { field("purpose") { $0.string(purpose) } }
            field("retention_days") { $0.integer(Int64(retention)) }
            if let subjectID = gdpr.dataSubjectID { field("data_subject_id") { $0.string(subjectID) } }
            if let basis = gdpr.legalBasis { field("legal_basis") { $0.string(basis) } }
            json.raw("}")
        }
        json.raw("}}")
        let stored = StoredEvent(
            position: 0,
            eventID: eventID,
            eventType: request.intent.eventType,
            companyID: enrichment.companyID,
            region: enrichment.region,
            dataSubjectID: gdpr.dataSubjectID,
            retentionDays: retention,
            createdAtMillis: millis,
            envelope: json.text
        )
        return .success(
            PreparedEvent(
                event: NewEvent(event: stored, idempotencyKey: idempotencyKey),
                limits: evaluator.limits(forPublishing: request.intent, verdict, by: subject)
            )
        )
    }

    /// Appends prepared events through the pipeline (durable before this returns).
    func commit(_ prepared: [PreparedEvent]) async -> [PublishResult] {
        do {
            let outcomes = try await pipeline.submit(prepared.map(\.event))
            return outcomes.map { outcome in
                switch outcome {
                case .appended(let event):
                    logger.debug(
                        "event published",
                        metadata: [
                            "event": "event.published", "event_id": "\(event.eventID)", "event_type": "\(event.eventType)",
                            "region": "\(event.region.rawValue)",
                        ]
                    )
                    return .accepted(eventID: event.eventID, cursor: event.cursor, duplicate: false)
                case .subjectForgotten:
                    return .refused(
                        status: 403,
                        code: "subject_forgotten",
                        message: "the event's data subject was erased (GDPR); its events are refused",
                        rateLimit: nil
                    )
                case .duplicate(let eventID, let position):
                    return .accepted(eventID: eventID, cursor: String(position), duplicate: true)
                }
            }
        } catch {
            logger.error("event log append failed", metadata: ["event": "event.published", "error": "\(error)"])
            return prepared.map { _ in
                .refused(
                    status: 503,
                    code: "unavailable",
                    message: "the event log is unavailable; retry with the same idempotency_key",
                    rateLimit: nil
                )
            }
        }
    }
}

/// The body of a publish, validated field by field (SPEC §2).
struct PublishRequest {
    var intent: PublishIntent
    var idempotencyKey: String?

    static let fields: Set<String> = ["event_type", "data", "region", "gdpr_context", "idempotency_key"]

    struct Problem: Error {
        var message: String
    }

    static func parse(_ body: JSONValue) -> Result<PublishRequest, Problem> {
        guard case .object(let object) = body else { return .failure(Problem(message: "the body must be a JSON object")) }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            return .failure(
                Problem(message: "unknown field '\(unknown.prefix(64))'; expected event_type, data, region, gdpr_context, idempotency_key")
            )
        }
        guard case .string(let eventType)? = object["event_type"] else { return .failure(Problem(message: "'event_type' must be a string")) }
        guard case .object? = object["data"], let data = object["data"] else { return .failure(Problem(message: "'data' must be a JSON object")) }
        var region: String?
        switch object["region"] {
        case nil, .null?: break
        case .string(let value)?: region = value
        default: return .failure(Problem(message: "'region' must be a string"))
        }
        var key: String?
        switch object["idempotency_key"] {
        case nil, .null?: break
        case .string(let value)? where (1...255).contains(value.utf8.count): key = value
        default: return .failure(Problem(message: "'idempotency_key' must be a string of 1-255 bytes"))
        }
        var gdpr: GDPRContext?
        switch object["gdpr_context"] {
        case nil, .null?: break
        case .object(let fields)?:
            var context = GDPRContext()
            for (name, value) in fields {
                switch (name, value) {
                case (_, .null): continue
                case ("consent", .bool(let flag)): context.consent = flag
                case ("purpose", .string(let text)): context.purpose = text
                case ("retention_days", .number(let days)):
                    guard let whole = retentionDays(days) else {
                        return .failure(Problem(message: "'gdpr_context.retention_days' has the wrong type"))
                    }
                    context.retentionDays = whole
                case ("data_subject_id", _) where value.identifierString != nil: context.dataSubjectID = value.identifierString
                case ("legal_basis", .string(let text)): context.legalBasis = text
                case ("consent", _), ("purpose", _), ("retention_days", _), ("data_subject_id", _), ("legal_basis", _):
                    return .failure(Problem(message: "'gdpr_context.\(name)' has the wrong type"))
                default:
                    return .failure(Problem(message: "unknown field 'gdpr_context.\(name.prefix(64))'"))
                }
            }
            gdpr = context
        default: return .failure(Problem(message: "'gdpr_context' must be a JSON object"))
        }
        return .success(PublishRequest(intent: PublishIntent(eventType: eventType, data: data, region: region, gdpr: gdpr), idempotencyKey: key))
    }

    /// `retention_days` as a whole number of days below 10^9: an integer literal, or a number with a
    /// fraction or exponent whose value is whole (`30.0`, `3e1`), as before literals were kept.
    static func retentionDays(_ number: JSONNumber) -> Int? {
        if let days = number.int64Value { return abs(days) < 1_000_000_000 ? Int(days) : nil }
        let days = number.doubleValue
        guard days == days.rounded(), abs(days) < 1e9 else { return nil }
        return Int(days)
    }
}
