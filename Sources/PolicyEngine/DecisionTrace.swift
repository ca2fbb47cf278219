public import GatewayModel

/// The checks a decision went through, in order, each naming the rule it used: the output of
/// `policy explain` and of failing `policy test` cases.
public struct DecisionTrace: Sendable, CustomStringConvertible {
    /// One check.
    public struct Step: Sendable {
        /// The check's name: `whitelist`, `roles`, `company`, `tenant`, `region`, `gdpr`, `redaction`, `limits`.
        public var check: String
        /// Whether it passed (informational steps pass).
        public var passed: Bool
        /// What was found.
        public var detail: String
        /// The policy line that decided it, when one did.
        public var location: SourceLocation?
    }

    /// The steps in evaluation order.
    public private(set) var steps: [Step] = []

    /// An empty trace.
    public init() {}

    /// Records a step.
    public mutating func add(_ check: String, passed: Bool, _ detail: String, at location: SourceLocation? = nil) {
        steps.append(Step(check: check, passed: passed, detail: detail, location: location))
    }

    public var description: String {
        steps.map { step in
            let mark = step.passed ? "pass" : "FAIL"
            let place = step.location.map { " [\($0)]" } ?? ""
            return "  \(mark) \(step.check): \(step.detail)\(place)"
        }.joined(separator: "\n")
    }
}
