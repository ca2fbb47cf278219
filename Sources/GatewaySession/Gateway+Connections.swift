import CoreMetrics
public import GatewayModel
import Logging
import PolicyEnforcement
import PolicyEngine
import Synchronization

extension Gateway {
    /// Why a connection is refused: the close code and a short reason (≤ 32 bytes, never the token).
    public struct Refusal: Error, Sendable, Equatable {
        /// 4003, 4029, 1013 or 1001.
        public var code: CloseCode
        /// The close reason.
        public var reason: String
    }

    /// Admits a verified principal: the gate's connect decision (company enabled, node region, connect
    /// limits), then `MAX_CONNECTIONS`. On success the session is registered and its `connection.established`
    /// is queued. The session's frames go to `sink`.
    public func open(principal: Principal, expiresAtMillis: Int64, sink: any FrameSink) async -> Result<Session, Refusal> {
        guard !shuttingDown.load(ordering: .acquiring) else { return .failure(Refusal(code: .goingAway, reason: CloseCode.goingAway.defaultReason)) }
        let admission: PolicyGate.Admission
        switch await gate.connect(principal) {
        case .success(let admitted): admission = admitted
        case .failure(.forbidden(let reason)):
            logger.info(
                "connection refused by policy",
                metadata: [LogKey.event: "websocket.error", LogKey.reason: "\(reason)", LogKey.companyID: "\(principal.companyID?.rawValue ?? "")"]
            )
            return .failure(Refusal(code: .forbidden, reason: reason))
        case .failure(.rateLimited(let seconds)):
            return .failure(Refusal(code: .rateLimited, reason: "rate limited (retry \(seconds)s)"))
        case .failure(.unavailable):
            return .failure(Refusal(code: .tryAgainLater, reason: "rate limits unavailable"))
        }
        let admitted = connectionCount.wrappingAdd(1, ordering: .relaxed).newValue
        guard admitted <= configuration.maxConnections else {
            connectionCount.wrappingSubtract(1, ordering: .relaxed)
            return .failure(Refusal(code: .tryAgainLater, reason: CloseCode.tryAgainLater.defaultReason))
        }
        // Where the live stream starts; a log that cannot answer refuses the connection (1013), rather than
        // starting it at a made-up position.
        guard let head = try? await gate.head() else {
            connectionCount.wrappingSubtract(1, ordering: .relaxed)
            return .failure(Refusal(code: .tryAgainLater, reason: "event log unavailable"))
        }
        let session = Session(
            id: ids.next(),
            subject: admission.subject,
            companyID: admission.company,
            expiresAtMillis: expiresAtMillis,
            sink: sink,
            startPosition: head
        )
        sessions.withLock { $0[session.id] = session }
        // A reload while this connection was being admitted took its list of sessions before this one was in
        // it: decide again with the policy now in force.
        if gate.active.generation != admission.generation, !gate.stillAdmits(principal) {
            session.outbox.close(.forbidden, reason: "forbidden by policy")
        }
        metrics.connected.increment()
        metrics.active.record(admitted)
        let node = gate.configuration
        session.outbox.enqueue(
            text: ServerMessage.established(
                userID: principal.userID,
                companyID: admission.company,
                connectionID: session.id,
                region: (node.nodeRegion ?? node.region).rawValue,
                policyVersion: admission.policyVersion,
                now: Timestamp.now()
            )
        )
        logger.info(
            "websocket connected",
            metadata: [LogKey.event: "websocket.connected", LogKey.connectionID: "\(session.id)", LogKey.companyID: "\(admission.company.rawValue)"]
        )
        return .success(session)
    }

    /// Forgets a closed connection: its subscriptions and its slot.
    public func close(_ session: Session) {
        session.markClosed()
        let removed = sessions.withLock { $0.removeValue(forKey: session.id) != nil }
        guard removed else { return }
        dashboardViewers.withLock { _ = $0.removeValue(forKey: session.id) }
        registry.remove(session, patterns: session.subscriptions)
        let remaining = connectionCount.wrappingSubtract(1, ordering: .relaxed).newValue
        metrics.disconnected.increment()
        metrics.active.record(remaining)
        logger.info("websocket disconnected", metadata: [LogKey.event: "websocket.disconnected", LogKey.connectionID: "\(session.id)"])
    }

    /// Closes connections whose token expired (4001).
    func closeExpiredSessions(nowMillis: Int64 = Timestamp.nowMillis()) {
        let expired = sessions.withLock { sessions in
            sessions.values.filter { session in session.state.withLock { $0.expiresAtMillis <= nowMillis } }
        }
        for session in expired { session.outbox.close(.unauthorized, reason: "token expired") }
    }
}
