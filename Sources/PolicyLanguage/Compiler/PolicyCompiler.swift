import Crypto
public import GatewayModel

/// Compiles policy sources into a ``CompiledPolicy`` in named stages that each collect located
/// diagnostics, so one run reports every problem.
///
/// ```swift
/// let sources = try PolicyLoader.load(["policies"])
/// let policy = try PolicyCompiler().compile(sources)
/// ```
public struct PolicyCompiler: Sendable {
    /// Fallbacks the policy may leave out, from the gateway's configuration (SPEC §8).
    public struct Configuration: Sendable {
        /// `DEFAULT_REGION`: the region when `defaults.region` is not set.
        public var defaultRegion: Region
        /// `GDPR_RETENTION_DAYS`: retention when no rule sets `retention_days`.
        public var defaultRetentionDays: Int

        /// Creates a configuration.
        public init(defaultRegion: Region = "us-east-1", defaultRetentionDays: Int = 365) {
            self.defaultRegion = defaultRegion
            self.defaultRetentionDays = defaultRetentionDays
        }
    }

    /// The fallbacks in force.
    public let configuration: Configuration

    /// Creates a compiler.
    /// - Parameter configuration: fallbacks for what the policy leaves out.
    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    /// Compiles, throwing every diagnostic when any of them is an error.
    /// - Returns: the policy; its ``CompiledPolicy/warnings`` hold the warnings.
    public func compile(_ sources: [PolicySource]) throws(PolicyDiagnostics) -> CompiledPolicy {
        let (policy, diagnostics) = check(sources)
        guard let policy else { throw PolicyDiagnostics(diagnostics) }
        return policy
    }

    /// Compiles and returns every diagnostic; the policy is `nil` when there is an error.
    public func check(_ sources: [PolicySource]) -> (CompiledPolicy?, [Diagnostic]) {
        var state = CompilationState(configuration: configuration)
        if sources.isEmpty {
            state.sink.error(.noPolicyFiles, SourceLocation(file: "<policy>", line: 1, column: 1), "no policy file was given")
        }
        for source in sources {
            let (document, diagnostics) = PolicyReader.read(source.text, file: source.path)
            state.documents.append(document)
            state.sink.append(contentsOf: diagnostics)
        }
        MergeDocuments.run(&state)
        ResolveExtends.run(&state)
        CheckLimits.run(&state)
        CheckTopicPatterns.run(&state)
        CheckOverlaps.run(&state)
        CheckRegionRefs.run(&state)
        let diagnostics = state.sink.items.sorted()
        guard !state.sink.hasErrors else { return (nil, diagnostics) }
        let policy = BuildTopicTrie.run(&state, version: Self.version(of: sources), warnings: diagnostics)
        return (policy, diagnostics)
    }

    /// The first 12 hex digits of a SHA-256 over the sources' contents in order.
    public static func version(of sources: [PolicySource]) -> String {
        var hasher = SHA256()
        for source in sources {
            hasher.update(data: Array("\(source.text.utf8.count):".utf8))
            hasher.update(data: Array(source.text.utf8))
        }
        return hasher.finalize().prefix(6).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// What the stages share: the documents, the merged view, and what each stage produced.
struct CompilationState {
    let configuration: PolicyCompiler.Configuration
    var sink = DiagnosticSink()
    var documents: [PolicyDocument] = []

    // MergeDocuments
    var defaults: DefaultsSyntax?
    var topics: [TopicRuleSyntax] = []
    var defaultTenant: TenantSyntax?
    var companies: [(id: Located<String>, tenant: TenantSyntax)] = []
    var plans: [PlanSyntax] = []

    // ResolveExtends: plan name -> ancestors, nearest first (only for acyclic, resolvable plans)
    var ancestors: [String: [String]] = [:]
    // CheckLimits: plan name -> its own valid limits
    var ownLimits: [String: [RateLimit]] = [:]
    // CheckTopicPatterns
    var patterns: [TopicPattern?] = []
    var roleNames: [String] = RoleTable.builtIn
    var defaultGDPR = GDPRDeclaration()
    var ruleGDPR: [GDPRDeclaration] = []
    var rulePII: [[DataPath]] = []

    init(configuration: PolicyCompiler.Configuration) { self.configuration = configuration }

    func plan(named name: String) -> PlanSyntax? { plans.first { $0.name.value == name } }

    mutating func noteRole(_ role: String) {
        if !roleNames.contains(role) { roleNames.append(role) }
    }
}
