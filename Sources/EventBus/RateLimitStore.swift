public import GatewayModel

/// Where rate-limit counters live: in memory for one node, in Redis or NATS when nodes share them.
///
/// Guarantees: `acquire` is atomic per call — either every non-shadow check is within its limit
/// and all of them are counted, or nothing is counted. Outcomes come back in the order of the checks.
/// Callers (the policy gate) call it after the evaluator allowed an action and before acting.
public protocol RateLimitStore: Sendable {
    /// Acquires one request from every check, all or none.
    /// - Returns: one outcome per check; proceed only when every outcome is `allowed`.
    func acquire(_ checks: [LimitCheck]) async throws -> [RateLimitOutcome]

    /// ``acquire(_:)`` without suspending, for the fan-out path (`deliver` limits), when the store can
    /// answer from this process; `nil` when it cannot (a shared store answers over the network).
    func acquireWithoutWaiting(_ checks: [LimitCheck]) -> [RateLimitOutcome]?
}

extension RateLimitStore {
    /// A store that cannot answer without waiting.
    public func acquireWithoutWaiting(_ checks: [LimitCheck]) -> [RateLimitOutcome]? { nil }
}
