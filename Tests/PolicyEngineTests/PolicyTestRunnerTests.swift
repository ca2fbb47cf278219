import Foundation
import GatewayModel
import PolicyEngine
import PolicyLanguage
import Testing

@Suite("Policy test runner")
struct PolicyTestRunnerTests {
    @Test("the fixture policy passes all 42 of its own cases, in five files, covering every action, allow and deny")
    func fixtureCases() throws {
        let policy = try fixturePolicy()
        let report = PolicyTestRunner(policy: policy).run(try PolicyLoader.load([fixtureCasesFolder]))
        for result in report.results where !result.passed {
            Issue.record("\(result.testCase.location) \(result.testCase.name): \(result.failures.joined(separator: "; "))")
        }
        #expect(report.problems.isEmpty)
        #expect(report.summary == "42 passed, 0 failed")
        #expect(report.succeeded)
        let files = Dictionary(grouping: report.results) { URL(fileURLWithPath: $0.testCase.location.file).lastPathComponent }.mapValues(\.count)
        #expect(files == ["connect.yaml": 7, "deliver.yaml": 6, "publish.yaml": 12, "rate_limits.yaml": 7, "subscribe.yaml": 10])
        #expect(Set(report.results.map(\.testCase.request.action)) == Set(PolicyAction.allCases))
        #expect(report.results.contains { $0.expected.hasPrefix("allow") } && report.results.contains { $0.expected.hasPrefix("deny") })
    }

    @Test("a wrong expectation fails loudly: want deny, got allow is a failure with the trace")
    func failingCase() throws {
        let text = """
            cases:
              - name: sales may not subscribe (wrong on purpose)
                principal: { user_id: 1, company_id: "123", roles: [sales] }
                action: subscribe
                topic: "deal.stage.*"
                expect: deny
              - name: wrong reason
                principal: { user_id: 1, company_id: "123", roles: [support] }
                action: subscribe
                topic: "deal.stage.*"
                expect: deny
                reason: topic_not_whitelisted
              - name: wrong rate-limit counts
                principal: { user_id: 1, company_id: "999", roles: [sales] }
                action: poll
                topics: ["deal.stage.*"]
                repeat: 7
                expect: { allow: 6, deny: 1 }
                retry_after: 0.5
            """
        let report = PolicyTestRunner(policy: try fixturePolicy()).run([PolicySource(path: "wrong.yaml", text: text)])
        #expect(report.summary == "0 passed, 3 failed")
        #expect(!report.succeeded)
        let first = report.results[0]
        #expect(first.expected == "deny" && first.actual == "allow (allowed)")
        #expect(
            first.trace?.steps.contains {
                $0.check == "whitelist" && $0.location == fixtureLocation(line: 13, column: 14)
            } == true
        )
        #expect(report.results[1].failures == ["reason is role_not_allowed, expected topic_not_whitelisted"])
        #expect(report.results[2].actual == "allow 5, deny 2")
        #expect(report.results[2].failures == ["counts differ", "retry_after is 0.2 s, expected 0.5 s"])
    }

    static let noCases =
        "empty.yaml:1:1: error[missing-key]: the test file has no cases (add 'cases:' with at least one case; an empty test file is an error, not a pass)"

    @Test(
        "a file without cases is an error, not a pass",
        arguments: [
            ("", [noCases]), ("# only a comment\n", [noCases]),
            ("cases: []", ["empty.yaml:1:8: error[missing-key]: 'cases' is empty (an empty test file is an error, not a pass)"]),
            ("cases:\n", [noCases, "empty.yaml:1:7: error[type-mismatch]: 'cases' must be a list, found an empty value"]),
        ]
    )
    func emptyFiles(text: String, problems: [String]) throws {
        let report = PolicyTestRunner(policy: try fixturePolicy()).run([PolicySource(path: "empty.yaml", text: text)])
        #expect(report.results.isEmpty)
        // Sorted here: the runner reports "cases:" with no value in the order it found the problems.
        #expect(rendered(report.problems.sorted()) == problems)
        #expect(report.summary == "0 passed, \(problems.count) failed")
        #expect(!report.succeeded)
    }

    @Test("mistakes in a case file are located problems")
    func badCaseFile() throws {
        let text = """
            cases:
              - name: typo
                principal: { user_id: 1, company_id: "123", roles: [sales] }
                action: subscribe
                topics: "deal.stage.*"
                expect: allow
              - name: unknown reason
                principal: { user_id: 1, company_id: "123" }
                action: conect
                expect: allow
            """
        let report = PolicyTestRunner(policy: try fixturePolicy()).run([PolicySource(path: "bad.yaml", text: text)])
        #expect(report.results.isEmpty)
        #expect(
            rendered(report.problems) == [
                "bad.yaml:2:5: error[missing-key]: test case 'typo' has no 'topic'",
                "bad.yaml:9:13: error[unknown-value]: unknown action 'conect' (did you mean 'connect'?)",
            ]
        )
        #expect(report.summary == "0 passed, 2 failed")
    }
}

@Suite("Shadow limits")
struct ShadowLimitTests {
    @Test("a shadow limit counts and reports would-be refusals but never refuses")
    func shadow() throws {
        let policy = try PolicyCompiler().compile([
            PolicySource(
                path: "shadow.yaml",
                text: """
                    version: 1
                    topics:
                      - pattern: "deal.*"
                    tenants:
                      default: { plan: trial }
                    plans:
                      trial:
                        rate_limits:
                          - { scope: user, action: subscribe, limit: 2, per: minute, shadow: true }
                    """
            )
        ])
        let cases = """
            cases:
              - name: five subscribes against a shadow limit of 2 per minute all pass
                principal: { user_id: 1, company_id: "7", roles: [] }
                action: subscribe
                topic: "deal.*"
                repeat: 5
                expect: allow
            """
        let report = PolicyTestRunner(policy: policy).run([PolicySource(path: "cases.yaml", text: cases)])
        #expect(report.summary == "1 passed, 0 failed")
        let explained = PolicyEvaluator(policy: policy).decide(
            .subscribe(Principal(userID: "1", companyID: "7", roles: []), topic: "deal.*"),
            explain: true
        )
        #expect(explained.trace?.steps.contains { $0.check == "limits" && $0.detail.contains("shadow: counts, never refuses") } == true)
        #expect(explained.limits.checks.first?.limit.shadow == true)
    }
}
