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
    /// Why a connection is refused: the close code and a short reason (≤ 32 bytes, never the token).
    public struct Refusal: Error, Sendable, Equatable {
        /// 4003, 4029 or 1013.
        public var code: UInt16
        /// The close reason.
        public var reason: String
    }

    /// Admits a verified principal: the policy's connect decision (company enabled, node region), the
    /// connect rate limits and `MAX_CONNECTIONS`. On success the session is registered and its
    /// `connection.established` is queued. The session's frames go to `sink`.
    public func open(principal: Principal, expiresAtMillis: Int64, sink: any FrameSink) async -> Result<Session, Refusal> {
        guard !shuttingDown.load(ordering: .acquiring) else { return .failure(Refusal(code: 1001, reason: "server shutting down")) }
        let evaluator = self.evaluator
        let subject = evaluator.subject(for: principal)
        var trace: DecisionTrace? = nil
        let decision = evaluator.connect(subject, trace: &trace)
        audit(
            AuditedDecision(action: .connect, reason: decision.reason, location: decision.location, company: principal.companyID),
            policyVersion: evaluator.policy.version
        )
        // A service or admin token without company may connect (for the dashboard): its session's
        // company is empty, which no event, subscription or cursor ever has.
        guard decision.isAllowed, let company = principal.companyID ?? (decision.isAllowed ? CompanyID("") : nil) else {
            logger.info(
                "connection refused by policy",
                metadata: [
                    "event": "websocket.error", "reason": "\(decision.reason.rawValue)", "company_id": "\(principal.companyID?.rawValue ?? "")",
                ]
            )
            if decision.reason == .regionNotServed, let home = subject.tenant?.homeRegion {
                return .failure(Refusal(code: 4003, reason: String("home region \(home.rawValue)".prefix(32))))
            }
            return .failure(Refusal(code: 4003, reason: decision.isAllowed ? "token names no company" : "forbidden"))
        }
        if let refusal = await acquire(decision.limits) {
            return .failure(Refusal(code: 4029, reason: "rate limited (retry \(Int(refusal.retryAfterSeconds.rounded(.up)))s)"))
        }
        let admitted = connectionCount.wrappingAdd(1, ordering: .relaxed).newValue
        guard admitted <= configuration.maxConnections else {
            connectionCount.wrappingSubtract(1, ordering: .relaxed)
            return .failure(Refusal(code: 1013, reason: "connection limit reached"))
        }
        let head = (try? await log.head()) ?? 0
        let session = Session(
            id: ids.next(),
            subject: subject,
            companyID: company,
            expiresAtMillis: expiresAtMillis,
            sink: sink,
            startPosition: head
        )
        sessions.withLock { $0[session.id] = session }
        // A reload while this connection was being admitted took its list of sessions before this one was in
        // it: decide again with the policy now in force.
        let current = self.evaluator
        if current.policy.generation != evaluator.policy.generation {
            var trace: DecisionTrace? = nil
            if !current.connect(current.subject(for: principal), trace: &trace).isAllowed {
                session.outbox.close(code: 4003, reason: "forbidden by policy")
            }
        }
        metrics.connected.increment()
        metrics.active.record(admitted)
        session.outbox.enqueue(
            text: ServerMessage.established(
                userID: principal.userID,
                companyID: company,
                connectionID: session.id,
                region: (configuration.nodeRegion ?? configuration.region).rawValue,
                policyVersion: evaluator.policy.version,
                now: Timestamp.now()
            )
        )
        logger.info(
            "websocket connected",
            metadata: ["event": "websocket.connected", "connection_id": "\(session.id)", "company_id": "\(company.rawValue)"]
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
        logger.info("websocket disconnected", metadata: ["event": "websocket.disconnected", "connection_id": "\(session.id)"])
    }

    /// Closes connections whose token expired (4001).
    func closeExpiredSessions(nowMillis: Int64 = Timestamp.nowMillis()) {
        let expired = sessions.withLock { sessions in
            sessions.values.filter { session in session.state.withLock { $0.expiresAtMillis <= nowMillis } }
        }
        for session in expired { session.outbox.close(code: 4001, reason: "token expired") }
    }

    /// Acquires a decision's limits; returns the refusing outcome when one refuses.
    func acquire(_ plan: LimitPlan) async -> RateLimitOutcome? {
        guard !plan.isEmpty else { return nil }
        let checks = plan.checks
        guard !checks.isEmpty else { return nil }
        do {
            let outcomes = try await rateLimits.acquire(checks)
            for (check, outcome) in zip(checks, outcomes) where outcome.exceeded {
                logger.info(
                    "rate limit refused",
                    metadata: [
                        // The limit, never the counted subject: user ids and addresses stay out of the log.
                        "event": "ratelimit.refused", "action": "\(check.key.action.rawValue)", "scope": "\(check.key.scope.rawValue)",
                        "company_id": "\(check.key.company)", "plan": "\(check.limit.plan)", "shadow": "\(check.limit.shadow)",
                    ]
                )
            }
            guard let refusing = outcomes.first(where: { !$0.allowed }) else { return nil }
            metrics.rateLimitRefused.increment()
            return refusing
        } catch {
            // A store that cannot answer refuses: limits fail closed.
            logger.error("rate-limit store failed", metadata: ["event": "ratelimit.refused", "error": "\(error)"])
            return RateLimitOutcome(
                allowed: false,
                exceeded: true,
                limit: 0,
                remaining: 0,
                retryAfterNanos: 1_000_000_000,
                resetAfterNanos: 1_000_000_000
            )
        }
    }
}
