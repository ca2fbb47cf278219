import GatewayModel
import PolicyLanguage

/// The publish answer as plain values: the verdict and what enriching the event needs. The gate
/// decides with ``PolicyEvaluator/publish(_:_:)-(Subject,PublishIntent)``, then builds the
/// event's enrichment once with ``PolicyEvaluator/enrich(_:_:)`` when it writes the event.
public struct PublishVerdict: Sendable {
    /// Why; `.allowed` when the event may be published.
    public var reason: ReasonCode
    /// The rule whose publish grant admitted the publisher; on a role refusal the most specific
    /// matching rule; otherwise -1.
    public var ruleIndex: Int32
    /// The matching rule with the highest specificity: its GDPR declarations enrich the event.
    var gdprRule: Int32
    /// The company's position in the tenant table; -1 for the default tenant.
    var tenantIndex: Int32
    /// Whether the event goes to the region the publisher asked for (`intent.region`, allowed by
    /// the tenant) rather than the tenant's home region.
    var regionIsRequested: Bool
    /// Why the event type is malformed, when it is.
    var problem: TopicSyntaxProblem?

    /// Whether the event may be published (subject to the limits).
    @inlinable public var isAllowed: Bool { reason == .allowed }

    static func deny(_ reason: ReasonCode, rule: Int32 = -1, tenant: Int32 = -1) -> PublishVerdict {
        PublishVerdict(reason: reason, ruleIndex: rule, gdprRule: -1, tenantIndex: tenant, regionIsRequested: false, problem: nil)
    }
}

extension PolicyEvaluator {
    /// Publish, the hot-path form: the verdict as plain values, without enrichment or messages.
    public func publish(_ subject: Subject, _ intent: PublishIntent) -> PublishVerdict {
        var trace: DecisionTrace? = nil
        return publishVerdict(subject, intent, trace: &trace)
    }

    /// Publish as a full ``Decision``: the verdict, its message and location, and for an allowed
    /// event the enrichment and the `publish` limits.
    public func publish(_ subject: Subject, _ intent: PublishIntent, trace: inout DecisionTrace?) -> Decision {
        let verdict = publishVerdict(subject, intent, trace: &trace)
        guard verdict.isAllowed else { return denial(for: verdict, subject, intent) }
        let enrichment = enrich(intent, verdict)
        if trace != nil { recordEnrichment(enrichment, into: &trace) }
        var decision = Decision.allow(.publish, rule: Int(verdict.ruleIndex), limits: limits(forPublishing: intent, verdict, by: subject))
        decision.enrichment = enrichment
        return decision
    }

    /// The `publish` limits of the event's company, counted against the publisher.
    /// - Parameters:
    ///   - intent: the allowed event.
    ///   - verdict: its verdict, from ``publish(_:_:)-(Subject,PublishIntent)``.
    public func limits(forPublishing intent: PublishIntent, _ verdict: PublishVerdict, by subject: Subject) -> LimitPlan {
        guard let plan = policy.tenants.tenant(at: verdict.tenantIndex).planIndex else { return .none }
        return LimitPlan(
            limits: policy.plans[plan].limitsByAction[LimitAction.publish.ordinal],
            subject: subject,
            company: intent.companyText
        )
    }

