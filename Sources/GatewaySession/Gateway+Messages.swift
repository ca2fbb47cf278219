import CoreMetrics
import Dispatch
import GatewayModel
import Logging
import PolicyEnforcement
import PolicyEngine
import Synchronization

extension Gateway {
    /// The per-connection message limit (``Configuration/maxMessagesPerSecond``, burst twice that).
    var messageRate: GCRA {
        GCRA(limit: configuration.maxMessagesPerSecond, periodNanos: 1_000_000_000, burst: 2 * configuration.maxMessagesPerSecond)
    }

    /// Handles one text frame from a client. Errors are answered with an `error` message and the
    /// connection lives on, except after too many invalid messages in a row (4008).
    public func handle(_ session: Session, text: String) async {
        guard admit(session) else { return }
        switch ClientMessage.parse(text) {
        case .failure(let problem): refuse(session, code: problem.code, message: problem.message)
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

    /// Handles one binary message: the protocol is JSON text, so it is an invalid message (answered with an
    /// `error`, and counted like any other toward 4008).
    public func handleBinary(_ session: Session) {
        guard admit(session) else { return }
        refuse(session, code: .invalidMessage, message: "binary frames are not supported: send JSON as text frames")
    }

    /// Counts one client message against the connection's message rate; closes it with 4029 when it sends too fast.
    private func admit(_ session: Session) -> Bool {
        guard session.admitMessage(messageRate, now: Int64(truncatingIfNeeded: DispatchTime.now().uptimeNanoseconds)) else {
            metrics.websocketErrors.increment()
            session.outbox.close(.rateLimited, reason: "message rate exceeded")
            return false
        }
        return true
    }

    /// Answers an invalid message with an `error`; too many in a row close the connection with 4008.
    private func refuse(_ session: Session, code: ErrorCode, message: String) {
        metrics.websocketErrors.increment()
        session.outbox.enqueue(text: ServerMessage.error(code: code, message: message, now: Timestamp.now()))
        let strikes = session.state.withLock { state -> Int in
            state.invalidMessages += 1
            return state.invalidMessages
        }
        if strikes >= configuration.maxInvalidMessages { session.outbox.close(.policyViolation) }
    }

    /// Subscribes to every topic the gate allows, answering refused ones with one `error` each.
    func subscribe(_ session: Session, topics: [String]) async {
        let held = session.state.withLock { $0.subscriptions.count }
        let result = await gate.subscribe(
            session.subject,
            topics: topics,
            held: held,
            maximum: configuration.maxSubscriptionsPerConnection,
            connectionID: session.id,
            company: session.companyID
        )
        for refused in result.refused {
            metrics.subscriptionErrors.increment()
            session.outbox.enqueue(
                text: ServerMessage.error(code: refused.code, message: refused.message, topic: refused.topic, now: Timestamp.now())
            )
        }
        if result.limitsUnavailable {
            metrics.subscriptionErrors.increment()
            session.outbox.enqueue(
                text: ServerMessage.error(code: .unavailable, message: "Rate limits unavailable; retry", now: Timestamp.now())
            )
            return
        }
        if let limited = result.rateLimited {
            metrics.subscriptionErrors.increment()
            session.outbox.enqueue(
                text: ServerMessage.error(code: .rateLimited, message: "Rate limited", retryAfter: limited.retryAfterSeconds, now: Timestamp.now())
            )
            return
        }
        var accepted = result.accepted
        guard !accepted.isEmpty else { return }
        // A reload during the wait for the limits: the policy now in force decides, under the session's lock,
        // so that either this check or the reload's re-check of the session sees every subscription.
        let refusedByReload = session.state.withLock { state -> [String] in
            let (subject, refused) = gate.stillAllowed(state.subject, for: accepted.map(\.topic), since: result.generation)
            state.subject = subject
            accepted.removeAll { refused.contains($0.topic) }
            for (text, pattern) in accepted { state.subscriptions[text] = pattern }
            return refused
        }
        for topic in refusedByReload {
            metrics.subscriptionErrors.increment()
            session.outbox.enqueue(text: ServerMessage.error(code: .forbidden, message: "Forbidden topic", topic: topic, now: Timestamp.now()))
        }
        guard !accepted.isEmpty else { return }
        for (text, pattern) in accepted { registry.add(session, pattern: text, pattern) }
        let names = accepted.map(\.topic)
        session.outbox.enqueue(text: ServerMessage.topics("subscription.confirmed", names, now: Timestamp.now()))
        logger.info(
            "subscription created",
            metadata: [LogKey.event: "subscription.created", LogKey.connectionID: "\(session.id)", LogKey.topics: "\(names.joined(separator: ","))"]
        )
    }

    /// Removes subscriptions; topics the connection did not hold are confirmed all the same.
    func unsubscribe(_ session: Session, topics: [String]) {
        let removed = session.state.withLock { state in topics.filter { state.subscriptions.removeValue(forKey: $0) != nil } }
        registry.remove(session, patterns: removed)
        session.outbox.enqueue(text: ServerMessage.topics("unsubscription.confirmed", topics, now: Timestamp.now()))
        logger.info(
            "subscription deleted",
            metadata: [
                LogKey.event: "subscription.deleted", LogKey.connectionID: "\(session.id)", LogKey.topics: "\(removed.joined(separator: ","))",
            ]
        )
    }

    /// Replaces the token of a live connection: same user and company, a later expiry.
    func refresh(_ session: Session, token: String) async {
        guard let authenticator else {
            session.outbox.enqueue(text: ServerMessage.error(code: .internal, message: "token refresh is not available", now: Timestamp.now()))
            return
        }
        let verified: Authenticator.Verified
        do {
            verified = try await authenticator.verify(token)
        } catch {
            session.outbox.close(.unauthorized, reason: error.description)
            return
        }
        // A session without company (service, admin) has the empty company id.
        guard verified.principal.userID == session.userID, (verified.principal.companyID ?? CompanyID("")) == session.companyID else {
            session.outbox.close(.unauthorized, reason: "token names another user")
            return
        }
        var principal = verified.principal
        principal.ip = session.subject.principal.ip
        let subject = gate.subject(for: principal)
        session.state.withLock { state in
            state.subject = subject
            state.expiresAtMillis = verified.expiresAtMillis
        }
        session.outbox.enqueue(text: ServerMessage.authRefreshed(expiresAt: Timestamp.rfc3339(millis: verified.expiresAtMillis)))
    }
}
