public import GatewayModel
public import PolicyLanguage

/// One case of a policy test file (SPEC §6.7).
public struct PolicyTestCase: Sendable {
    /// What the case expects.
    public enum Expectation: Sendable, Equatable {
        /// Every request gets this verdict.
        case all(Verdict)
        /// This many requests are allowed and this many denied (for `repeat`).
        case counts(allow: Int, deny: Int)
        /// The verdict of each request in order.
        case sequence([Verdict])
    }

    /// The case's name.
    public var name: String
    /// Where the case starts.
    public var location: SourceLocation
    /// The request, repeated ``repeatCount`` times.
    public var request: PolicyRequest
    /// The node region for this case (`node_region`).
    public var nodeRegion: Region?
    /// How many identical requests to make.
    public var repeatCount: Int
    /// Virtual time between requests, in nanoseconds.
    public var everyNanos: Int64
    /// The expected verdicts.
    public var expect: Expectation
    /// The expected reason of the (first) denial, or of the allow.
    public var reason: String?
    /// The expected `retry_after` of the first rate-limited request, in seconds.
    public var retryAfter: Double?
    /// Expected region of a publish.
    public var enrichedRegion: String?
    /// Expected company of a publish.
    public var enrichedCompany: String?
    /// Expected GDPR fields of a publish (only the fields given are compared).
    public var enrichedGDPR: [String: JSONValue]?
    /// The exact set of paths a delivery redacts.
    public var redacted: [String]?
}

/// The result of one case.
public struct PolicyTestResult: Sendable {
    /// The case.
    public var testCase: PolicyTestCase
    /// Why it failed; empty when it passed.
    public var failures: [String]
    /// What happened, for the report: e.g. `deny (rate_limited)` or `allow 5, deny 2`.
    public var actual: String
    /// What was expected, for the report.
    public var expected: String
    /// The trace of the first request that did not go as expected (or the first request).
    public var trace: DecisionTrace?

    /// Whether the case passed.
    public var passed: Bool { failures.isEmpty }
}

/// The results of a test run plus the problems found in the case files.
public struct PolicyTestReport: Sendable {
    /// Every case run.
    public var results: [PolicyTestResult]
    /// Problems in the case files themselves (each counts as a failure).
    public var problems: [Diagnostic]

    /// Cases that passed.
    public var passedCount: Int { results.filter(\.passed).count }
    /// Cases that failed plus case-file problems.
    public var failedCount: Int { results.count - passedCount + problems.filter { $0.severity == .error }.count }
    /// Whether everything passed and at least one case ran.
    public var succeeded: Bool { failedCount == 0 && !results.isEmpty }
    /// The closing line: `N passed, N failed`.
    public var summary: String { "\(passedCount) passed, \(failedCount) failed" }
}