    /// The publish checks (SPEC §6.2, §6.5): the event type must match a whitelisted pattern whose
    /// `publish` grant admits the principal; the company comes from `data.company_id` and must be
    /// the token's (or any, for a service token without company); the company must be enabled, the
    /// region allowed and served. Records each step when `trace` is not `nil`.
    func publishVerdict(_ subject: Subject, _ intent: PublishIntent, trace: inout DecisionTrace?) -> PublishVerdict {
        var matches = RuleMatches()
        if let problem = trie.rules(covering: intent.eventType, allowWildcards: false, into: &matches) {
            trace?.add("whitelist", passed: false, "event type '\(intent.eventType)' \(problem)")
            var verdict = PublishVerdict.deny(.topicMalformed)
            verdict.problem = problem
            return verdict
        }
        guard !matches.isEmpty else {
            trace?.add("whitelist", passed: false, "no whitelisted pattern matches '\(intent.eventType)'")
            return .deny(.topicNotWhitelisted)
        }
        let best = matches.mostSpecific
        var granting = -1
        for position in 0..<matches.count where policy.grants[matches[position]].admitsPublisher(subject.roles) {
            granting = matches[position]
            break
        }
        guard granting >= 0 else {
            if trace != nil {
                let rule = policy.rules[best]
                trace?.add("whitelist", passed: true, "'\(intent.eventType)' matches '\(rule.pattern)'", at: rule.location)
                trace?.add(
                    "roles",
                    passed: false,
                    "publish grant allows \(rule.publish.summary); principal has [\(subject.principal.roles.joined(separator: ", "))]",
                    at: rule.publish.location ?? rule.location
                )
            }
            return .deny(.roleNotAllowed, rule: Int32(best))
        }
        if trace != nil {
            let rule = policy.rules[granting]
            trace?.add("whitelist", passed: true, "'\(intent.eventType)' matches '\(rule.pattern)'", at: rule.location)
            trace?.add("roles", passed: true, "publish grant allows \(rule.publish.summary)", at: rule.publish.location ?? rule.location)
        }

        // One pass over the id's bytes checks it and finds its tenant.
        guard let companyText = intent.companyText, let tenantIndex = policy.tenants.checkedPosition(of: companyText) else {
            trace?.add("company", passed: false, "the event has no usable data.company_id")
            return .deny(.companyMissing)
        }
        if let problem = Self.problem(in: intent.gdpr) ?? dataSubjectProblem(intent, rule: best) {
            trace?.add("gdpr", passed: false, problem)
            return .deny(.gdprInvalid, rule: Int32(best))
        }
        if let own = subject.principal.companyID {
            guard own.rawValue == companyText else {
                trace?.add("company", passed: false, "token of company '\(own)' may not publish for company '\(companyText)'")
                return .deny(.companyMismatch)
            }
        } else if !subject.isService {
            trace?.add("company", passed: false, "token names no company and is not a service token")
            return .deny(.companyMismatch)
        }
        let tenant = policy.tenants.summary(at: tenantIndex)
        if trace != nil {
            let entry = policy.tenants.tenant(at: tenantIndex)
            trace?.add("company", passed: true, "company '\(companyText)' (\(tenantIndex >= 0 ? "listed" : "default tenant"))", at: entry.location)
            if !tenant.enabled {
                trace?.add("tenant", passed: false, "company '\(companyText)' is disabled", at: entry.enabledLocation ?? entry.location)
            }
        }
        guard tenant.enabled else { return .deny(.companyDisabled, tenant: tenantIndex) }
        if let asked = intent.region {
            let entry = policy.tenants.tenant(at: tenantIndex)
            guard entry.allows(Region(asked)) else {
                trace?.add(
                    "region",
                    passed: false,
                    "region '\(asked)' is not in allowed_regions [\(entry.allowedRegions.map(\.rawValue).joined(separator: ", "))]",
                    at: entry.regionLocation
                )
                return .deny(.regionNotAllowed, tenant: tenantIndex)
            }
        }
        guard serves(tenant.allowedRegionSet) else {
            trace?.add(
                "region",
                passed: false,
                "node region '\(nodeRegion?.rawValue ?? "")' may not hold company '\(companyText)'s data",
                at: policy.tenants.tenant(at: tenantIndex).regionLocation
            )
            return .deny(.regionNotServed, tenant: tenantIndex)
        }
        if trace != nil {
            let entry = policy.tenants.tenant(at: tenantIndex)
            let source = intent.region == nil ? FieldSource.tenant(entry.regionLocation) : .publisher
            trace?.add("region", passed: true, "event region '\(intent.region.map { Region($0) } ?? entry.homeRegion)' (\(source))")
        }
        return PublishVerdict(
            reason: .allowed,
            ruleIndex: Int32(granting),
            gdprRule: Int32(best),
            tenantIndex: tenantIndex,
            regionIsRequested: intent.region != nil,
            problem: nil
        )
    }

