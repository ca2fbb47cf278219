import GatewayModel

/// Stage 4: parses every pattern and checks roles, GDPR declarations and PII paths; refuses
/// exact duplicates (which rule would apply is ambiguous), except a shadow rule restating a live one.
enum CheckTopicPatterns {
    static func run(_ state: inout CompilationState) {
        if let gdpr = state.defaults?.gdpr { state.defaultGDPR = declaration(gdpr, &state.sink) }
        var firstByText: [String: SourceLocation] = [:]
        for rule in state.topics {
            var pattern: TopicPattern?
            if let text = rule.pattern {
                do {
                    pattern = try TopicPattern(text.value)
                } catch {
                    state.sink.error(
                        .malformedPattern,
                        text.location,
                        "pattern '\(text.value)' \(error)",
                        hint: "write 2-8 dot-separated segments of a-z, 0-9, _ or a whole '*', e.g. 'deal.stage.*'"
                    )
                }
                if let pattern {
                    // A shadow rule may restate a live rule's pattern (it is the stricter version on trial).
                    let key = (rule.shadow?.value == true ? "shadow " : "") + pattern.text
                    if let first = firstByText[key] {
                        let message =
                            first == text.location
                            ? "pattern '\(pattern.text)' is whitelisted twice through a YAML alias"
                            : "pattern '\(pattern.text)' is already whitelisted at \(first)"
                        state.sink.error(.duplicatePattern, text.location, message, hint: "merge the two rules")
                    } else {
                        firstByText[key] = text.location
                    }
                }
            }
            state.patterns.append(pattern)
            for grant in [rule.subscribe, rule.publish].compactMap({ $0 }) {
                checkRoles(grant, &state)
            }
            state.ruleGDPR.append(rule.gdpr.map { declaration($0, &state.sink) } ?? GDPRDeclaration())
            var pii: [DataPath] = []
            for path in rule.pii {
                if let parsed = DataPath(path.value) {
                    pii.append(parsed)
                } else {
                    state.sink.error(
                        .invalidDataPath,
                        path.location,
                        "PII path '\(path.value)' is not under 'data.'",
                        hint: "write e.g. 'data.contact_email'"
                    )
                }
            }
            state.rulePII.append(pii)
        }
        let piiPaths = Set(state.rulePII.joined().map(\.text))
        if piiPaths.count > CompiledPolicy.piiPathCapacity {
            let location = state.topics.first?.location ?? SourceLocation(file: "<policy>", line: 1, column: 1)
            state.sink.error(
                .tooManyPIIPaths,
                location,
                "the policy names \(piiPaths.count) distinct PII paths; at most \(CompiledPolicy.piiPathCapacity) are supported"
            )
        }
        if state.roleNames.count > RoleTable.capacity {
            let location = state.topics.first?.location ?? SourceLocation(file: "<policy>", line: 1, column: 1)
            state.sink.error(
                .tooManyRoles,
                location,
                "the policy names \(state.roleNames.count) distinct roles; at most \(RoleTable.capacity) are supported"
            )
        }
    }

    static func checkRoles(_ grant: RoleGrantSyntax, _ state: inout CompilationState) {
        if grant.roles.isEmpty {
            state.sink.warning(
                .emptyRoles,
                grant.location,
                "'roles' is empty, so no principal is granted this action",
                hint: "name at least one role or remove the grant"
            )
        }
        for role in grant.roles {
            if isValidRole(role.value) {
                state.noteRole(role.value)
            } else {
                state.sink.error(
                    .invalidRole,
                    role.location,
                    "role '\(role.value)' is not a valid role name",
                    hint: "use letters, digits, '_', '-', '.' or ':'"
                )
            }
        }
    }

    static func isValidRole(_ role: String) -> Bool {
        (1...64).contains(role.utf8.count)
            && role.utf8.allSatisfy { byte in
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                    || byte == 0x5F || byte == 0x2D || byte == 0x2E || byte == 0x3A
            }
    }

    static func declaration(_ syntax: GDPRSyntax, _ sink: inout DiagnosticSink) -> GDPRDeclaration {
        var declaration = GDPRDeclaration()
        declaration.consent = syntax.consent
        if let purpose = syntax.purpose {
            if purpose.value.isEmpty || purpose.value.utf8.count > 128 {
                sink.error(.invalidGDPR, purpose.location, "'purpose' must be 1-128 characters", hint: "e.g. 'service_delivery'")
            } else {
                declaration.purpose = purpose
            }
        }
        if let retention = syntax.retentionDays {
            if retention.value <= 0 || retention.value > 36_500 {
                sink.error(
                    .invalidGDPR,
                    retention.location,
                    "'retention_days' is \(retention.value); it must be between 1 and 36500",
                    hint: "events are purged this many days after publish"
                )
            } else {
                declaration.retentionDays = retention
            }
        }
        if let basis = syntax.legalBasis {
            if GDPRContext.legalBases.contains(basis.value) {
                declaration.legalBasis = basis
            } else {
                sink.error(
                    .invalidGDPR,
                    basis.location,
                    "unknown legal basis '\(basis.value)'",
                    hint: KeySuggestion.hint(for: basis.value, in: GDPRContext.legalBases)
                        ?? "use one of \(GDPRContext.legalBases.joined(separator: ", "))"
                )
            }
        }
        if let subject = syntax.dataSubject {
            if let path = DataPath(subject.value) {
                declaration.dataSubject = Located(path, at: subject.location)
            } else {
                sink.error(
                    .invalidDataPath,
                    subject.location,
                    "data_subject '\(subject.value)' is not a path under 'data.'",
                    hint: "write e.g. 'data.contact_id'"
                )
            }
        }
        return declaration
    }
}
