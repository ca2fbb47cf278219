public import GatewayModel
import Synchronization

/// A validated policy, compiled for evaluation: immutable and `Sendable`, swapped whole on reload.
public struct CompiledPolicy: Sendable {
    /// A content hash of the sources (first 12 hex digits of SHA-256), reported as `policy_version`.
    public let version: String
    /// Unique to this compilation in this process (never reused, unlike an object address), so a
    /// principal resolved against one compiled policy is never taken for one of another.
    public let generation: UInt64 = CompiledPolicy.nextGeneration()

    private static let generations = Atomic<UInt64>(0)
    private static func nextGeneration() -> UInt64 { generations.add(1, ordering: .relaxed).newValue }
    /// The files compiled, in order.
    public let files: [String]
    /// The region events are tagged with when no tenant says otherwise.
    public let defaultRegion: Located<Region>
    /// `defaults.gdpr`, with built-in fallbacks for consent and retention.
    public let defaultGDPR: GDPRDeclaration
    /// Retention when neither a topic nor `defaults.gdpr` sets one (`GDPR_RETENTION_DAYS`).
    public let fallbackRetentionDays: Int
    /// The whitelist, in source order.
    public let rules: [CompiledTopicRule]
    /// The index over the live (not shadow) ``rules``.
    public let trie: TopicTrie
    /// The index of the policy as it would be with its shadow rules enforced: each shadow rule in
    /// place of the live rule with the same pattern, if any; `nil` when there are no shadow rules.
    public let shadowTrie: TopicTrie?
    /// Every role the policy names.
    public let roles: RoleTable
    /// Tenants by company.
    public let tenants: TenantTable
    /// Plans by position; tenants refer to them by index.
    public let plans: [CompiledPlan]
    /// Warnings found while compiling (errors prevent compilation).
    public let warnings: [Diagnostic]
    /// Every PII path any rule names, by bit: a redaction is a mask over this list.
    public let piiPaths: [DataPath]
    /// ``rules`` as plain values for the hot path, in the same order.
    public let grants: [RuleGrant]

    /// The most distinct PII paths one policy may name.
    public static let piiPathCapacity = 64

    /// The paths of a redaction mask, in ``piiPaths`` order.
    public func piiPaths(in mask: UInt64) -> [DataPath] {
        piiPaths.indices.filter { mask & (1 << UInt64($0)) != 0 }.map { piiPaths[$0] }
    }

}
