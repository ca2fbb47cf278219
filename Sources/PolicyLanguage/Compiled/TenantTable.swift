public import GatewayModel

/// A set of regions as bits of the policy's region table.
public struct RegionSet: Hashable, Sendable {
    /// One bit per region.
    public var bits: UInt64
    /// Creates a set from bits.
    public init(bits: UInt64) { self.bits = bits }
    /// Whether `bit` is in the set.
    @inlinable public func contains(bit: UInt64) -> Bool { bits & bit != 0 }
}

/// A tenant after merging its company entry over `tenants.default`. A reference type, so that
/// holding one in a connection's resolved principal costs one reference count.
public final class Tenant: Sendable {
    /// The company; `nil` for the default tenant.
    public let companyID: CompanyID?
    /// The plan's index in ``CompiledPolicy/plans``; `nil` when the tenant has no plan.
    public let planIndex: Int?
    /// Where events of this company are tagged and stored.
    public let homeRegion: Region
    /// Regions that may hold this company's data.
    public let allowedRegions: [Region]
    /// `allowedRegions` as bits of the tenant table's regions.
    public let allowedRegionSet: RegionSet
    /// Whether the company may connect and publish.
    public let enabled: Bool
    /// Where the company (or default tenant) entry is written.
    public let location: SourceLocation?
    /// Where `enabled` was decided.
    public let enabledLocation: SourceLocation?
    /// Where `allowed_regions` (or `home_region`) was decided.
    public let regionLocation: SourceLocation?

    init(
        companyID: CompanyID?,
        planIndex: Int?,
        homeRegion: Region,
        allowedRegions: [Region],
        allowedRegionSet: RegionSet,
        enabled: Bool,
        location: SourceLocation?,
        enabledLocation: SourceLocation?,
        regionLocation: SourceLocation?
    ) {
        self.companyID = companyID
        self.planIndex = planIndex
        self.homeRegion = homeRegion
        self.allowedRegions = allowedRegions
        self.allowedRegionSet = allowedRegionSet
        self.enabled = enabled
        self.location = location
        self.enabledLocation = enabledLocation
        self.regionLocation = regionLocation
    }

    /// Whether `region` may hold this company's data.
    public func allows(_ region: Region) -> Bool { allowedRegions.contains(region) }
}

/// The part of a tenant that publishing and connecting check, as plain values.
public struct TenantSummary: Sendable, Hashable {
    /// Whether the company may connect and publish.
    public let enabled: Bool
    /// The tenant's allowed regions as bits.
    public let allowedRegionSet: RegionSet

    init(_ tenant: Tenant) {
        enabled = tenant.enabled
        allowedRegionSet = tenant.allowedRegionSet
    }
}

/// Companies by id, falling back to the default tenant for companies the policy does not list.
public final class TenantTable: Sendable {
    /// The most distinct regions one policy may name (they are bits of a 64-bit set).
    public static let regionCapacity = 64

    /// `tenants.default` merged over the built-in defaults.
    public let defaultTenant: Tenant
    /// Every listed company.
    public let tenants: [Tenant]
    /// What the hot path reads of each listed company, as plain values, in ``tenants`` order.
    public let summaries: [TenantSummary]
    /// What the hot path reads of the default tenant.
    public let defaultSummary: TenantSummary
    private let indexByCompany: CompanyIndex
    /// Every region the policy names, by bit.
    public let regionNames: [Region]
    private let regionBits: [Region: UInt64]

    init(defaultTenant: Tenant, tenants: [Tenant], regionNames: [Region]) {
        self.defaultTenant = defaultTenant
        self.tenants = tenants
        self.summaries = tenants.map(TenantSummary.init)
        self.defaultSummary = TenantSummary(defaultTenant)
        self.indexByCompany = CompanyIndex(tenants.map { $0.companyID?.rawValue ?? "" })
        self.regionNames = regionNames
        self.regionBits = Self.bits(of: regionNames)
    }

    /// One bit per region, in order; regions past ``regionCapacity`` get none (the compiler refuses such policies).
    static func bits(of regionNames: [Region]) -> [Region: UInt64] {
        var bits: [Region: UInt64] = [:]
        for (position, region) in regionNames.enumerated() where position < regionCapacity { bits[region] = 1 << UInt64(position) }
        return bits
    }

    /// The tenant of `company` (its own entry, or the default tenant).
    @inlinable public func tenant(for company: String) -> Tenant {
        let index = position(of: company)
        return index >= 0 ? tenants[Int(index)] : defaultTenant
    }

    /// The position of a listed company in ``tenants``, or -1 for a company on the default tenant.
    public func position(of company: String) -> Int32 { indexByCompany.position(of: company) }

    /// The position of `company` in ``tenants`` (-1 for the default tenant), or `nil` when `company`
    /// is not a well-formed company id (``CompanyID/isWellFormed(_:)``): one pass over the bytes
    /// both checks and hashes the id.
    public func checkedPosition(of company: String) -> Int32? { indexByCompany.checkedPosition(of: company) }

    /// The tenant at `position` (from ``position(of:)``; -1 is the default tenant).
    @inlinable public func tenant(at position: Int32) -> Tenant { position >= 0 ? tenants[Int(position)] : defaultTenant }

    /// The summary of the tenant at `position` (from ``position(of:)``; -1 is the default tenant).
    @inlinable public func summary(at position: Int32) -> TenantSummary {
        position >= 0 ? summaries[Int(position)] : defaultSummary
    }

    /// Whether the policy lists `company` explicitly.
    public func isListed(_ company: String) -> Bool { position(of: company) >= 0 }

    /// The bit of `region`, or 0 when no tenant allows it.
    public func bit(of region: Region) -> UInt64 { regionBits[region] ?? 0 }

}

/// A plan after `extends` resolution: its limits grouped by action.
public struct CompiledPlan: Sendable {
    /// The plan's name.
    public let name: String
    /// Where the plan is written.
    public let location: SourceLocation
    /// The chain of plans it extends, nearest first.
    public let ancestors: [String]
    /// Limits by `LimitAction` position in `LimitAction.allCases`.
    public let limitsByAction: [[RateLimit]]

    /// The limits that apply to `action`.
    @inlinable public func limits(for action: LimitAction) -> [RateLimit] { limitsByAction[action.ordinal] }
}

extension LimitAction {
    /// The position in `allCases`.
    @inlinable public var ordinal: Int {
        switch self {
        case .connect: 0
        case .subscribe: 1
        case .publish: 2
        case .poll: 3
        case .deliver: 4
        }
    }
}
