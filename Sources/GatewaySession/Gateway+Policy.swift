import CoreMetrics
import Foundation
import GatewayModel
import Logging
import PolicyEngine
public import PolicyLanguage
import Synchronization

extension Gateway {
    /// What swapping in a new policy did to the live connections.
    public struct PolicySwap: Sendable, Equatable {
        /// The version that was active before.
        public var previousVersion: String
        /// The version now active.
        public var version: String
        /// Subscriptions the new policy no longer allows, dropped with an `error` (`forbidden`).
        public var droppedSubscriptions: Int
        /// Connections whose company may no longer connect here (disabled, or its regions no longer
        /// include this node's), closed with 4003.
        public var closedConnections: Int
    }

    /// Makes `policy` the active one and re-checks every live connection against it (SPEC §6.8).
    ///
    /// The swap itself is one store: every decision after it uses the new policy; a connection's
    /// resolved principal is re-resolved on its next decision if this pass has not reached it yet
    /// (``PolicyEvaluator/current(_:)``). Then each connection's company is checked as on connect, and
    /// each subscription as on subscribe. Rate limits read the plans of the active policy, so changed
    /// limits apply from the next request.
    @discardableResult
    public func apply(_ policy: CompiledPolicy) -> PolicySwap {
        let evaluator = PolicyEvaluator(policy: policy, nodeRegion: configuration.nodeRegion)
        let previous = evaluatorState.withLock { state in
            let previous = state.policy.version
            state = evaluator
            return previous
        }
        var swap = PolicySwap(previousVersion: previous, version: policy.version, droppedSubscriptions: 0, closedConnections: 0)
        for session in sessions.withLock({ Array($0.values) }) {
            // Resolved from the principal under the session's lock, so an `auth.refresh` in between is not undone.
            let (subject, admission, dropped) = session.state.withLock { state -> (Subject, Decision, [String]) in
                let subject = evaluator.subject(for: state.subject.principal)
                state.subject = subject
                var trace: DecisionTrace? = nil
                let admission = evaluator.connect(subject, trace: &trace)
                guard admission.isAllowed else { return (subject, admission, []) }
                let refused = state.subscriptions.keys.filter { !evaluator.subscribe(subject, topic: $0).isAllowed }.sorted()
                for topic in refused { state.subscriptions.removeValue(forKey: topic) }
                return (subject, admission, refused)
            }
            guard admission.isAllowed else {
                let reason =
                    admission.reason == .regionNotServed
                    ? subject.tenant.map { "home region \($0.homeRegion.rawValue)" } ?? "forbidden" : "forbidden by policy"
                session.outbox.close(code: 4003, reason: String(reason.prefix(32)))
                swap.closedConnections += 1
                continue
            }
            guard !dropped.isEmpty else { continue }
            registry.remove(session, patterns: dropped)
            swap.droppedSubscriptions += dropped.count
            for topic in dropped {
                metrics.subscriptionErrors.increment()
                session.outbox.enqueue(
                    text: ServerMessage.error(
                        code: "forbidden",
                        message: "subscription no longer allowed by policy \(policy.version)",
                        topic: topic,
                        now: Timestamp.now()
                    )
                )
            }
            logger.info(
                "subscription deleted",
                metadata: [
                    "event": "subscription.deleted", "connection_id": "\(session.id)", "topics": "\(dropped.joined(separator: ","))",
                    "reason": "policy_reload",
                ]
            )
        }
        return swap
    }
}
