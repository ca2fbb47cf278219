import GatewayModel
import PolicyLanguage

extension PolicyEvaluator {
    /// Connect: the company must exist in the token (unless service/admin), be enabled, and allow this node's region.
    public func connect(_ subject: Subject, trace: inout DecisionTrace?) -> Decision {
        guard checkTenant(subject, action: .connect, trace: &trace) else { return tenantDenial(subject, action: .connect) }
        return .allow(.connect, limits: limits(for: subject, action: .connect))
    }

    /// The tenant checks shared by connect, subscribe and poll: a company (unless a service or
    /// admin token connects), enabled, and allowed in this node's region.
    func checkTenant(_ subject: Subject, action: PolicyAction, trace: inout DecisionTrace?) -> Bool {
        guard subject.tenant != nil, subject.principal.companyID != nil else {
            // Only a token that names no company at all may connect without one; a malformed company id never does.
            if action == .connect && subject.principal.companyID == nil && (subject.isService || subject.isAdmin) {
                trace?.add(
                    "company",
                    passed: true,
                    "token names no company; a \(subject.isAdmin ? "admin" : "service") token may connect but receives no tenant's events"
                )
                return true
            }
            trace?.add("company", passed: false, subject.principal.companyID == nil ? "token names no company" : "token's company id is malformed")
            return false
        }
        if trace != nil, let tenant = subject.tenant, let company = subject.principal.companyID {
            trace?.add(
                "company",
                passed: true,
                "company '\(company)' (\(policy.tenants.isListed(company.rawValue) ? "listed" : "default tenant"))",
                at: tenant.location
            )
            trace?.add(
                "tenant",
                passed: subject.tenantEnabled,
                "company '\(company)' is \(subject.tenantEnabled ? "enabled" : "disabled")",
                at: tenant.enabledLocation ?? (subject.tenantEnabled ? nil : tenant.location)
            )
        }
        guard subject.tenantEnabled else { return false }
        guard serves(subject.tenantRegions) else {
            if let tenant = subject.tenant {
                trace?.add(
                    "region",
                    passed: false,
                    "node region '\(nodeRegion?.rawValue ?? "")' is not in allowed_regions [\(tenant.allowedRegions.map(\.rawValue).joined(separator: ", "))]",
                    at: tenant.regionLocation
                )
            }
            return false
        }
        if let nodeRegion { trace?.add("region", passed: true, "node region '\(nodeRegion)' is allowed", at: subject.tenant?.regionLocation) }
        return true
    }

    /// Why ``checkTenant(_:action:trace:)`` failed.
    func tenantReason(_ subject: Subject) -> ReasonCode {
        guard let tenant = subject.tenant, subject.principal.companyID != nil else { return .companyMissing }
        return tenant.enabled ? .regionNotServed : .companyDisabled
    }

    /// The denial for a failed ``checkTenant(_:action:trace:)``.
    func tenantDenial(_ subject: Subject, action: PolicyAction) -> Decision {
        guard let tenant = subject.tenant, let company = subject.principal.companyID else {
            return .deny(action, .companyMissing, subject.principal.companyID == nil ? "token names no company" : "token's company id is malformed")
        }
        guard tenant.enabled else {
            return .deny(action, .companyDisabled, "company \(company) is disabled", at: tenant.enabledLocation ?? tenant.location)
        }
        return .deny(
            action,
            .regionNotServed,
            "region \(nodeRegion?.rawValue ?? "") may not hold company \(company)'s data; its home region is \(tenant.homeRegion)",
            at: tenant.regionLocation
        )
    }
}
