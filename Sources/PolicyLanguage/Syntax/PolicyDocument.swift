public import GatewayModel

/// A value read from YAML together with where it was written.
public struct Located<Value: Sendable>: Sendable {
    /// The value.
    public var value: Value
    /// Where the value starts.
    public var location: SourceLocation

    /// Wraps a value and its location.
    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

/// One policy file as written, every value with its location; the input of ``PolicyCompiler``.
public struct PolicyDocument: Sendable {
    /// The file's path.
    public var file: String
    /// The root mapping's location.
    public var location: SourceLocation
    /// `version`.
    public var version: Located<Int>?
    /// `defaults`.
    public var defaults: DefaultsSyntax?
    /// `topics`, in file order.
    public var topics: [TopicRuleSyntax] = []
    /// `tenants`.
    public var tenants: TenantsSyntax?
    /// `plans`, in file order.
    public var plans: [PlanSyntax] = []
    /// The top-level keys present, whatever their values (a mistyped value is still a declaration).
    public var declaredKeys: Set<String> = []
    /// Whether the YAML parsed; a file that did not is not checked for missing sections.
    public var parsed = true

    /// An empty document of `file`.
    public init(file: String, location: SourceLocation) {
        self.file = file
        self.location = location
    }
}

/// `defaults: {region, gdpr}`.
public struct DefaultsSyntax: Sendable {
    public var location: SourceLocation
    public var region: Located<String>?
    public var gdpr: GDPRSyntax?
}

/// A `gdpr` mapping in `defaults` or a topic rule.
public struct GDPRSyntax: Sendable {
    public var location: SourceLocation
    public var consent: Located<Bool>?
    public var purpose: Located<String>?
    public var retentionDays: Located<Int>?
    public var legalBasis: Located<String>?
    public var dataSubject: Located<String>?
}

/// One entry of `topics`.
public struct TopicRuleSyntax: Sendable {
    public var location: SourceLocation
    public var pattern: Located<String>?
    public var subscribe: RoleGrantSyntax?
    public var publish: RoleGrantSyntax?
    public var gdpr: GDPRSyntax?
    public var pii: [Located<String>] = []
    /// `shadow: true`: a dry run of a stricter rule (decided and logged, never enforced).
    public var shadow: Located<Bool>?
}

/// `subscribe: {roles: [...]}` or `publish: {roles: [...]}`.
public struct RoleGrantSyntax: Sendable {
    public var location: SourceLocation
    public var roles: [Located<String>] = []
}

/// `tenants: {default, companies}`.
public struct TenantsSyntax: Sendable {
    public var location: SourceLocation
    public var defaultTenant: TenantSyntax?
    public var companies: [(id: Located<String>, tenant: TenantSyntax)] = []
}

/// The settings of the default tenant or of one company.
public struct TenantSyntax: Sendable {
    public var location: SourceLocation
    public var plan: Located<String>?
    public var homeRegion: Located<String>?
    public var allowedRegions: Located<[Located<String>]>?
    public var enabled: Located<Bool>?
}

/// One entry of `plans`.
public struct PlanSyntax: Sendable {
    public var name: Located<String>
    public var location: SourceLocation
    public var extends: Located<String>?
    public var rateLimits: [LimitSyntax] = []
}

/// One entry of a plan's `rate_limits`.
public struct LimitSyntax: Sendable {
    public var location: SourceLocation
    public var scope: Located<String>?
    public var action: Located<String>?
    public var limit: Located<Int>?
    public var per: Located<String>?
    public var burst: Located<Int>?
    public var shadow: Located<Bool>?
    /// `on_store_error: allow|deny`: what the action does when the rate-limit store cannot answer.
    public var onStoreError: Located<String>?
}
