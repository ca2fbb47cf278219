import CoreMetrics
import EventBus
import Foundation
import GatewayModel
import Logging
import NIOCore
import PolicyEngine
import PolicyLanguage
import Synchronization

extension Gateway {
    /// Fan-out of one event that is in the log: the policy routes it once, then each subscriber of the
    /// event's company whose subscription matches gets the delivery check; the event is encoded once
    /// per distinct redaction variant and the same bytes are queued to every connection of that variant.
    func fanOut(_ event: StoredEvent) {
        pollWaiters.notify(event.companyID)
        if Self.isNotice(event) { return deliverNotice(event) }
        let subscribers = registry.subscribers(company: event.companyID, eventType: event.eventType)
        guard !subscribers.isEmpty, !isForgotten(event) else { return }
        let evaluator = self.evaluator
        let route = evaluator.route(event)
        var variants = EventVariants(event: event, policy: evaluator.policy)
        var delivered = 0
        var denied = 0
        var dropped = 0
        for session in subscribers {
            let subject = evaluator.current(session.subject)
            let verdict = evaluator.deliver(subject, route)
            guard verdict.isAllowed, let frame = variants.frame(redacting: verdict.redactionMask) else {
                denied += 1
                audit(
                    AuditedDecision(
                        action: .deliver,
                        reason: verdict.isAllowed ? .topicMalformed : verdict.reason,
                        location: Self.location(ofRule: verdict.ruleIndex, in: evaluator.policy),
                        company: event.companyID,
                        topic: event.eventType,
                        connectionID: session.id
                    ),
                    policyVersion: evaluator.policy.version
                )
                continue
            }
            guard withinDeliverLimits(session, subject, evaluator) else {
                dropped += 1
                continue
            }
            switch session.offerLive(position: event.position, frame: frame) {
            case .queued: delivered += 1
            case .deferred: break
            case .dropped: dropped += 1
            }
        }
        metrics.delivered.increment(by: Int64(delivered))
        dashboard.delivered.add(delivered, ordering: .relaxed)
        if dropped > 0 { metrics.dropped.increment(by: Int64(dropped)) }
        // Allowed deliveries are counted in bulk; each refusal was audited above.
        metrics.decision(action: "deliver", reason: "allowed", count: subscribers.count - denied)
        let latency = Timestamp.nowMillis() - event.createdAtMillis
        metrics.deliveryLatency.recordMilliseconds(max(0, latency))
        logger.debug(
            "event delivered",
            metadata: [
                "event": "event.delivered", "event_id": "\(event.eventID)", "event_type": "\(event.eventType)",
                "deliveries": "\(delivered)", "refused": "\(denied)", "dropped": "\(dropped)",
            ]
        )
    }

    /// The plan's `deliver` limits for one live delivery (SPEC §6.4), when it has any. A connection over
    /// them is closed with 4029 (transient: clients reconnect after a pause and resume by cursor), so no
    /// event is skipped silently: the deliveries it missed come back by replay, which the reader paces
    /// and which does not count. A store that can only answer by waiting (a shared one) is not consulted
    /// on the fan-out path.
    func withinDeliverLimits(_ session: Session, _ subject: Subject, _ evaluator: PolicyEvaluator) -> Bool {
        guard evaluator.hasDeliverLimits else { return true }
        let plan = evaluator.limits(for: subject, action: .deliver)
        guard !plan.isEmpty, let outcomes = rateLimits.acquireWithoutWaiting(plan.checks) else { return true }
        guard let refusing = outcomes.first(where: { !$0.allowed }) else { return true }
        let now = Timestamp.nowMillis()
        let first = session.state.withLock { state -> Bool in
            guard now >= state.deliverLimitedUntilMillis else { return false }
            state.deliverLimitedUntilMillis = now + Int64((refusing.retryAfterSeconds * 1000).rounded(.up))
            return true
        }
        if first {
            metrics.rateLimitRefused.increment()
            logger.info(
                "rate limit refused",
                metadata: ["event": "ratelimit.refused", "action": "deliver", "company_id": "\(session.companyID.rawValue)"]
            )
            session.outbox.close(code: 4029, reason: "delivery rate limited")
        }
        return false
    }

