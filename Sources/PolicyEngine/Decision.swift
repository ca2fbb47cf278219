public import GatewayModel
public import PolicyLanguage

/// The limits an allowed action must still acquire: the plan's shared rule array plus who acts.
/// Nothing is allocated until ``checks`` is read.
public struct LimitPlan: Sendable {
    /// The tenant plan's limits for the action.
    public var limits: [RateLimit]
    /// Who acts: supplies the user, the address and, unless ``company`` is set, the company.
    public var subject: Subject?
    /// The company counted when it is not the subject's own (a publish counts the event's company).
    public var company: String?

    /// No limits.
    public static let none = LimitPlan(limits: [], subject: nil, company: nil)

    /// Whether there is nothing to acquire.
    public var isEmpty: Bool { limits.isEmpty }

    /// One check per limit, keyed by scope: `company` per company, `user` per (company, user), `ip` per
    /// address across tenants. `ip` limits are skipped when the address is unknown.
    public var checks: [LimitCheck] {
        let company = company ?? subject?.principal.companyID?.rawValue ?? ""
        let user = subject?.principal.userID ?? ""
        let ip = subject?.principal.ip
        return limits.compactMap { limit in
            switch limit.scope {
            case .company: LimitCheck(limit: limit, key: LimitKey(scope: .company, action: limit.action, company: company, subject: ""))
            case .user: LimitCheck(limit: limit, key: LimitKey(scope: .user, action: limit.action, company: company, subject: user))
            // An address is one counter across tenants: a client cannot escape an `ip` limit by switching tokens.
            case .ip: ip.map { LimitCheck(limit: limit, key: LimitKey(scope: .ip, action: limit.action, company: "", subject: $0)) }
            }
        }
    }
}

/// The evaluator's answer: a verdict with its reason, and for allowed actions what to enforce next.
public struct Decision: Sendable {
    /// Allow or deny.
    public var verdict: Verdict
    /// Why.
    public var reason: ReasonCode
    /// The action decided.
    public var action: PolicyAction
    /// A sentence for the client or the log; empty when allowed. Never contains payload or PII.
    public var message: String
    /// The topic rule that decided, when one did.
    public var ruleIndex: Int?
    /// Where the deciding rule or setting is written: set on denials and on explained decisions
    /// (an allowed decision names its rule by ``ruleIndex``).
    public var location: SourceLocation?
    /// Limits to acquire before proceeding (empty when denied).
    public var limits: LimitPlan
    /// What publish attaches to the event.
    public var enrichment: Enrichment?
    /// What delivery removes for this subscriber.
    public var redaction: Redaction
    /// Every check, when the request asked for a trace.
    public var trace: DecisionTrace?

    /// Whether the action may proceed (subject to ``limits``).
    @inlinable public var isAllowed: Bool { verdict == .allow }

    static func allow(_ action: PolicyAction, rule: Int? = nil, at location: SourceLocation? = nil, limits: LimitPlan) -> Decision {
        Decision(
            verdict: .allow,
            reason: .allowed,
            action: action,
            message: "",
            ruleIndex: rule,
            location: location,
            limits: limits,
            enrichment: nil,
            redaction: .none,
            trace: nil
        )
    }

    static func deny(
        _ action: PolicyAction,
        _ reason: ReasonCode,
        _ message: String,
        rule: Int? = nil,
        at location: SourceLocation? = nil
    ) -> Decision {
        Decision(
            verdict: .deny,
            reason: reason,
            action: action,
            message: message,
            ruleIndex: rule,
            location: location,
            limits: .none,
            enrichment: nil,
            redaction: .none,
            trace: nil
        )
    }
}

/// A principal resolved against one compiled policy: roles as bits and the tenant looked up.
/// Resolve once per connection (and again after a reload), then decide many times. A reference
/// type, so handing it to every decision costs no copies.
public final class Subject: Sendable {
    /// The principal.
    public let principal: Principal
    /// The principal's roles that the policy knows.
    public let roles: RoleSet
    /// The principal's tenant; `nil` for a token without company.
    public let tenant: Tenant?
    /// Whether the principal sees PII fields unredacted.
    public let readsPII: Bool
    /// Whether the principal holds the `service` role.
    public let isService: Bool
    /// Whether the principal holds the `admin` role.
    public let isAdmin: Bool
    /// The tenant's `enabled`, copied so the delivery hot path reads no other object.
    let tenantEnabled: Bool
    /// The tenant's allowed regions as bits, copied likewise.
    let tenantRegions: RegionSet
    /// The compiled policy this subject was resolved against (its roles are bits of that policy's role
    /// table): its ``CompiledPolicy/generation``.
    let policyGeneration: UInt64

    init(principal: Principal, roles: RoleSet, tenant: Tenant?, readsPII: Bool, isService: Bool, isAdmin: Bool, policyGeneration: UInt64) {
        self.policyGeneration = policyGeneration
        self.principal = principal
        self.roles = roles
        self.tenant = tenant
        self.readsPII = readsPII
        self.isService = isService
        self.isAdmin = isAdmin
        self.tenantEnabled = tenant?.enabled ?? false
        self.tenantRegions = tenant?.allowedRegionSet ?? RegionSet(bits: 0)
    }
}
