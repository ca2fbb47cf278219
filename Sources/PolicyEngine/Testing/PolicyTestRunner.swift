import GatewayModel
public import PolicyLanguage

/// Runs policy test cases against a compiled policy, with rate limits on a virtual clock.
///
/// Each case starts with fresh rate-limit counters at virtual time 0; request `i` of a case runs
/// at `i × every`. A request allowed by the policy then acquires its limits, all or none.
public struct PolicyTestRunner: Sendable {
    /// The policy under test.
    public let policy: CompiledPolicy

    /// Creates a runner.
    public init(policy: CompiledPolicy) { self.policy = policy }

    /// Runs the cases of the given files.
    /// - Parameter sources: test files (path and text).
    public func run(_ sources: [PolicySource]) -> PolicyTestReport {
        var report = PolicyTestReport(results: [], problems: [])
        for source in sources {
            let (cases, problems) = PolicyTestFile.parse(source.text, file: source.path)
            report.problems.append(contentsOf: problems)
            report.results.append(contentsOf: cases.map(run))
        }
        if sources.isEmpty {
            report.problems.append(
                Diagnostic(
                    .error,
                    .noPolicyFiles,
                    at: SourceLocation(file: "<tests>", line: 1, column: 1),
                    "no policy test files were found",
                    hint: "put cases in tests/*.yaml beside the policy"
                )
            )
        }
        return report
    }

    /// Runs one case.
    public func run(_ testCase: PolicyTestCase) -> PolicyTestResult {
        let evaluator = PolicyEvaluator(policy: policy, nodeRegion: testCase.nodeRegion)
        var table = GCRATable()
        var verdicts: [Verdict] = []
        var firstDecision: Decision?
        var firstDenial: (Decision, Double?)?
        for index in 0..<testCase.repeatCount {
            let now = Int64(index) * testCase.everyNanos
            var decision = evaluator.decide(testCase.request, explain: true)
            var retryAfter: Double?
            if decision.isAllowed, !decision.limits.isEmpty {
                let checks = decision.limits.checks
                let outcomes = table.acquireAll(checks, now: now)
                for (check, outcome) in zip(checks, outcomes) {
                    let description =
                        "\(check.key.scope.rawValue) \(check.key.action.rawValue) limit of plan '\(check.limit.plan)': \(outcome.remaining) left"
                    if outcome.exceeded {
                        let kind = check.limit.shadow ? "would refuse (shadow)" : "refused"
                        decision.trace?.add(
                            "limits",
                            passed: check.limit.shadow,
                            "\(description); \(kind), retry after \(format(outcome.retryAfterSeconds)) s",
                            at: check.limit.location
                        )
                    } else {
                        decision.trace?.add("limits", passed: true, description, at: check.limit.location)
                    }
                }
                if let refused = zip(checks, outcomes).filter({ !$0.1.allowed }).max(by: { $0.1.retryAfterNanos < $1.1.retryAfterNanos }) {
                    decision.verdict = .deny
                    decision.reason = .rateLimited
                    decision.location = refused.0.limit.location
                    retryAfter = refused.1.retryAfterSeconds
                }
            }
            verdicts.append(decision.verdict)
            if firstDecision == nil { firstDecision = decision }
            if decision.verdict == .deny, firstDenial == nil { firstDenial = (decision, retryAfter) }
        }
        return judge(testCase, verdicts: verdicts, first: firstDecision!, firstDenial: firstDenial)
    }

