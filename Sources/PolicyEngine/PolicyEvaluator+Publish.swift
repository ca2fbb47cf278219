import GatewayModel
import PolicyLanguage

extension PolicyEvaluator {
    /// Publish: the event type must match a whitelisted pattern whose `publish` grant admits the
    /// principal; the company comes from `data.company_id` and must be the token's (or any, for a
    /// service token without company); the company must be enabled, the region allowed and served.
    /// Returns the enrichment: company, region and GDPR context with provenance (SPEC §6.5, §6.6).
    public func publish(_ subject: Subject, _ intent: PublishIntent, trace: inout DecisionTrace?) -> Decision {
        var matches = RuleMatches()
        if let problem = policy.trie.rules(covering: intent.eventType, allowWildcards: false, into: &matches) {
            trace?.add("whitelist", passed: false, "event type '\(intent.eventType)' \(problem)")
            return .deny(.publish, .topicMalformed, "event type \(problem)")
        }
        guard !matches.isEmpty else {
            trace?.add("whitelist", passed: false, "no whitelisted pattern matches '\(intent.eventType)'")
            return .deny(.publish, .topicNotWhitelisted, "event type is not whitelisted")
        }
        let best = mostSpecific(matches)
        var granting: CompiledTopicRule?
        for position in 0..<matches.count where policy.grants[matches[position]].admitsPublisher(subject.roles) {
            granting = policy.rules[matches[position]]
            break
        }
        guard let granting else {
            let rule = policy.rules[best]
            trace?.add("whitelist", passed: true, "'\(intent.eventType)' matches '\(rule.pattern)'", at: rule.location)
            trace?.add(
                "roles",
                passed: false,
                "publish grant allows \(rule.publish.summary); principal has [\(subject.principal.roles.joined(separator: ", "))]",
                at: rule.publish.location ?? rule.location
            )
            return .deny(
                .publish,
                .roleNotAllowed,
                "role may not publish this event type",
                rule: rule.index,
                at: rule.publish.location ?? rule.location
            )
        }
        trace?.add("whitelist", passed: true, "'\(intent.eventType)' matches '\(granting.pattern)'", at: granting.location)
        trace?.add("roles", passed: true, "publish grant allows \(granting.publish.summary)", at: granting.publish.location ?? granting.location)

        guard let companyText = intent.data.objectValue?["company_id"]?.identifierString, CompanyID.isWellFormed(companyText) else {
            trace?.add("company", passed: false, "the event has no usable data.company_id")
            return .deny(
                .publish,
                .companyMissing,
                "data.company_id is required: a string of 1-128 printable ASCII characters, or an integer below 2^53"
            )
        }
        if let problem = Self.problem(in: intent.gdpr) {
            trace?.add("gdpr", passed: false, problem)
            return .deny(.publish, .gdprInvalid, problem)
        }
        let company = CompanyID(companyText)
        if let own = subject.principal.companyID {
            guard own == company else {
                trace?.add("company", passed: false, "token of company '\(own)' may not publish for company '\(company)'")
                return .deny(.publish, .companyMismatch, "a token may only publish for its own company")
            }
        } else if !subject.isService {
            trace?.add("company", passed: false, "token names no company and is not a service token")
            return .deny(.publish, .companyMismatch, "a token without company must hold the service role")
        }
        let tenant = policy.tenants.tenant(for: companyText)
        trace?.add(
            "company",
            passed: true,
            "company '\(company)' (\(policy.tenants.isListed(companyText) ? "listed" : "default tenant"))",
            at: tenant.location
        )
        guard tenant.enabled else {
            trace?.add("tenant", passed: false, "company '\(company)' is disabled", at: tenant.enabledLocation ?? tenant.location)
            return .deny(.publish, .companyDisabled, "company is disabled", at: tenant.enabledLocation ?? tenant.location)
        }

        let region: Region
        let regionSource: FieldSource
        if let asked = intent.region {
            guard tenant.allows(Region(asked)) else {
                trace?.add(
                    "region",
                    passed: false,
                    "region '\(asked)' is not in allowed_regions [\(tenant.allowedRegions.map(\.rawValue).joined(separator: ", "))]",
                    at: tenant.regionLocation
                )
                return .deny(.publish, .regionNotAllowed, "region is not allowed for this company", at: tenant.regionLocation)
            }
            region = Region(asked)
            regionSource = .publisher
        } else {
            region = tenant.homeRegion
            regionSource = .tenant(tenant.regionLocation)
        }
        guard serves(tenant.allowedRegionSet) else {
            trace?.add(
                "region",
                passed: false,
                "node region '\(nodeRegion?.rawValue ?? "")' may not hold company '\(company)'s data",
                at: tenant.regionLocation
            )
            return .deny(
                .publish,
                .regionNotServed,
                "this node's region may not hold the company's data; its home region is \(tenant.homeRegion)",
                at: tenant.regionLocation
            )
        }
        trace?.add("region", passed: true, "event region '\(region)' (\(regionSource))")

        let enrichment = enrich(intent, company: company, region: region, regionSource: regionSource, rule: policy.rules[best])
        if trace != nil { recordEnrichment(enrichment, into: &trace) }
        var decision = Decision.allow(.publish, rule: granting.index, limits: .none)
        decision.enrichment = enrichment
        if let plan = tenant.planIndex {
            decision.limits = LimitPlan(
                limits: policy.plans[plan].limitsByAction[LimitAction.publish.ordinal],
                subject: subject,
                company: companyText
            )
        }
        return decision
    }

