import GatewayModel
import Yams

/// Reads one policy file's YAML into a ``PolicyDocument``, collecting every syntax, key and type
/// problem instead of stopping at the first.
public enum PolicyReader {
    /// The top-level keys of a policy file.
    public static let rootKeys = ["version", "defaults", "topics", "tenants", "plans"]
    static let defaultsKeys = ["region", "gdpr"]
    static let gdprKeys = ["consent", "purpose", "retention_days", "legal_basis", "data_subject"]
    static let topicKeys = ["pattern", "subscribe", "publish", "gdpr", "pii", "shadow"]
    static let grantKeys = ["roles"]
    static let tenantsKeys = ["default", "companies"]
    static let tenantKeys = ["plan", "home_region", "allowed_regions", "enabled"]
    static let planKeys = ["extends", "rate_limits"]
    static let limitKeys = ["scope", "action", "limit", "per", "burst", "shadow", "on_store_error"]

    /// Parses `text` as the policy file `file`.
    /// - Returns: the document (possibly partial) and the diagnostics found while reading it.
    public static func read(_ text: String, file: String) -> (PolicyDocument, [Diagnostic]) {
        // A large file is read in two pieces on two threads when it splits safely; the result is the same.
        if let read = PolicySplitReader.read(text, file: file) { return read }
        let root: Node?
        do {
            root = try ScalarKind.compose(text)
        } catch {
            var document = PolicyDocument(file: file, location: SourceLocation(file: file, line: 1, column: 1))
            document.parsed = false
            return (document, [syntaxDiagnostic(error, file: file, text: text)])
        }
        return read(root: root, file: file)
    }

    /// Reads a composed policy file (`nil`: an empty file).
    static func read(root: Node?, file: String) -> (PolicyDocument, [Diagnostic]) {
        var reader = YAMLNodeReader(file: file)
        var document = PolicyDocument(file: file, location: SourceLocation(file: file, line: 1, column: 1))
        guard let root else { return (document, []) }  // an empty file contributes nothing
        document.location = reader.location(of: root)
        guard let pairs = reader.mapping(root, "the policy file", allowed: rootKeys) else {
            document.parsed = false
            return (document, reader.sink.items)
        }
        for (key, _, value) in pairs {
            document.declaredKeys.insert(key)
            switch key {
            case "version": document.version = reader.int(value, "'version'")
            case "defaults": document.defaults = readDefaults(value, &reader)
            case "topics": document.topics = reader.sequence(value, "'topics'")?.compactMap { readTopic($0, &reader) } ?? []
            case "tenants": document.tenants = readTenants(value, &reader)
            case "plans": document.plans = readPlans(value, &reader)
            default: break
            }
        }
        return (document, reader.sink.items)
    }