    private func judge(_ testCase: PolicyTestCase, verdicts: [Verdict], first: Decision, firstDenial: (Decision, Double?)?) -> PolicyTestResult {
        var failures: [String] = []
        let allowed = verdicts.filter { $0 == .allow }.count
        let denied = verdicts.count - allowed
        let actual: String
        let expected: String
        var traced = first
        switch testCase.expect {
        case .all(let verdict):
            expected = verdict.rawValue + (testCase.reason.map { " (\($0))" } ?? "")
            if let wrong = verdicts.firstIndex(where: { $0 != verdict }) {
                failures.append(
                    testCase.repeatCount > 1 ? "request \(wrong + 1) of \(verdicts.count) was \(verdicts[wrong].rawValue)" : "verdict differs"
                )
                if verdict == .allow, let denial = firstDenial { traced = denial.0 }
            }
            actual = testCase.repeatCount > 1 ? "allow \(allowed), deny \(denied)" : "\(traced.verdict.rawValue) (\(traced.reason.rawValue))"
        case .counts(let allow, let deny):
            expected = "allow \(allow), deny \(deny)"
            actual = "allow \(allowed), deny \(denied)"
            if allow != allowed || deny != denied { failures.append("counts differ") }
            if let denial = firstDenial { traced = denial.0 }
        case .sequence(let sequence):
            expected = sequence.map(\.rawValue).joined(separator: ", ")
            actual = verdicts.map(\.rawValue).joined(separator: ", ")
            if sequence != verdicts { failures.append("sequence differs") }
            if let denial = firstDenial { traced = denial.0 }
        }
        if let reason = testCase.reason {
            let decided = firstDenial?.0.reason ?? first.reason
            if decided.rawValue != reason { failures.append("reason is \(decided.rawValue), expected \(reason)") }
        }
        if let retryAfter = testCase.retryAfter {
            if let actualRetry = firstDenial?.1 {
                if abs(actualRetry - retryAfter) > 0.000_001 {
                    failures.append("retry_after is \(format(actualRetry)) s, expected \(format(retryAfter)) s")
                }
            } else {
                failures.append("no request was rate limited, expected retry_after \(format(retryAfter)) s")
            }
        }
        failures.append(contentsOf: checkEnrichment(testCase, first))
        if let expectedPaths = testCase.redacted {
            let paths = first.isAllowed ? first.redaction.paths.map(\.text).sorted() : []
            if paths != expectedPaths.sorted() {
                failures.append("redacted [\(paths.joined(separator: ", "))], expected [\(expectedPaths.sorted().joined(separator: ", "))]")
            }
        }
        return PolicyTestResult(testCase: testCase, failures: failures, actual: actual, expected: expected, trace: traced.trace)
    }

    private func checkEnrichment(_ testCase: PolicyTestCase, _ decision: Decision) -> [String] {
        guard testCase.enrichedRegion != nil || testCase.enrichedCompany != nil || testCase.enrichedGDPR != nil else { return [] }
        guard let enrichment = decision.enrichment else {
            return ["no enrichment: the publish was \(decision.verdict.rawValue) (\(decision.reason.rawValue))"]
        }
        var failures: [String] = []
        if let region = testCase.enrichedRegion, region != enrichment.region.rawValue {
            failures.append("region is \(enrichment.region), expected \(region)")
        }
        if let company = testCase.enrichedCompany, company != enrichment.companyID.rawValue {
            failures.append("company_id is \(enrichment.companyID), expected \(company)")
        }
        let gdpr = enrichment.gdpr
        let actual: [String: JSONValue] = [
            "consent": gdpr.consent.map(JSONValue.bool) ?? .null,
            "purpose": gdpr.purpose.map(JSONValue.string) ?? .null,
            "retention_days": gdpr.retentionDays.map { .number(JSONNumber($0)) } ?? .null,
            "data_subject_id": gdpr.dataSubjectID.map(JSONValue.string) ?? .null,
            "legal_basis": gdpr.legalBasis.map(JSONValue.string) ?? .null,
        ]
        for (key, value) in (testCase.enrichedGDPR ?? [:]).sorted(by: { $0.key < $1.key }) {
            let found = actual[key] ?? .null
            let same = found == value || (found.identifierString != nil && found.identifierString == value.identifierString)
            if !same { failures.append("gdpr_context.\(key) is \(describe(found)), expected \(describe(value))") }
        }
        return failures
    }

    private func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "absent"
        case .bool(let bool): String(bool)
        case .string(let string): "'\(string)'"
        default: value.identifierString ?? "\(value)"
        }
    }

    private func format(_ seconds: Double) -> String {
        let rounded = (seconds * 1e6).rounded() / 1e6
        guard rounded.isFinite, abs(rounded) < 1e15 else { return String(seconds) }
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
    }
}
