import CoreMetrics
import GatewayModel
import Logging
import PolicyEnforcement
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

    /// Makes `policy` the active one and has the gate re-check every live connection against it (SPEC §6.8).
    ///
    /// The swap itself is one store: every decision after it uses the new policy; a connection's resolved
    /// principal is re-resolved on its next decision if this pass has not reached it yet. Then each
    /// connection's company is checked as on connect, and each subscription as on subscribe. Rate limits
    /// read the plans of the active policy, so changed limits apply from the next request.
    @discardableResult
    public func apply(_ policy: CompiledPolicy) -> PolicySwap {
        let previous = gate.replace(with: policy)
        var swap = PolicySwap(previousVersion: previous, version: policy.version, droppedSubscriptions: 0, closedConnections: 0)
        for session in sessions.withLock({ Array($0.values) }) {
            // Re-checked under the session's lock, so an `auth.refresh` or a subscribe in between is not undone.
            let recheck = session.state.withLock { state -> PolicyGate.Recheck in
                let recheck = gate.recheck(state.subject.principal, subscriptions: state.subscriptions.keys)
                state.subject = recheck.subject
                if recheck.closeReason == nil {
                    for topic in recheck.dropped { state.subscriptions.removeValue(forKey: topic) }
                }
                return recheck
            }
            if let reason = recheck.closeReason {
                session.outbox.close(.forbidden, reason: reason)
                swap.closedConnections += 1
                continue
            }
            guard !recheck.dropped.isEmpty else { continue }
            registry.remove(session, patterns: recheck.dropped)
            swap.droppedSubscriptions += recheck.dropped.count
            for topic in recheck.dropped {
                metrics.subscriptionErrors.increment()
                session.outbox.enqueue(
                    text: ServerMessage.error(
                        code: .forbidden,
                        message: "subscription no longer allowed by policy \(policy.version)",
                        topic: topic,
                        now: Timestamp.now()
                    )
                )
            }
            logger.info(
                "subscription deleted",
                metadata: [
                    LogKey.event: "subscription.deleted", LogKey.connectionID: "\(session.id)",
                    LogKey.topics: "\(recheck.dropped.joined(separator: ","))", LogKey.reason: "policy_reload",
                ]
            )
        }
        return swap
    }
}
