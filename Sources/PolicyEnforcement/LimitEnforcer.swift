import CoreMetrics
import EventBus
import GatewayModel
import Logging
import PolicyEngine

/// What acquiring an action's limits decided.
enum LimitVerdict: Equatable {
    /// Every limit had room (or there were none): go ahead.
    case proceed
    /// A limit refused: its outcome, for `Retry-After` and the `RateLimit-*` headers.
    case refused(RateLimitOutcome)
    /// The store could not answer (a shared store that is unreachable): limits fail closed, so the
    /// action is refused as unavailable (publish 503, connect 1013), not as rate limited.
    case unavailable
}

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

    /// Acquires `plan`: proceed, refused by a limit, or the store could not answer.
    func acquire(_ plan: LimitPlan) async -> LimitVerdict {
        guard !plan.isEmpty else { return .proceed }
        let checks = plan.checks
        guard !checks.isEmpty else { return .proceed }
        do {
            // A store that answers from this process never suspends; a shared one is asked over the network.
            let outcomes: [RateLimitOutcome]
            if let immediate = store.acquireWithoutWaiting(checks) {
                outcomes = immediate
            } else {
                outcomes = try await store.acquire(checks)
            }
            return refusal(in: outcomes, of: checks).map { .refused($0) } ?? .proceed
        } catch {
            // `on_store_error: allow` on every enforced limit of the action lets it proceed uncounted.
            let allowed = checks.allSatisfy { $0.limit.shadow || $0.limit.onStoreError == .allow }
            logger.error(
                "rate-limit store failed",
                metadata: [
                    LogKey.event: "ratelimit.store_failed", LogKey.error: "\(error)",
                    LogKey.action: "\(checks.first?.key.action.rawValue ?? "")", "on_store_error": "\(allowed ? "allow" : "deny")",
                ]
            )
            guard !allowed else { return .proceed }
            metrics.rateLimitRefused.increment()
            return .unavailable
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