    /// `cursor.update`: replays every stored event after the cursor that matches the connection's
    /// subscriptions and that the policy lets it see, in log order, then hands over to live delivery
    /// without a gap (see ``Session``).
    func replay(_ session: Session, from cursor: String) async {
        let start: Int64
        do {
            switch try await log.resolve(cursor: cursor, company: session.companyID) {
            case .after(let position): start = position
            case .expired:
                session.outbox.enqueue(
                    text: ServerMessage.error(code: "cursor_expired", message: "cursor is older than the retained history", now: Timestamp.now())
                )
                return
            case .malformed:
                session.outbox.enqueue(text: ServerMessage.error(code: "invalid_message", message: "'cursor' is not a cursor", now: Timestamp.now()))
                return
            }
        } catch {
            session.outbox.enqueue(text: ServerMessage.error(code: "internal", message: "the event log is unavailable", now: Timestamp.now()))
            return
        }
        guard session.beginReplay() else {
            session.outbox.enqueue(text: ServerMessage.error(code: "invalid_message", message: "a replay is already running", now: Timestamp.now()))
            return
        }
        var position = start
        var replayed = 0
        do {
            while true {
                // Paced by the reader: a client far behind is replayed as fast as it reads, never dropped for it.
                guard !Task.isCancelled, await session.outbox.waitUntilWritable() else { break }
                let page = try await log.read(after: position, company: session.companyID, limit: configuration.replayPageSize)
                let evaluator = self.evaluator
                let subject = evaluator.current(session.subject)
                for event in page.events {
                    position = event.position
                    let notice = Self.isNotice(event)
                    guard notice || session.matches(event.eventType) else { continue }
                    guard !isForgotten(event), let mask = notice ? 0 : evaluator.redactionMask(for: event, to: subject) else { continue }
                    var variants = EventVariants(event: event, policy: evaluator.policy)
                    guard let frame = variants.frame(redacting: mask) else { continue }
                    guard await session.outbox.waitUntilWritable() else {
                        // Not reading for 30 s (or closing): give up the replay; the client resumes by cursor later.
                        session.outbox.close(code: 1008, reason: "slow consumer")
                        break
                    }
                    session.queueReplayed(position: event.position, frame: frame)
                    replayed += 1
                }
                if session.outbox.isClosing { break }
                if page.events.count == configuration.replayPageSize { continue }
                // Read up to the snapshot's head: nothing of this company lies between.
                position = max(position, page.head)
                if session.outbox.isClosing { break }
                if session.finishReplay(at: position, message: ServerMessage.cursorResumed(cursor: String(position), replayed: replayed)) {
                    return
                }
            }
            session.abortReplay()
        } catch {
            session.abortReplay()
            logger.error("replay failed", metadata: ["event": "websocket.error", "connection_id": "\(session.id)", "error": "\(error)"])
            session.outbox.enqueue(text: ServerMessage.error(code: "internal", message: "replay failed", now: Timestamp.now()))
        }
    }
}

extension PolicyEvaluator {
    /// Looks a stored event up once for all of its deliveries.
    func route(_ event: StoredEvent) -> DeliveryRoute {
        route(eventType: event.eventType, companyID: event.companyID)
    }

    /// The delivery check of a stored event for one reader (replay, polling): its redaction mask when the
    /// reader may see it, `nil` when not.
    func redactionMask(for event: StoredEvent, to subject: Subject) -> UInt64? {
        let verdict = deliver(subject, route(event))
        return verdict.isAllowed ? verdict.redactionMask : nil
    }
}

/// The encodings of one event, one per redaction mask, built on first use.
struct EventVariants {
    let event: StoredEvent
    let policy: CompiledPolicy
    private var frames: [UInt64: ByteBuffer] = [:]
    private var envelopes: [UInt64: String] = [:]
    private var decoded: JSONValue?

    init(event: StoredEvent, policy: CompiledPolicy) {
        self.event = event
        self.policy = policy
    }

    /// The envelope with the PII paths of `mask` replaced by `"[redacted]"`; `nil` only if the stored
    /// envelope cannot be parsed (it always can: the gateway wrote it).
    mutating func envelope(redacting mask: UInt64) -> String? {
        if mask == 0 { return event.envelope }
        if let envelope = envelopes[mask] { return envelope }
        if decoded == nil { decoded = try? JSONValue(parsing: event.envelope) }
        guard case .object(var envelope)? = decoded, let data = envelope["data"] else { return nil }
        envelope["data"] = Redaction(paths: policy.piiPaths(in: mask)).apply(to: data)
        var json = JSONWriter()
        json.value(.object(envelope))
        envelopes[mask] = json.text
        return json.text
    }

    /// The `event` message for the variant `mask`, encoded once.
    mutating func frame(redacting mask: UInt64) -> ByteBuffer? {
        if let frame = frames[mask] { return frame }
        guard let envelope = envelope(redacting: mask) else { return nil }
        let frame = ByteBuffer(string: ServerMessage.event(envelope: envelope))
        frames[mask] = frame
        return frame
    }
}