    /// A YAML parse error as a located diagnostic.
    /// - Parameters:
    ///   - error: what Yams threw.
    ///   - file: the file's path.
    ///   - text: the file's text, to locate the second of two duplicate keys.
    public static func syntaxDiagnostic(_ error: any Error, file: String, text: String) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: max(mark.line, 1), column: max(mark.column, 1)) }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let message = context.map { "\(problem) \($0.text)" } ?? problem
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let line = mark.line >= 1 && mark.line <= lines.count ? lines[mark.line - 1] : ""
            let hint = line.prefix { $0 == " " || $0 == "\t" }.contains("\t") ? "YAML does not allow tabs for indentation; use spaces" : nil
            return Diagnostic(.error, .yamlSyntax, at: at(mark), "YAML syntax: \(message)", hint: hint)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            let first = at(context.mark)
            let second = duplicates.first.flatMap { repeatedKey($0, after: context.mark, in: text) }.map {
                SourceLocation(file: file, line: $0.line, column: $0.column)
            }
            let where_ = second == nil ? "" : "; the first is on line \(first.line)"
            return Diagnostic(.error, .duplicateKey, at: second ?? first, "duplicate key \(keys) in one mapping\(where_)", hint: "keep one of them")
        case .reader(let problem, _, _, _):
            return Diagnostic(.error, .yamlSyntax, at: SourceLocation(file: file, line: 1, column: 1), "YAML syntax: \(problem)")
        default:
            return Diagnostic(.error, .yamlSyntax, at: SourceLocation(file: file, line: 1, column: 1), "YAML syntax: \(error)")
        }
    }

    /// Yams reports the first of two equal keys; the repeat is the next line at the same column
    /// that starts with the key, before the mapping's indentation ends.
    static func repeatedKey(_ key: String, after mark: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        let indent = mark.column - 1
        let spellings = [key + ":", "\"" + key + "\":", "'" + key + "':"]
        for index in mark.line..<lines.count {
            let line = lines[index]
            let leading = line.prefix { $0 == " " || $0 == "-" }.count
            let content = line.drop { $0 == " " }
            if content.isEmpty || content.hasPrefix("#") { continue }
            if leading < indent { return nil }
            let rest = line.dropFirst(indent)
            if leading == indent || line.prefix(indent).allSatisfy({ $0 == " " || $0 == "-" }) {
                if spellings.contains(where: { rest.hasPrefix($0) }) { return (index + 1, mark.column) }
            }
        }
        return nil
    }

    static func readDefaults(_ node: Node, _ reader: inout YAMLNodeReader) -> DefaultsSyntax? {
        guard let pairs = reader.mapping(node, "'defaults'", allowed: defaultsKeys) else { return nil }
        var defaults = DefaultsSyntax(location: reader.location(of: node))
        for (key, _, value) in pairs {
            switch key {
            case "region": defaults.region = reader.string(value, "'defaults.region'")
            case "gdpr": defaults.gdpr = readGDPR(value, "'defaults.gdpr'", &reader)
            default: break
            }
        }
        return defaults
    }

    static func readGDPR(_ node: Node, _ what: @autoclosure () -> String, _ reader: inout YAMLNodeReader) -> GDPRSyntax? {
        guard let pairs = reader.mapping(node, what(), allowed: gdprKeys) else { return nil }
        var gdpr = GDPRSyntax(location: reader.location(of: node))
        for (key, _, value) in pairs {
            switch key {
            case "consent": gdpr.consent = reader.bool(value, "'consent'")
            case "purpose": gdpr.purpose = reader.string(value, "'purpose'")
            case "retention_days": gdpr.retentionDays = reader.int(value, "'retention_days'")
            case "legal_basis": gdpr.legalBasis = reader.string(value, "'legal_basis'")
            case "data_subject": gdpr.dataSubject = reader.string(value, "'data_subject'")
            default: break
            }
        }
        return gdpr
    }

    static func readTopic(_ node: Node, _ reader: inout YAMLNodeReader) -> TopicRuleSyntax? {
        guard let pairs = reader.mapping(node, "a topic rule", allowed: topicKeys) else { return nil }
        var rule = TopicRuleSyntax(location: reader.location(of: node))
        for (key, _, value) in pairs {
            switch key {
            case "pattern": rule.pattern = reader.string(value, "'pattern'")
            case "subscribe": rule.subscribe = readGrant(value, "'subscribe'", &reader)
            case "publish": rule.publish = readGrant(value, "'publish'", &reader)
            case "gdpr": rule.gdpr = readGDPR(value, "a topic's 'gdpr'", &reader)
            case "pii": rule.pii = reader.strings(value, "'pii'") ?? []
            case "shadow": rule.shadow = reader.bool(value, "'shadow'")
            default: break
            }
        }
        if rule.pattern == nil, !pairs.contains(where: { $0.key == "pattern" }) {
            reader.sink.error(.missingKey, rule.location, "topic rule has no 'pattern'", hint: "add e.g. pattern: \"deal.stage.*\"")
        }
        return rule
    }

    static func readGrant(_ node: Node, _ what: @autoclosure () -> String, _ reader: inout YAMLNodeReader) -> RoleGrantSyntax? {
        guard let pairs = reader.mapping(node, what(), allowed: grantKeys) else { return nil }
        var grant = RoleGrantSyntax(location: reader.location(of: node))
        guard let roles = pairs.first(where: { $0.key == "roles" }) else {
            reader.sink.error(.missingKey, grant.location, "\(what()) has no 'roles'", hint: "add roles: [ROLE, ...]")
            return nil
        }
        grant.roles = reader.strings(roles.value, "'roles'") ?? []
        return grant
    }

    static func readTenants(_ node: Node, _ reader: inout YAMLNodeReader) -> TenantsSyntax? {
        guard let pairs = reader.mapping(node, "'tenants'", allowed: tenantsKeys) else { return nil }
        var tenants = TenantsSyntax(location: reader.location(of: node))
        for (key, _, value) in pairs {
            switch key {
            case "default": tenants.defaultTenant = readTenant(value, "'tenants.default'", &reader)
            case "companies":
                guard let companies = reader.anyMapping(value, "'tenants.companies'") else { continue }
                for (_, keyNode, tenantNode) in companies {
                    guard let id = reader.string(keyNode, "a company id", acceptNumbers: true) else { continue }
                    if let tenant = readTenant(tenantNode, "company '\(id.value)'", &reader) {
                        tenants.companies.append((id, tenant))
                    }
                }
            default: break
            }
        }
        return tenants
    }

    static func readTenant(_ node: Node, _ what: @autoclosure () -> String, _ reader: inout YAMLNodeReader) -> TenantSyntax? {
        guard let pairs = reader.mapping(node, what(), allowed: tenantKeys) else { return nil }
        var tenant = TenantSyntax(location: reader.location(of: node))
        for (key, _, value) in pairs {
            switch key {
            case "plan": tenant.plan = reader.string(value, "'plan'")
            case "home_region": tenant.homeRegion = reader.string(value, "'home_region'")
            case "allowed_regions":
                if let regions = reader.strings(value, "'allowed_regions'") {
                    tenant.allowedRegions = Located(regions, at: reader.location(of: value))
                }
            case "enabled": tenant.enabled = reader.bool(value, "'enabled'")
            default: break
            }
        }
        return tenant
    }

    static func readPlans(_ node: Node, _ reader: inout YAMLNodeReader) -> [PlanSyntax] {
        guard let plans = reader.anyMapping(node, "'plans'") else { return [] }
        var result: [PlanSyntax] = []
        for (_, keyNode, planNode) in plans {
            guard let name = reader.string(keyNode, "a plan name") else { continue }
            guard let pairs = reader.mapping(planNode, "plan '\(name.value)'", allowed: planKeys) else { continue }
            var plan = PlanSyntax(name: name, location: reader.location(of: planNode))
            for (key, _, value) in pairs {
                switch key {
                case "extends": plan.extends = reader.string(value, "'extends'")
                case "rate_limits": plan.rateLimits = reader.sequence(value, "'rate_limits'")?.compactMap { readLimit($0, &reader) } ?? []
                default: break
                }
            }
            result.append(plan)
        }
        return result
    }

    static func readLimit(_ node: Node, _ reader: inout YAMLNodeReader) -> LimitSyntax? {
        guard let pairs = reader.mapping(node, "a rate limit", allowed: limitKeys) else { return nil }
        var limit = LimitSyntax(location: reader.location(of: node))
        for (key, _, value) in pairs {
            switch key {
            case "scope": limit.scope = reader.string(value, "'scope'")
            case "action": limit.action = reader.string(value, "'action'")
            case "limit": limit.limit = reader.int(value, "'limit'")
            case "per": limit.per = reader.string(value, "'per'")
            case "burst": limit.burst = reader.int(value, "'burst'")
            case "shadow": limit.shadow = reader.bool(value, "'shadow'")
            case "on_store_error": limit.onStoreError = reader.string(value, "'on_store_error'")
            default: break
            }
        }
        let examples = [
            "scope": "ip, user or company", "action": "connect, subscribe, publish, poll or deliver", "limit": "a positive count",
            "per": "second, minute or hour",
        ]
        for required in ["scope", "action", "limit", "per"] where !pairs.contains(where: { $0.key == required }) {
            reader.sink.error(.missingKey, limit.location, "rate limit has no '\(required)'", hint: "add \(required): \(examples[required] ?? "")")
        }
        return limit
    }
}
