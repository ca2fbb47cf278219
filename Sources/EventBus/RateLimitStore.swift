public import GatewayModel

/// Where rate-limit counters live: in memory for one node, in Redis or NATS when nodes share them.
///
/// Guarantees: `acquire` is atomic per call — either every non-shadow check is within its limit
/// and all of them are counted, or nothing is counted. Shadow checks are reported but never refuse and
/// never block the others. Outcomes come back in the order of the checks. Callers (the policy gate) call
/// it after the evaluator allowed an action and before acting.
public protocol RateLimitStore: BackendComponent {
    /// Acquires one request from every check, all or none.
    /// - Returns: one outcome per check; proceed only when every outcome is `allowed`.
    func acquire(_ checks: [LimitCheck]) async throws -> [RateLimitOutcome]

    /// ``acquire(_:)`` without suspending, for the fan-out path (`deliver` limits), with the same
    /// all-or-none guarantee. `nil` means "ask `acquire`": the store cannot answer from this process (a
    /// shared store answers over the network), and the caller must then await ``acquire(_:)`` — it must
    /// never treat `nil` as allowed. Every store implements this; there is no default.
    func acquireWithoutWaiting(_ checks: [LimitCheck]) -> [RateLimitOutcome]?
}