    /// A refused publish as a ``Decision``: its message for the publisher and the rule or setting that refused.
    func denial(for verdict: PublishVerdict, _ subject: Subject, _ intent: PublishIntent) -> Decision {
        let tenant = policy.tenants.tenant(at: verdict.tenantIndex)
        switch verdict.reason {
        case .topicMalformed: return .deny(.publish, .topicMalformed, "event type \(verdict.problem ?? .empty)")
        case .topicNotWhitelisted: return .deny(.publish, .topicNotWhitelisted, "event type is not whitelisted")
        case .roleNotAllowed:
            let rule = policy.rules[Int(verdict.ruleIndex)]
            return .deny(
                .publish,
                .roleNotAllowed,
                "role may not publish this event type",
                rule: rule.index,
                at: rule.publish.location ?? rule.location
            )
        case .companyMissing:
            return .deny(
                .publish,
                .companyMissing,
                "data.company_id is required: a string of 1-128 printable ASCII characters, or an integer below 2^53"
            )
        case .gdprInvalid:
            let problem = Self.problem(in: intent.gdpr) ?? dataSubjectProblem(intent, rule: Int(verdict.ruleIndex))
            return .deny(.publish, .gdprInvalid, problem ?? "gdpr_context is invalid")
        case .companyMismatch:
            return subject.principal.companyID == nil
                ? .deny(.publish, .companyMismatch, "a token without company must hold the service role")
                : .deny(.publish, .companyMismatch, "a token may only publish for its own company")
        case .companyDisabled: return .deny(.publish, .companyDisabled, "company is disabled", at: tenant.enabledLocation ?? tenant.location)
        case .regionNotAllowed: return .deny(.publish, .regionNotAllowed, "region is not allowed for this company", at: tenant.regionLocation)
        default:
            return .deny(
                .publish,
                .regionNotServed,
                "this node's region may not hold the company's data; its home region is \(tenant.homeRegion)",
                at: tenant.regionLocation
            )
        }
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

    /// The enrichment of an allowed publish: company, region and the GDPR context merged publisher
    /// over topic rule over `defaults.gdpr` over configuration, with the provenance of each field.
    /// Built once per event, when the gate writes it.
    public func enrich(_ intent: PublishIntent, _ verdict: PublishVerdict) -> Enrichment {
        let tenant = policy.tenants.tenant(at: verdict.tenantIndex)
        let requested = verdict.regionIsRequested ? intent.region.map { Region($0) } : nil
        let region = requested ?? tenant.homeRegion
        let regionSource: FieldSource = requested == nil ? .tenant(tenant.regionLocation) : .publisher
        let rule = policy.rules[Int(verdict.gdprRule)]
        let company = CompanyID(intent.companyText ?? "")
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
        let path = topic.dataSubject ?? defaults.dataSubject
        let fromData = path.flatMap { $0.value.value(in: intent.data)?.identifierString }
        if let subject = given.dataSubjectID {
            gdpr.dataSubjectID = subject
            provenance.dataSubjectID = .publisher
        } else if let path, let fromData {
            gdpr.dataSubjectID = fromData
            provenance.dataSubjectID = .dataPath(path.value.text, path.location)
        }
        var subjects = gdpr.dataSubjectID.map { [$0] } ?? []
        if let fromData, !subjects.contains(fromData) { subjects.append(fromData) }
        return Enrichment(companyID: company, region: region, gdpr: gdpr, provenance: provenance, dataSubjectIDs: subjects)
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