    /// What is wrong with publisher-given GDPR fields, held to the same bounds as policy values.
    static func problem(in gdpr: GDPRContext?) -> String? {
        guard let gdpr else { return nil }
        if let days = gdpr.retentionDays, !(1...36_500).contains(days) { return "gdpr_context.retention_days must be between 1 and 36500" }
        if let basis = gdpr.legalBasis, !GDPRContext.legalBases.contains(basis) {
            return "gdpr_context.legal_basis must be one of \(GDPRContext.legalBases.joined(separator: ", "))"
        }
        if let purpose = gdpr.purpose, !(1...128).contains(purpose.utf8.count) { return "gdpr_context.purpose must be 1-128 characters" }
        if let subject = gdpr.dataSubjectID, !(1...256).contains(subject.utf8.count) {
            return "gdpr_context.data_subject_id must be 1-256 characters"
        }
        return nil
    }

    /// The matching rule with the highest specificity; the first written wins a tie.
    func mostSpecific(_ matches: RuleMatches) -> Int {
        var best = matches[0]
        for position in 1..<max(matches.count, 1) {
            let candidate = matches[position]
            let a = policy.grants[candidate].specificity
            let b = policy.grants[best].specificity
            if a > b || (a == b && candidate < best) { best = candidate }
        }
        return best
    }

    /// Merges GDPR fields: publisher over topic rule over `defaults.gdpr` over configuration.
    func enrich(_ intent: PublishIntent, company: CompanyID, region: Region, regionSource: FieldSource, rule: CompiledTopicRule) -> Enrichment {
        let given = intent.gdpr ?? GDPRContext()
        let topic = rule.gdpr
        let defaults = policy.defaultGDPR
        var gdpr = GDPRContext()
        var provenance = Provenance(region: regionSource)

        func pick<T>(_ publisher: T?, _ rule: Located<T>?, _ fallback: Located<T>?) -> (T?, FieldSource?) {
            if let publisher { return (publisher, .publisher) }
            if let rule { return (rule.value, .topicRule(rule.location)) }
            if let fallback { return (fallback.value, .defaults(fallback.location)) }
            return (nil, nil)
        }
        (gdpr.consent, provenance.consent) = pick(given.consent, topic.consent, defaults.consent)
        (gdpr.purpose, provenance.purpose) = pick(given.purpose, topic.purpose, defaults.purpose)
        (gdpr.retentionDays, provenance.retentionDays) = pick(given.retentionDays, topic.retentionDays, defaults.retentionDays)
        if gdpr.retentionDays == nil {
            gdpr.retentionDays = policy.fallbackRetentionDays
            provenance.retentionDays = .configuration
        }
        (gdpr.legalBasis, provenance.legalBasis) = pick(given.legalBasis, topic.legalBasis, defaults.legalBasis)
        if let subject = given.dataSubjectID {
            gdpr.dataSubjectID = subject
            provenance.dataSubjectID = .publisher
        } else if let path = topic.dataSubject ?? defaults.dataSubject, let value = path.value.value(in: intent.data)?.identifierString {
            gdpr.dataSubjectID = value
            provenance.dataSubjectID = .dataPath(path.value.text, path.location)
        }
        return Enrichment(companyID: company, region: region, gdpr: gdpr, provenance: provenance)
    }

    func recordEnrichment(_ enrichment: Enrichment, into trace: inout DecisionTrace?) {
        let gdpr = enrichment.gdpr
        let fields: [(String, String?, FieldSource?)] = [
            ("consent", gdpr.consent.map { String($0) }, enrichment.provenance.consent),
            ("purpose", gdpr.purpose, enrichment.provenance.purpose),
            ("retention_days", gdpr.retentionDays.map { String($0) }, enrichment.provenance.retentionDays),
            ("legal_basis", gdpr.legalBasis, enrichment.provenance.legalBasis),
            ("data_subject_id", gdpr.dataSubjectID.map { _ in "<set>" }, enrichment.provenance.dataSubjectID),
        ]
        for (name, value, source) in fields {
            guard let value, let source else { continue }
            trace?.add("gdpr", passed: true, "\(name) = \(value) from \(source)")
        }
    }
}
