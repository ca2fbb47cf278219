public import GatewayModel

/// One problem found in a policy: where, how bad, what, and how to fix it.
public struct Diagnostic: Hashable, Sendable, Comparable {
    /// How serious a diagnostic is.
    public enum Severity: String, Hashable, Sendable {
        /// The policy cannot be used.
        case error
        /// The policy works but probably not as intended.
        case warning
    }

    /// Error or warning.
    public var severity: Severity
    /// A stable machine-readable kind, e.g. `unknown-key` (see ``DiagnosticCode``).
    public var code: DiagnosticCode
    /// Where the problem is.
    public var location: SourceLocation
    /// What is wrong, in one sentence.
    public var message: String
    /// How to fix it, e.g. "did you mean `topics`?".
    public var hint: String?

    /// Creates a diagnostic.
    public init(_ severity: Severity, _ code: DiagnosticCode, at location: SourceLocation, _ message: String, hint: String? = nil) {
        self.severity = severity
        self.code = code
        self.location = location
        self.message = message
        self.hint = hint
    }

    public static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        if lhs.location != rhs.location { return lhs.location < rhs.location }
        if lhs.severity != rhs.severity { return lhs.severity == .error }
        return lhs.message < rhs.message
    }
}

/// The kinds of diagnostics, with stable names for `--format json` and tests.
public enum DiagnosticCode: String, Hashable, Sendable, CaseIterable {
    case yamlSyntax = "yaml-syntax"
    case unreadableFile = "unreadable-file"
    case noPolicyFiles = "no-policy-files"
    case unknownKey = "unknown-key"
    case duplicateKey = "duplicate-key"
    case missingKey = "missing-key"
    case typeMismatch = "type-mismatch"
    case unsupportedVersion = "unsupported-version"
    case conflictingDefinition = "conflicting-definition"
    case malformedPattern = "malformed-pattern"
    case duplicatePattern = "duplicate-pattern"
    case overlappingPatterns = "overlapping-patterns"
    case invalidRole = "invalid-role"
    case emptyRoles = "empty-roles"
    case tooManyRoles = "too-many-roles"
    case tooManyPIIPaths = "too-many-pii-paths"
    case tooManyRegions = "too-many-regions"
    case invalidDataPath = "invalid-data-path"
    case invalidGDPR = "invalid-gdpr"
    case invalidRegion = "invalid-region"
    case regionNotAllowed = "region-not-allowed"
    case unknownPlan = "unknown-plan"
    case extendsCycle = "extends-cycle"
    case unknownValue = "unknown-value"
    case invalidLimit = "invalid-limit"
    case duplicateLimit = "duplicate-limit"
    case emptyWhitelist = "empty-whitelist"
    case invalidCompany = "invalid-company"
}

/// All the diagnostics of one compilation, sorted; thrown when any is an error.
public struct PolicyDiagnostics: Error, Sendable, CustomStringConvertible {
    /// Sorted by file, line and column.
    public var items: [Diagnostic]

    /// Wraps and sorts diagnostics.
    public init(_ items: [Diagnostic]) { self.items = items.sorted() }

    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { items.contains { $0.severity == .error } }
    /// The errors only.
    public var errors: [Diagnostic] { items.filter { $0.severity == .error } }
    /// The warnings only.
    public var warnings: [Diagnostic] { items.filter { $0.severity == .warning } }

    public var description: String { DiagnosticFormatter.text(items) }
}

/// Collects diagnostics while the reader and compiler stages run.
public struct DiagnosticSink: Sendable {
    /// Everything collected, in the order found.
    public private(set) var items: [Diagnostic] = []

    /// An empty sink.
    public init() {}

    public mutating func error(_ code: DiagnosticCode, _ location: SourceLocation, _ message: String, hint: String? = nil) {
        items.append(Diagnostic(.error, code, at: location, message, hint: hint))
    }

    public mutating func warning(_ code: DiagnosticCode, _ location: SourceLocation, _ message: String, hint: String? = nil) {
        items.append(Diagnostic(.warning, code, at: location, message, hint: hint))
    }

    public mutating func append(contentsOf other: [Diagnostic]) { items.append(contentsOf: other) }

    public var hasErrors: Bool { items.contains { $0.severity == .error } }
}
