import GatewayModel
import PolicyEngine
import PolicyLanguage
import Testing

@Suite("Policy test runner")
struct PolicyTestRunnerTests {
    @Test("the repository's policy passes its own test cases, at least twenty of them")
    func repositoryCases() throws {
        let policy = try defaultPolicy()
        let report = PolicyTestRunner(policy: policy).run(try PolicyLoader.load([repositoryRoot + "/policies/tests"]))
        for result in report.results where !result.passed {
            Issue.record("\(result.testCase.location) \(result.testCase.name): \(result.failures.joined(separator: "; "))")
        }
        #expect(report.problems.isEmpty)
        #expect(report.results.count >= 20)
        #expect(report.succeeded)
        #expect(report.summary == "\(report.results.count) passed, 0 failed")
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
        let report = PolicyTestRunner(policy: try defaultPolicy()).run([PolicySource(path: "wrong.yaml", text: text)])
        #expect(report.summary == "0 passed, 3 failed")
        #expect(!report.succeeded)
        let first = report.results[0]
        #expect(first.expected == "deny" && first.actual == "allow (allowed)")
        #expect(
            first.trace?.steps.contains {
                $0.check == "whitelist" && $0.location == SourceLocation(file: repositoryRoot + "/policies/default.yaml", line: 13, column: 14)
            } == true
        )
        #expect(report.results[1].failures == ["reason is role_not_allowed, expected topic_not_whitelisted"])
        #expect(report.results[2].actual == "allow 5, deny 2")
        #expect(report.results[2].failures == ["counts differ", "retry_after is 0.2 s, expected 0.5 s"])
    }

    @Test("a file without cases is an error, not a pass", arguments: ["", "cases: []", "# only a comment\n", "cases:\n"])
    func emptyFiles(text: String) throws {
        let report = PolicyTestRunner(policy: try defaultPolicy()).run([PolicySource(path: "empty.yaml", text: text)])
        #expect(report.results.isEmpty)
        #expect(report.failedCount >= 1)
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
        let report = PolicyTestRunner(policy: try defaultPolicy()).run([PolicySource(path: "bad.yaml", text: text)])
        #expect(report.results.isEmpty)
        #expect(
            report.problems.map(DiagnosticFormatter.line) == [
                "bad.yaml:2:5: error: test case 'typo' has no 'topic'",
                "bad.yaml:9:13: error: unknown action 'conect' (did you mean 'connect'?)",
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
