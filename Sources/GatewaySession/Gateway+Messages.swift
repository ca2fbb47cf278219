import CoreMetrics
import Dispatch
import EventBus
import Foundation
import GatewayModel
import Logging
import NIOCore
import PolicyEngine
import PolicyLanguage
import Synchronization

extension Gateway {
    /// The per-connection message limit (``Configuration/maxMessagesPerSecond``, burst twice that).
    var messageRate: GCRA {
        GCRA(limit: configuration.maxMessagesPerSecond, periodNanos: 1_000_000_000, burst: 2 * configuration.maxMessagesPerSecond)
    }

    /// Handles one text frame from a client. Errors are answered with an `error` message and the
    /// connection lives on, except after too many invalid messages in a row (4008).
    public func handle(_ session: Session, text: String) async {
        guard session.admitMessage(messageRate, now: Int64(truncatingIfNeeded: DispatchTime.now().uptimeNanoseconds)) else {
            metrics.websocketErrors.increment()
            session.outbox.close(code: 4029, reason: "message rate exceeded")
            return
        }
        switch ClientMessage.parse(text) {
        case .failure(let problem):
            metrics.websocketErrors.increment()
            session.outbox.enqueue(text: ServerMessage.error(code: problem.code, message: problem.message, now: Timestamp.now()))
            let strikes = session.state.withLock { state -> Int in
                state.invalidMessages += 1
                return state.invalidMessages
            }
            if strikes >= configuration.maxInvalidMessages { session.outbox.close(code: 4008, reason: "too many invalid messages") }
        case .success(let message):
            session.state.withLock { $0.invalidMessages = 0 }
            switch message {
            case .subscribe(let topics): await subscribe(session, topics: topics)
            case .unsubscribe(let topics): unsubscribe(session, topics: topics)
            case .cursorUpdate(let cursor): await replay(session, from: cursor)
            case .ping: session.outbox.enqueue(text: ServerMessage.pong(now: Timestamp.now()))
            case .authRefresh(let token): await refresh(session, token: token)
            case .dashboardSubscribe: subscribeDashboard(session)
            }
        }
    }

