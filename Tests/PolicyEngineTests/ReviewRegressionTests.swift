import GatewayModel
import PolicyEngine
import PolicyLanguage
import Testing

/// Regressions for holes a review found: each test names the scenario that used to go wrong.
@Suite("Isolation and input regressions")
struct ReviewRegressionTests {
    func compile(_ text: String) throws -> CompiledPolicy {
        try PolicyCompiler().compile([PolicySource(path: "r.yaml", text: text)])
    }

    @Test("canonically equivalent Unicode company ids never meet; non-ASCII ids resolve to no tenant")
    func unicodeCompanies() throws {
        let evaluator = PolicyEvaluator(policy: try fixturePolicy())
        let angstrom = Principal(userID: "1", companyID: CompanyID("acme\u{212B}"), roles: ["admin"])
        #expect(evaluator.decide(.connect(angstrom)).reason == .companyMissing)
        let verdict = evaluator.deliver(
            evaluator.subject(for: angstrom),
            DeliveryIntent(eventType: "timeline.object.created", companyID: CompanyID("acme\u{00C5}"))
        )
        #expect(verdict.reason == .companyMismatch)
        let publish = evaluator.decide(
            .publish(
                Principal(userID: "s", companyID: nil, roles: ["service"]),
                PublishIntent(eventType: "activity.call.logged", data: .object(["company_id": .string("acme\u{00C5}")]))
            )
        )
        #expect(publish.reason == .companyMissing)
    }

    @Test("numeric company ids beyond 2^53 keep every digit; a number with a fraction or exponent is no company")
    func largeNumericCompany() throws {
        let evaluator = PolicyEvaluator(policy: try fixturePolicy())
        let big = try #require(JSONNumber(literal: "9007199254740993"))
        let intent = PublishIntent(eventType: "activity.call.logged", data: .object(["company_id": .number(big)]))
        #expect(intent.companyText == "9007199254740993", "not merged with 9007199254740992")
        let service = Principal(userID: "s", companyID: nil, roles: ["service"])
        #expect(evaluator.decide(.publish(service, intent)).reason != .companyMissing)
        for literal in ["1.5", "123.0", "1e3"] {
            let number = try #require(JSONNumber(literal: literal))
            let fraction = PublishIntent(eventType: "activity.call.logged", data: .object(["company_id": .number(number)]))
            #expect(evaluator.decide(.publish(service, fraction)).reason == .companyMissing, "\(literal)")
        }
    }

