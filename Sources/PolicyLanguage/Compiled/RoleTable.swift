public import GatewayModel

/// A set of roles as bits of the policy's ``RoleTable``: role checks on the hot path are one AND.
public struct RoleSet: Hashable, Sendable {
    /// One bit per role of the role table.
    public var bits: UInt64
    /// No role.
    public static let empty = RoleSet(bits: 0)
    /// Creates a set from bits.
    public init(bits: UInt64) { self.bits = bits }
    /// Whether the sets share a role.
    @inlinable public func intersects(_ other: RoleSet) -> Bool { bits & other.bits != 0 }
    /// The union.
    @inlinable public func union(_ other: RoleSet) -> RoleSet { RoleSet(bits: bits | other.bits) }
}

/// Every role name the policy mentions, each given one bit. Roles a policy never names cannot
/// grant anything, so they need no bit.
public struct RoleTable: Sendable {
    /// The most distinct roles one policy may name.
    public static let capacity = 64
    /// Roles the gateway itself gives meaning to; always present in the table.
    public static let builtIn = ["admin", "pii_reader", "service"]

    /// Role names by bit index.
    public let names: [String]
    private let bitsByName: [String: UInt64]

    init(names: [String]) {
        self.names = names
        var bits: [String: UInt64] = [:]
        for (index, name) in names.enumerated() where index < Self.capacity { bits[name] = 1 << UInt64(index) }
        self.bitsByName = bits
    }

    /// The set of the given role names; names the policy does not know are ignored.
    public func set(of roles: some Sequence<String>) -> RoleSet {
        var bits: UInt64 = 0
        for role in roles { bits |= bitsByName[role] ?? 0 }
        return RoleSet(bits: bits)
    }

}

/// Who a topic rule lets subscribe or publish.
public struct RoleRequirement: Sendable {
    /// Any authenticated principal of the company qualifies (a rule without `subscribe`).
    public let anyRole: Bool
    /// The roles that qualify.
    public let roles: RoleSet
    /// The role names as written.
    public let names: [String]
    /// Where the grant is written; `nil` for a built-in default.
    public let location: SourceLocation?

    /// Creates a requirement.
    public init(anyRole: Bool, roles: RoleSet, names: [String], location: SourceLocation?) {
        self.anyRole = anyRole
        self.roles = roles
        self.names = names
        self.location = location
    }

    /// Whether a principal holding `held` qualifies.
    @inlinable public func admits(_ held: RoleSet) -> Bool { anyRole || roles.intersects(held) }

    /// A readable form for traces: `any role` or `roles [a, b]`.
    public var summary: String { anyRole ? "any role" : "roles [\(names.joined(separator: ", "))]" }
}
