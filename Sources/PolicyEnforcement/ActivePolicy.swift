public import GatewayModel
public import PolicyEngine
public import PolicyLanguage
import Synchronization

/// The policy in force: one evaluator, swapped atomically on reload (envoy ratelimit's `SetConfig`).
/// Every decision reads it once and keeps that value for the whole action.
public final class ActivePolicy: Sendable {
    private let state: Mutex<PolicyEvaluator>
    /// `--region`: the region this node holds data for; `nil` serves every company.
    public let nodeRegion: Region?

    /// Makes `policy` the active one.
    /// - Parameters:
    ///   - policy: the compiled policy.
    ///   - nodeRegion: this node's region (SPEC §6.5), `nil` for every region.
    public init(_ policy: CompiledPolicy, nodeRegion: Region?) {
        self.state = Mutex(PolicyEvaluator(policy: policy, nodeRegion: nodeRegion))
        self.nodeRegion = nodeRegion
    }

    /// The evaluator of the policy in force.
    public var evaluator: PolicyEvaluator { state.withLock { $0 } }

    /// The version of the policy in force.
    public var version: String { evaluator.policy.version }

    /// The generation of the policy in force: it changes with every swap.
    public var generation: UInt64 { evaluator.policy.generation }

    /// Swaps in `policy`; returns the evaluator it replaced.
    @discardableResult
    public func replace(with policy: CompiledPolicy) -> PolicyEvaluator {
        let next = PolicyEvaluator(policy: policy, nodeRegion: nodeRegion)
        return state.withLock { state in
            defer { state = next }
            return state
        }
    }
}