    /// Subscribes to every allowed topic, answering refused ones with one `error` each.
    func subscribe(_ session: Session, topics: [String]) async {
        let evaluator = self.evaluator
        let subject = evaluator.current(session.subject)
        var accepted: [(String, TopicPattern)] = []
        var firstLimits: LimitPlan?
        let held = session.state.withLock { $0.subscriptions.count }
        var seen = Set<String>()
        for topic in topics where seen.insert(topic).inserted {
            if held + accepted.count >= configuration.maxSubscriptionsPerConnection {
                metrics.subscriptionErrors.increment()
                session.outbox.enqueue(
                    text: ServerMessage.error(
                        code: "forbidden",
                        message: "a connection may hold at most \(configuration.maxSubscriptionsPerConnection) subscriptions",
                        topic: topic,
                        now: Timestamp.now()
                    )
                )
                continue
            }
            let verdict = evaluator.subscribe(subject, topic: topic)
            var audited = AuditedDecision(
                action: .subscribe,
                reason: verdict.reason,
                company: session.companyID,
                topic: topic,
                connectionID: session.id
            )
            if verdict.isAllowed {
                if configuration.auditAllowedDecisions { audited.location = Self.location(ofRule: verdict.ruleIndex, in: evaluator.policy) }
            } else {
                // A refusal names the rule or setting that refused: the explained decision has it.
                var trace: DecisionTrace? = nil
                audited.location = evaluator.subscribe(subject, topic: topic, trace: &trace).location
            }
            audit(audited, policyVersion: evaluator.policy.version)
            if verdict.isAllowed, let shadow = evaluator.shadow {
                let wouldBe = shadow.subscribe(subject, topic: topic)
                if !wouldBe.isAllowed {
                    var trace: DecisionTrace? = nil
                    audited.reason = wouldBe.reason
                    audited.location = shadow.subscribe(subject, topic: topic, trace: &trace).location
                    auditShadow(audited, policyVersion: evaluator.policy.version)
                }
            }
            guard verdict.isAllowed, let pattern = try? TopicPattern(topic) else {
                metrics.subscriptionErrors.increment()
                let message = verdict.reason.wireCode == "invalid_topic" ? "Invalid topic" : "Forbidden topic"
                session.outbox.enqueue(
                    text: ServerMessage.error(code: verdict.reason.wireCode, message: message, topic: topic, now: Timestamp.now())
                )
                continue
            }
            if firstLimits == nil { firstLimits = evaluator.limits(for: subject, action: .subscribe) }
            accepted.append((topic, pattern))
        }
        guard !accepted.isEmpty else { return }
        // One subscribe message counts once against the subscribe limits, and is refused whole.
        if let limits = firstLimits, let refusal = await acquire(limits) {
            metrics.subscriptionErrors.increment()
            session.outbox.enqueue(
                text: ServerMessage.error(code: "rate_limited", message: "Rate limited", retryAfter: refusal.retryAfterSeconds, now: Timestamp.now())
            )
            return
        }
        // A reload during the wait for the limits: the policy now in force decides, under the session's lock,
        // so that either this check or the reload's re-check of the session sees every subscription.
        let refusedByReload = session.state.withLock { state -> [String] in
            let current = self.evaluator
            var refused: [String] = []
            if current.policy.generation != evaluator.policy.generation {
                let subject = current.current(state.subject)
                refused = accepted.map(\.0).filter { !current.subscribe(subject, topic: $0).isAllowed }
                accepted.removeAll { refused.contains($0.0) }
            }
            for (text, pattern) in accepted { state.subscriptions[text] = pattern }
            return refused
        }
        for topic in refusedByReload {
            metrics.subscriptionErrors.increment()
            session.outbox.enqueue(text: ServerMessage.error(code: "forbidden", message: "Forbidden topic", topic: topic, now: Timestamp.now()))
        }
        guard !accepted.isEmpty else { return }
        for (text, pattern) in accepted { registry.add(session, pattern: text, pattern) }
        let names = accepted.map(\.0)
        session.outbox.enqueue(text: ServerMessage.topics("subscription.confirmed", names, now: Timestamp.now()))
        logger.info(
            "subscription created",
            metadata: ["event": "subscription.created", "connection_id": "\(session.id)", "topics": "\(names.joined(separator: ","))"]
        )
    }

    /// Removes subscriptions; topics the connection did not hold are confirmed all the same.
    func unsubscribe(_ session: Session, topics: [String]) {
        let removed = session.state.withLock { state in topics.filter { state.subscriptions.removeValue(forKey: $0) != nil } }
        registry.remove(session, patterns: removed)
        session.outbox.enqueue(text: ServerMessage.topics("unsubscription.confirmed", topics, now: Timestamp.now()))
        logger.info(
            "subscription deleted",
            metadata: ["event": "subscription.deleted", "connection_id": "\(session.id)", "topics": "\(removed.joined(separator: ","))"]
        )
    }

    /// Replaces the token of a live connection: same user and company, a later expiry.
    func refresh(_ session: Session, token: String) async {
        guard let authenticator else {
            session.outbox.enqueue(text: ServerMessage.error(code: "internal", message: "token refresh is not available", now: Timestamp.now()))
            return
        }
        let verified: Authenticator.Verified
        do {
            verified = try await authenticator.verify(token)
        } catch {
            session.outbox.close(code: 4001, reason: String(error.description.prefix(32)))
            return
        }
        // A session without company (service, admin) has the empty company id.
        guard verified.principal.userID == session.userID, (verified.principal.companyID ?? CompanyID("")) == session.companyID else {
            session.outbox.close(code: 4001, reason: "token names another user")
            return
        }
        var principal = verified.principal
        principal.ip = session.subject.principal.ip
        let subject = evaluator.subject(for: principal)
        session.state.withLock { state in
            state.subject = subject
            state.expiresAtMillis = verified.expiresAtMillis
        }
        session.outbox.enqueue(text: ServerMessage.authRefreshed(expiresAt: Timestamp.rfc3339(millis: verified.expiresAtMillis)))
    }
}
