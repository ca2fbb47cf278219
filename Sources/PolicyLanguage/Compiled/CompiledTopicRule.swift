public import GatewayModel

/// A dotted path into an event, e.g. `data.contact_email`, split for lookups below `data`.
public struct DataPath: Hashable, Sendable, CustomStringConvertible {
    /// The path as written.
    public let text: String
    /// The keys below `data`.
    public let keys: [String]

    /// Parses a path; `nil` unless it is `data.` followed by one or more keys of `[A-Za-z0-9_-]`.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "data",
            parts.dropFirst().allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { Self.isKeyByte($0) } })
        else { return nil }
        self.text = text
        self.keys = parts.dropFirst().map(String.init)
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F || byte == 0x2D
    }

    /// The value at this path in an event's `data`.
    public func value(in data: JSONValue) -> JSONValue? {
        var current = data
        for key in keys {
            guard case .object(let object) = current, let next = object[key] else { return nil }
            current = next
        }
        return current
    }

    public var description: String { text }
}

/// GDPR fields declared in `defaults.gdpr` or a topic rule, each with its location.
public struct GDPRDeclaration: Sendable {
    public var consent: Located<Bool>?
    public var purpose: Located<String>?
    public var retentionDays: Located<Int>?
    public var legalBasis: Located<String>?
    public var dataSubject: Located<DataPath>?

    /// Nothing declared.
    public init() {}
}

/// One compiled `topics` entry. A reference type: hot paths read its fields without copying them.
public final class CompiledTopicRule: Sendable {
    /// Position in ``CompiledPolicy/rules``.
    public let index: Int
    /// The whitelisted pattern.
    public let pattern: TopicPattern
    /// Where the rule starts.
    public let location: SourceLocation
    /// Who may subscribe.
    public let subscribe: RoleRequirement
    /// Who may publish.
    public let publish: RoleRequirement
    /// GDPR fields this rule sets.
    public let gdpr: GDPRDeclaration
    /// Fields redacted on delivery unless the subscriber holds `pii_reader`.
    public let pii: [DataPath]
    /// ``pii`` as bits of ``CompiledPolicy/piiPaths``.
    public let piiMask: UInt64
    /// ``TopicPattern/specificity``, computed once.
    public let specificity: Int
    /// `shadow: true`: decided in the shadow view only (logged as a would-be refusal, never enforced).
    public let shadow: Bool

    init(
        index: Int,
        pattern: TopicPattern,
        location: SourceLocation,
        subscribe: RoleRequirement,
        publish: RoleRequirement,
        gdpr: GDPRDeclaration,
        pii: [DataPath],
        piiMask: UInt64,
        shadow: Bool
    ) {
        self.shadow = shadow
        self.index = index
        self.pattern = pattern
        self.location = location
        self.subscribe = subscribe
        self.publish = publish
        self.gdpr = gdpr
        self.pii = pii
        self.piiMask = piiMask
        self.specificity = pattern.specificity
    }
}

/// The parts of a rule that every decision reads, as plain values in one array, so the hot path
/// touches no reference-counted object.
public struct RuleGrant: Sendable, Hashable {
    /// Any role of the company may subscribe.
    public let subscribeAny: Bool
    /// The roles that may subscribe.
    public let subscribeRoles: RoleSet
    /// Any role may publish (never, today: a rule without `publish` admits only `service`).
    public let publishAny: Bool
    /// The roles that may publish.
    public let publishRoles: RoleSet
    /// The rule's PII paths as bits.
    public let piiMask: UInt64
    /// The rule's pattern specificity.
    public let specificity: Int32

    /// The hot-path view of `rule`.
    public init(_ rule: CompiledTopicRule) {
        subscribeAny = rule.subscribe.anyRole
        subscribeRoles = rule.subscribe.roles
        publishAny = rule.publish.anyRole
        publishRoles = rule.publish.roles
        piiMask = rule.piiMask
        specificity = Int32(rule.specificity)
    }

    /// Whether `roles` may subscribe.
    @inlinable public func admitsSubscriber(_ roles: RoleSet) -> Bool { subscribeAny || subscribeRoles.intersects(roles) }
    /// Whether `roles` may publish.
    @inlinable public func admitsPublisher(_ roles: RoleSet) -> Bool { publishAny || publishRoles.intersects(roles) }
}