    @Test("company keys must be plain numbers or strings: 1_000 and +5 would never match a token")
    func companyKeySpellings() {
        let text = "version: 1\ntenants:\n  companies:\n    1_000: { enabled: false }\n    +5: { enabled: false }\n    0x10: { enabled: false }\n"
        let (policy, diagnostics) = PolicyCompiler().check([PolicySource(path: "k.yaml", text: text)])
        #expect(policy == nil)
        #expect(
            rendered(diagnostics) == [
                "k.yaml:1:1: warning[empty-whitelist]: the policy whitelists no topics, so every subscribe and publish is refused (add a 'topics' list)",
                "k.yaml:4:5: error[type-mismatch]: a company id '1_000' is not a plain number (quote it, e.g. \"1_000\")",
                "k.yaml:5:5: error[type-mismatch]: a company id '+5' is not a plain number (quote it, e.g. \"+5\")",
                "k.yaml:6:5: error[type-mismatch]: a company id '0x10' is not a plain number (quote it, e.g. \"0x10\")",
            ]
        )
    }

    @Test("more than 64 regions is an error, not a silently wrong residency decision")
    func tooManyRegions() {
        let companies = (0..<70).map { "    \"c\($0)\": { home_region: r\($0), allowed_regions: [r\($0)] }\n" }.joined()
        let (policy, diagnostics) = PolicyCompiler().check([PolicySource(path: "g.yaml", text: "version: 1\ntenants:\n  companies:\n" + companies)])
        #expect(policy == nil)
        #expect(
            rendered(diagnostics) == [
                "g.yaml:1:1: warning[empty-whitelist]: the policy whitelists no topics, so every subscribe and publish is refused (add a 'topics' list)",
                "g.yaml:68:50: error[too-many-regions]: the policy names more than 64 distinct regions (at most 64 regions are supported)",
            ]
        )
    }

    @Test(
        "integers that overflow, in any YAML spelling, are located errors, not crashes",
        arguments: [
            "1:00:00:00:00:00:00:00:00:00:00:00", "999999999999999999:59", "99999999999999999999", "0xFFFFFFFFFFFFFFFFFFFF",
        ]
    )
    func overflowingIntegers(spelling: String) {
        let text = "version: 1\nplans:\n  p:\n    rate_limits:\n      - { scope: user, action: poll, limit: \(spelling), per: second }\n"
        let (policy, diagnostics) = PolicyCompiler().check([PolicySource(path: "o.yaml", text: text)])
        #expect(policy == nil)
        #expect(
            rendered(diagnostics) == [
                "o.yaml:1:1: warning[empty-whitelist]: the policy whitelists no topics, so every subscribe and publish is refused (add a 'topics' list)",
                "o.yaml:5:45: error[type-mismatch]: 'limit' is out of range (use a number between -9223372036854775808 and 9223372036854775807)",
            ],
            "\(spelling)"
        )
    }

    @Test("a changed limit starts a fresh counter instead of reading a state written under other parameters")
    func reloadedLimit() {
        let key = LimitKey(scope: .user, action: .publish, company: "1", subject: "u")
        let hourly = RateLimit(scope: .user, action: .publish, gcra: GCRA(limit: 1, periodNanos: 3_600_000_000_000, burst: 10))
        let fast = RateLimit(scope: .user, action: .publish, gcra: GCRA(limit: 1_000_000, periodNanos: 1_000_000_000))
        var table = GCRATable()
        for _ in 0..<10 { _ = table.acquireAll([LimitCheck(limit: hourly, key: key)], now: 0) }
        let outcome = table.acquireAll([LimitCheck(limit: fast, key: key)], now: 0)[0]
        #expect(outcome.allowed && outcome.remaining == 999_999)
    }

    @Test("publisher-given GDPR fields are held to the policy's bounds")
    func publisherGDPR() throws {
        let evaluator = PolicyEvaluator(policy: try fixturePolicy())
        let service = Principal(userID: "s", companyID: nil, roles: ["service"])
        for gdpr in [GDPRContext(retentionDays: -5), GDPRContext(retentionDays: 1_000_000), GDPRContext(legalBasis: "because")] {
            let intent = PublishIntent(eventType: "activity.call.logged", data: .object(["company_id": .number(123)]), gdpr: gdpr)
            let decision = evaluator.decide(.publish(service, intent))
            #expect(decision.reason == .gdprInvalid && decision.reason.httpStatus == 400)
        }
    }

    @Test("an address is one ip counter across tenants; tokens without company use the default plan")
    func ipLimits() throws {
        let evaluator = PolicyEvaluator(policy: try fixturePolicy())
        let a = evaluator.decide(.connect(Principal(userID: "1", companyID: "123", roles: [], ip: "203.0.113.7"))).limits.checks
        let b = evaluator.decide(.connect(Principal(userID: "2", companyID: "999", roles: [], ip: "203.0.113.7"))).limits.checks
        #expect(a.map(\.key) == b.map(\.key))
        let service = evaluator.decide(.connect(Principal(userID: "s", companyID: nil, roles: ["service"], ip: "203.0.113.8")))
        #expect(service.limits.checks.map(\.key.scope) == [.ip])
    }

    @Test(
        "absurd durations and retry_after values in test files are located errors",
        arguments: ["every: 1e300", "every: 5000000000s", "retry_after: 1e30"]
    )
    func absurdTestValues(line: String) throws {
        let text =
            "cases:\n  - name: x\n    principal: { user_id: 1, company_id: \"1\" }\n    action: connect\n    repeat: 3\n    \(line)\n    expect: allow\n"
        let report = PolicyTestRunner(policy: try fixturePolicy()).run([PolicySource(path: "t.yaml", text: text)])
        #expect(report.results.isEmpty)
        let expected = [
            "every: 1e300": "t.yaml:6:12: error[type-mismatch]: 'every' must be a duration from 0 to 24h, such as 0, 100ms, 1s or 2m",
            "every: 5000000000s": "t.yaml:6:12: error[type-mismatch]: 'every' must be a duration from 0 to 24h, such as 0, 100ms, 1s or 2m",
            "retry_after: 1e30":
                "t.yaml:6:18: error[type-mismatch]: 'retry_after' must be a number of seconds between 0 and 86400, found the number 1e30",
        ]
        #expect(rendered(report.problems) == [expected[line]].compactMap { $0 }, "\(line)")
    }
}
