import GatewayModel

/// Stage 1: merges the files of a policy folder, refusing conflicting definitions.
enum MergeDocuments {
    static let supportedVersion = 1

    /// Records the first definition of `name`; reports a later one and returns `false` for it.
    static func claim(_ name: Located<String>, _ kind: String, _ firsts: inout [String: SourceLocation], _ sink: inout DiagnosticSink) -> Bool {
        if let first = firsts[name.value] {
            sink.error(
                .conflictingDefinition,
                name.location,
                "\(kind) '\(name.value)' is already defined at \(first)",
                hint: "define each \(kind) once"
            )
            return false
        }
        firsts[name.value] = name.location
        return true
    }

    static func run(_ state: inout CompilationState) {
        var versionSeen = false
        var firstCompany: [String: SourceLocation] = [:]
        var firstPlan: [String: SourceLocation] = [:]
        for document in state.documents {
            if let version = document.version {
                versionSeen = true
                if version.value != supportedVersion {
                    state.sink.error(
                        .unsupportedVersion,
                        version.location,
                        "unsupported policy version \(version.value)",
                        hint: "this gateway reads version \(supportedVersion)"
                    )
                }
            }
            if let defaults = document.defaults {
                if let first = state.defaults {
                    state.sink.error(
                        .conflictingDefinition,
                        defaults.location,
                        "'defaults' is already defined at \(first.location)",
                        hint: "keep one 'defaults' section"
                    )
                } else {
                    state.defaults = defaults
                }
            }
            state.topics.append(contentsOf: document.topics)
            if let tenants = document.tenants {
                if let defaultTenant = tenants.defaultTenant {
                    if let first = state.defaultTenant {
                        state.sink.error(
                            .conflictingDefinition,
                            defaultTenant.location,
                            "'tenants.default' is already defined at \(first.location)",
                            hint: "keep one 'tenants.default'"
                        )
                    } else {
                        state.defaultTenant = defaultTenant
                    }
                }
                for company in tenants.companies where claim(company.id, "company", &firstCompany, &state.sink) {
                    state.companies.append(company)
                }
            }
            for plan in document.plans where claim(plan.name, "plan", &firstPlan, &state.sink) {
                state.plans.append(plan)
            }
        }
        let allParsed = state.documents.allSatisfy(\.parsed)
        let declared = state.documents.reduce(into: Set<String>()) { $0.formUnion($1.declaredKeys) }
        if !versionSeen, allParsed, !declared.contains("version"), let first = state.documents.first {
            state.sink.error(.missingKey, first.location, "the policy declares no 'version'", hint: "add 'version: \(supportedVersion)'")
        }
        if state.topics.isEmpty, allParsed, !declared.contains("topics"), let first = state.documents.first {
            state.sink.warning(
                .emptyWhitelist,
                first.location,
                "the policy whitelists no topics, so every subscribe and publish is refused",
                hint: "add a 'topics' list"
            )
        }
    }
}
