import GatewayModel
import PolicyLanguage
import Testing

@Suite("Policy compiler")
struct CompilerTests {
    static let base = """
        version: 1
        defaults: { region: us-east-1 }
        topics:
          - pattern: "deal.stage.*"
            subscribe: { roles: [sales] }
        tenants:
          default: { plan: standard }
          companies:
            "456": { home_region: eu-west-1, allowed_regions: [eu-west-1] }
            789: { enabled: false, plan: enterprise }
        plans:
          standard:
            rate_limits:
              - { scope: company, action: publish, limit: 500, per: second }
              - { scope: user, action: poll, limit: 5, per: second }
          enterprise:
            extends: standard
            rate_limits:
              - { scope: company, action: publish, limit: 5000, per: minute, burst: 100 }
        """

    func compile(_ files: [(String, String)]) throws -> CompiledPolicy {
        try PolicyCompiler().compile(files.map { PolicySource(path: $0.0, text: $0.1) })
    }

    @Test("extends inherits by (scope, action) and overrides what it redefines")
    func extendsOverrides() throws {
        let policy = try compile([("p.yaml", Self.base)])
        let enterprise = try #require(policy.plans.first { $0.name == "enterprise" })
        #expect(enterprise.ancestors == ["standard"])
        let publish = enterprise.limits(for: .publish)
        #expect(publish.count == 1)
        #expect(publish[0].gcra.limit == 5000 && publish[0].gcra.periodNanos == 60_000_000_000 && publish[0].gcra.burst == 100)
        #expect(publish[0].plan == "enterprise")
        #expect(enterprise.limits(for: .poll).first?.plan == "standard")
    }

    @Test("companies inherit the default tenant field by field; numeric ids are strings")
    func tenantsMerge() throws {
        let policy = try compile([("p.yaml", Self.base)])
        let eu = policy.tenants.tenant(for: "456")
        #expect(eu.homeRegion == "eu-west-1")
        #expect(eu.allowedRegions == ["eu-west-1"])
        #expect(eu.planIndex.map { policy.plans[$0].name } == "standard")
        let disabled = policy.tenants.tenant(for: "789")
        #expect(!disabled.enabled)
        #expect(disabled.planIndex.map { policy.plans[$0].name } == "enterprise")
        let unlisted = policy.tenants.tenant(for: "42")
        #expect(unlisted.companyID == nil && unlisted.homeRegion == "us-east-1" && unlisted.allowedRegions == ["us-east-1"])
    }

    @Test("a folder's files merge; conflicting definitions are located errors")
    func mergeFiles() throws {
        let topics = """
            topics:
              - pattern: "activity.*"
            """
        let policy = try compile([("a.yaml", Self.base), ("b.yaml", topics)])
        #expect(policy.rules.map(\.pattern.text) == ["deal.stage.*", "activity.*"])
        #expect(policy.files == ["a.yaml", "b.yaml"])

        let conflicting = "version: 1\nplans:\n  standard:\n    rate_limits: []\n"
        #expect {
            try compile([("a.yaml", Self.base), ("c.yaml", conflicting)])
        } throws: { error in
            let items = (error as? PolicyDiagnostics)?.errors ?? []
            return items.count == 1 && items[0].code == .conflictingDefinition
                && items[0].location == SourceLocation(file: "c.yaml", line: 3, column: 3)
                && items[0].message == "plan 'standard' is already defined at a.yaml:12:3"
        }
    }

    @Test("all problems are reported at once, sorted by location")
    func collectsEverything() {
        let text = """
            version: 1
            topic: []
            topics:
              - pattern: "Deal.x"
              - pattern: "a.b"
                subscribe: { roles: [sales], role: [x] }
            plans:
              p:
                extends: q
                rate_limits:
                  - { scope: users, action: publish, limit: 0, per: second }
            """
        let (policy, diagnostics) = PolicyCompiler().check([PolicySource(path: "x.yaml", text: text)])
        #expect(policy == nil)
        let lines = diagnostics.map(DiagnosticFormatter.line)
        #expect(
            lines == [
                "x.yaml:2:1: error: unknown key 'topic' in the policy file (did you mean 'topics'?)",
                "x.yaml:4:14: error: pattern 'Deal.x' has 'D' in segment 1; segments use only a-z, 0-9 and _ (write 2-8 dot-separated segments of a-z, 0-9, _ or a whole '*', e.g. 'deal.stage.*')",
                "x.yaml:6:34: error: unknown key 'role' in 'subscribe' (did you mean 'roles'?)",
                "x.yaml:9:14: error: plan 'p' extends unknown plan 'q' (did you mean 'p'?)",
                "x.yaml:11:18: error: unknown scope 'users' (did you mean 'user'?)",
                "x.yaml:11:49: error: 'limit' is 0; it must be a positive whole number, or the limit can never pass (use 1 or more)",
            ]
        )
    }

    @Test("the version is a content hash: stable, and different for different text")
    func versionHash() throws {
        let a = try compile([("a.yaml", Self.base)]).version
        let b = try compile([("elsewhere/a.yaml", Self.base)]).version
        let c = try compile([("a.yaml", Self.base + "\n# changed\n")]).version
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 12)
    }

    @Test("overlapping patterns warn but compile")
    func overlapWarns() throws {
        let text =
            "version: 1\ntopics:\n  - pattern: \"activity.*\"\n  - pattern: \"activity.task.*\"\n  - pattern: \"deal.*.updated\"\n  - pattern: \"deal.stage.*\"\n"
        let policy = try compile([("o.yaml", text)])
        let union =
            "events matching both get the union of their role grants and the more specific rule's GDPR (narrow one pattern if this is not intended)"
        #expect(
            policy.warnings.map(FixtureTests.render) == [
                "o.yaml:4:14: warning[overlapping-patterns]: pattern 'activity.task.*' is covered by 'activity.*' (at o.yaml:3:14); \(union)",
                "o.yaml:6:14: warning[overlapping-patterns]: pattern 'deal.stage.*' overlaps 'deal.*.updated' (at o.yaml:5:14); \(union)",
            ]
        )
    }
}
