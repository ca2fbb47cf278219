import GatewayModel

/// Stage 7 (only when no stage found an error): builds the rule table, the topic trie, the
/// role, tenant and plan tables, and the ``CompiledPolicy``.
enum BuildTopicTrie {
    static func run(_ state: inout CompilationState, version: String, warnings: [Diagnostic]) -> CompiledPolicy {
        let roles = RoleTable(names: state.roleNames)
        var piiPaths: [DataPath] = []
        for path in state.rulePII.joined() where !piiPaths.contains(path) { piiPaths.append(path) }
        func mask(_ paths: [DataPath]) -> UInt64 {
            paths.reduce(0) { bits, path in
                bits | (piiPaths.firstIndex(of: path).map { $0 < CompiledPolicy.piiPathCapacity ? 1 << UInt64($0) : 0 } ?? 0)
            }
        }
        var rules: [CompiledTopicRule] = []
        for (index, syntax) in state.topics.enumerated() {
            guard let pattern = state.patterns[index] else { continue }
            rules.append(
                CompiledTopicRule(
                    index: rules.count,
                    pattern: pattern,
                    location: syntax.pattern?.location ?? syntax.location,
                    subscribe: requirement(syntax.subscribe, roles, fallback: nil),
                    publish: requirement(syntax.publish, roles, fallback: "service"),
                    gdpr: state.ruleGDPR[index],
                    pii: state.rulePII[index],
                    piiMask: mask(state.rulePII[index]),
                    shadow: syntax.shadow?.value ?? false
                )
            )
        }
        let patterns = rules.map(\.pattern)
        let trie = TopicTrie(patterns: patterns) { !rules[$0].shadow }
        let shadowed = Set(rules.filter(\.shadow).map(\.pattern.text))
        let shadowTrie = shadowed.isEmpty ? nil : TopicTrie(patterns: patterns) { rules[$0].shadow || !shadowed.contains(rules[$0].pattern.text) }
        let plans = buildPlans(state)
        let defaultRegion: Located<Region> =
            state.defaults?.region.map { Located(Region($0.value), at: $0.location) }
            ?? Located(state.configuration.defaultRegion, at: SourceLocation(file: "<configuration>", line: 1, column: 1))
        let tenants = buildTenants(state, defaultRegion: defaultRegion.value, plans: plans)
        return CompiledPolicy(
            version: version,
            files: state.documents.map(\.file),
            defaultRegion: defaultRegion,
            defaultGDPR: state.defaultGDPR,
            fallbackRetentionDays: state.configuration.defaultRetentionDays,
            rules: rules,
            trie: trie,
            shadowTrie: shadowTrie,
            roles: roles,
            tenants: tenants,
            plans: plans,
            warnings: warnings.filter { $0.severity == .warning },
            piiPaths: piiPaths,
            grants: rules.map(RuleGrant.init)
        )
    }

    /// A missing grant means "any role" for subscribe and "only `fallback`" for publish (SPEC §6.1).
    static func requirement(_ grant: RoleGrantSyntax?, _ roles: RoleTable, fallback: String?) -> RoleRequirement {
        guard let grant else {
            guard let fallback else { return RoleRequirement(anyRole: true, roles: .empty, names: [], location: nil) }
            return RoleRequirement(anyRole: false, roles: roles.set(of: [fallback]), names: [fallback], location: nil)
        }
        let names = grant.roles.map(\.value)
        return RoleRequirement(anyRole: false, roles: roles.set(of: names), names: names, location: grant.location)
    }

    /// Effective limits: ancestors first (farthest first), each overridden by (scope, action) nearer down.
    static func buildPlans(_ state: CompilationState) -> [CompiledPlan] {
        state.plans.map { plan in
            let chain = state.ancestors[plan.name.value] ?? []
            var effective: [String: RateLimit] = [:]
            var order: [String] = []
            for name in chain.reversed() + [plan.name.value] {
                for limit in state.ownLimits[name] ?? [] {
                    let key = "\(limit.scope.rawValue)/\(limit.action.rawValue)"
                    if effective[key] == nil { order.append(key) }
                    effective[key] = limit
                }
            }
            var byAction = [[RateLimit]](repeating: [], count: LimitAction.allCases.count)
            for key in order { if let limit = effective[key] { byAction[limit.action.ordinal].append(limit) } }
            return CompiledPlan(name: plan.name.value, location: plan.location, ancestors: chain, limitsByAction: byAction)
        }
    }

    /// Tenants after field-by-field inheritance from `tenants.default`, each built once with its
    /// region bits (the region table comes first).
    static func buildTenants(_ state: CompilationState, defaultRegion: Region, plans: [CompiledPlan]) -> TenantTable {
        let base = state.defaultTenant
        let planIndex = Dictionary(plans.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { first, _ in first })
        func home(_ syntax: TenantSyntax?, _ inherited: TenantSyntax?) -> Region {
            Region((syntax?.homeRegion ?? inherited?.homeRegion)?.value ?? defaultRegion.rawValue)
        }
        func allowed(_ syntax: TenantSyntax?, _ inherited: TenantSyntax?) -> [Region] {
            (syntax?.allowedRegions ?? inherited?.allowedRegions).map { $0.value.map { Region($0.value) } } ?? [home(syntax, inherited)]
        }

        let defaultAllowed = allowed(base, nil)
        let companyAllowed = state.companies.map { allowed($0.tenant, base) }
        var regionNames: [Region] = []
        var seen: Set<Region> = []
        for regions in [defaultAllowed] + companyAllowed {
            for region in regions where seen.insert(region).inserted { regionNames.append(region) }
        }
        let bits = TenantTable.bits(of: regionNames)

        func make(_ syntax: TenantSyntax?, company: CompanyID?, inherited: TenantSyntax?, regions: [Region]) -> Tenant {
            let planName = syntax?.plan ?? inherited?.plan
            let enabled = syntax?.enabled ?? inherited?.enabled
            return Tenant(
                companyID: company,
                planIndex: planName.flatMap { planIndex[$0.value] },
                homeRegion: home(syntax, inherited),
                allowedRegions: regions,
                allowedRegionSet: RegionSet(bits: regions.reduce(0) { $0 | (bits[$1] ?? 0) }),
                enabled: enabled?.value ?? true,
                location: syntax?.location,
                enabledLocation: enabled?.location,
                regionLocation: (syntax?.allowedRegions ?? inherited?.allowedRegions)?.location
                    ?? (syntax?.homeRegion ?? inherited?.homeRegion)?.location
            )
        }

        return TenantTable(
            defaultTenant: make(base, company: nil, inherited: nil, regions: defaultAllowed),
            tenants: zip(state.companies, companyAllowed).map { make($0.tenant, company: CompanyID($0.id.value), inherited: base, regions: $1) },
            regionNames: regionNames
        )
    }
}
