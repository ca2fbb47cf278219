import GatewayModel

/// Stage 6: checks region names, plan references and that every tenant's home region is allowed.
enum CheckRegionRefs {
    static func run(_ state: inout CompilationState) {
        if let region = state.defaults?.region { checkName(region, &state.sink) }
        checkRegionCount(state.defaultTenant, state.companies.map(\.tenant), &state.sink)
        let planNames = state.plans.map(\.name.value)
        let inherited = state.defaultTenant
        if let tenant = state.defaultTenant { check(tenant, inherited: nil, name: "the default tenant", planNames: planNames, &state) }
        for company in state.companies {
            let id = company.id.value
            if !CompanyID.isWellFormed(id) {
                state.sink.error(.invalidCompany, company.id.location, "company id '\(id)' must be 1-128 printable ASCII characters without spaces")
            }
            check(company.tenant, inherited: inherited, name: "company '\(id)'", planNames: planNames, &state)
        }
    }

    /// - Parameter name: how messages name the tenant; only built when there is a problem to report.
    static func check(
        _ tenant: TenantSyntax,
        inherited: TenantSyntax?,
        name: @autoclosure () -> String,
        planNames: [String],
        _ state: inout CompilationState
    ) {
        if let plan = tenant.plan, !planNames.contains(plan.value) {
            state.sink.error(
                .unknownPlan,
                plan.location,
                "\(name()) uses unknown plan '\(plan.value)'",
                hint: KeySuggestion.hint(for: plan.value, in: planNames) ?? ResolveExtends.known(planNames)
            )
        }
        if let home = tenant.homeRegion { checkName(home, &state.sink) }
        for region in tenant.allowedRegions?.value ?? [] { checkName(region, &state.sink) }
        if let allowed = tenant.allowedRegions, allowed.value.isEmpty {
            state.sink.error(
                .regionNotAllowed,
                allowed.location,
                "\(name()) allows no region, so its data could be held nowhere",
                hint: "list at least its home region"
            )
            return
        }
        let home = tenant.homeRegion ?? inherited?.homeRegion
        let homeValue = home?.value ?? state.defaults?.region?.value ?? state.configuration.defaultRegion.rawValue
        guard let allowed = tenant.allowedRegions ?? inherited?.allowedRegions else { return }
        guard !allowed.value.contains(where: { $0.value == homeValue }) else { return }
        let location = tenant.homeRegion?.location ?? tenant.allowedRegions?.location ?? tenant.location
        let listed = allowed.value.map(\.value).joined(separator: ", ")
        state.sink.error(
            .regionNotAllowed,
            location,
            "\(name()) has home_region '\(homeValue)', which is not in its allowed_regions [\(listed)]",
            hint: "add '\(homeValue)' to allowed_regions or change home_region"
        )
    }

    /// Regions are bits of a 64-bit set on the hot path, so a policy may name at most 64.
    static func checkRegionCount(_ defaultTenant: TenantSyntax?, _ companies: [TenantSyntax], _ sink: inout DiagnosticSink) {
        var seen: Set<String> = []
        for tenant in [defaultTenant].compactMap({ $0 }) + companies {
            for region in tenant.allowedRegions?.value ?? [] where seen.insert(region.value).inserted && seen.count == TenantTable.regionCapacity + 1
            {
                sink.error(
                    .tooManyRegions,
                    region.location,
                    "the policy names more than \(TenantTable.regionCapacity) distinct regions",
                    hint: "at most \(TenantTable.regionCapacity) regions are supported"
                )
            }
        }
    }

    static func checkName(_ region: Located<String>, _ sink: inout DiagnosticSink) {
        if !Region.isWellFormed(region.value) {
            sink.error(
                .invalidRegion,
                region.location,
                "region '\(region.value)' is not a region name",
                hint: "use lower-case letters, digits and '-', e.g. 'eu-west-1'"
            )
        }
    }
}
