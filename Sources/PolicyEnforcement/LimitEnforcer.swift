import CoreMetrics
import EventBus
import GatewayModel
import Logging
import PolicyEngine

/// Acquires the limits a decision returned from the rate-limit store (envoy ratelimit's `DoLimit` after
/// `GetLimit`): all of an action's checks together or none, refusals logged as `ratelimit.refused` and
/// counted in `ratelimit_refused_total`. A store that cannot answer refuses: limits fail closed.
struct LimitEnforcer: Sendable {
    let store: any RateLimitStore
    let logger: Logger
    let metrics: GateMetrics

    /// The outcome a store failure turns into: refused, retry in a second.
    static let storeFailure = RateLimitOutcome(
        allowed: false,
        exceeded: true,
        limit: 0,
        remaining: 0,
        retryAfterNanos: 1_000_000_000,
        resetAfterNanos: 1_000_000_000
    )

    /// Acquires `plan`; returns the refusing outcome when one refuses, `nil` when the action may go ahead.
    func acquire(_ plan: LimitPlan) async -> RateLimitOutcome? {
        guard !plan.isEmpty else { return nil }
        let checks = plan.checks
        guard !checks.isEmpty else { return nil }
        do {
            // A store that answers from this process never suspends; a shared one is asked over the network.
            let outcomes: [RateLimitOutcome]
            if let immediate = store.acquireWithoutWaiting(checks) {
                outcomes = immediate
            } else {
                outcomes = try await store.acquire(checks)
            }
            return refusal(in: outcomes, of: checks)
        } catch {
            logger.error("rate-limit store failed", metadata: [LogKey.event: "ratelimit.refused", LogKey.error: "\(error)"])
            metrics.rateLimitRefused.increment()
            return Self.storeFailure
        }
    }

    private func refusal(in outcomes: [RateLimitOutcome], of checks: [LimitCheck]) -> RateLimitOutcome? {
        for (check, outcome) in zip(checks, outcomes) where outcome.exceeded {
            logger.info(
                "rate limit refused",
                metadata: [
                    // The limit, never the counted subject: user ids and addresses stay out of the log.
                    LogKey.event: "ratelimit.refused", LogKey.action: "\(check.key.action.rawValue)",
                    LogKey.scope: "\(check.key.scope.rawValue)", LogKey.companyID: "\(check.key.company)",
                    LogKey.plan: "\(check.limit.plan)", LogKey.shadow: "\(check.limit.shadow)",
                ]
            )
        }
        guard let refusing = outcomes.first(where: { !$0.allowed }) else { return nil }
        metrics.rateLimitRefused.increment()
        return refusing
    }
}
