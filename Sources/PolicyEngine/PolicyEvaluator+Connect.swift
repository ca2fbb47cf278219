import GatewayModel
import PolicyLanguage

extension PolicyEvaluator {
    /// Connect: the company must exist in the token (unless service/admin), be enabled, and allow this node's region.
    public func connect(_ subject: Subject, trace: inout DecisionTrace?) -> Decision {
        guard checkTenant(subject, action: .connect, trace: &trace) != nil else { return tenantDenial(subject, action: .connect) }
        return .allow(.connect, limits: limits(for: subject, action: .connect))
    }

    /// The tenant checks shared by connect, subscribe and poll. Returns `nil` when they fail.
    func checkTenant(_ subject: Subject, action: PolicyAction, trace: inout DecisionTrace?) -> Tenant? {
        guard let tenant = subject.tenant, let company = subject.principal.companyID else {
            if action == .connect && (subject.isService || subject.isAdmin) {
                trace?.add("company", passed: true, "token names no company; a \(subject.isAdmin ? "admin" : "service") token may connect but receives no tenant's events")
                return policy.tenants.defaultTenant
            }
            trace?.add("company", passed: false, "token names no company")
            return nil
        }
        trace?.add("company", passed: true, "company '\(company)' (\(policy.tenants.isListed(company.rawValue) ? "listed" : "default tenant"))", at: tenant.location)
        guard tenant.enabled else {
            trace?.add("tenant", passed: false, "company '\(company)' is disabled", at: tenant.enabledLocation ?? tenant.location)
            return nil
        }
        trace?.add("tenant", passed: true, "company '\(company)' is enabled", at: tenant.enabledLocation)
        guard serves(tenant) else {
            trace?.add("region", passed: false, "node region '\(nodeRegion?.rawValue ?? "")' is not in allowed_regions [\(tenant.allowedRegions.map(\.rawValue).joined(separator: ", "))]", at: tenant.regionLocation)
            return nil
        }
        if let nodeRegion { trace?.add("region", passed: true, "node region '\(nodeRegion)' is allowed", at: tenant.regionLocation) }
        return tenant
    }

    /// The denial for a failed ``checkTenant(_:action:trace:)``.
    func tenantDenial(_ subject: Subject, action: PolicyAction) -> Decision {
        guard let tenant = subject.tenant, let company = subject.principal.companyID else {
            return .deny(action, .companyMissing, "token names no company")
        }
        guard tenant.enabled else {
            return .deny(action, .companyDisabled, "company \(company) is disabled", at: tenant.enabledLocation ?? tenant.location)
        }
        return .deny(
            action, .regionNotServed, "region \(nodeRegion?.rawValue ?? "") may not hold company \(company)'s data; its home region is \(tenant.homeRegion)",
            at: tenant.regionLocation)
    }
}
