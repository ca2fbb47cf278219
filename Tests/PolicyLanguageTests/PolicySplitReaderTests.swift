import Foundation
import GatewayModel
import GatewayTesting
import Testing
import Yams

@testable import PolicyLanguage

/// A large policy file is read in two pieces on two threads. Whatever the cut, the result must be exactly
/// the whole file's reading, or the cut must be refused (and the file read whole).
@Suite("Policy split reader")
struct PolicySplitReaderTests {
    /// The whole file's reading, never split.
    static func whole(_ text: String, file: String = "p.yaml") -> (PolicyDocument, [Diagnostic]) {
        do {
            return PolicyReader.read(root: try ScalarKind.compose(text), file: file)
        } catch {
            var document = PolicyDocument(file: file, location: GatewayModel.SourceLocation(file: file, line: 1, column: 1))
            document.parsed = false
            return (document, [PolicyReader.syntaxDiagnostic(error, file: file, text: text)])
        }
    }

    /// Every field, with locations; the set of declared keys sorted.
    static func describe(_ document: PolicyDocument) -> String {
        var plain = document
        plain.declaredKeys = []
        return String(reflecting: plain) + " keys: \(document.declaredKeys.sorted())"
    }

    /// Cuts `text` before each of `lines` (every line by default) where a cut is offered, and checks that the
    /// split reading is refused or equals the whole reading. Returns how many cuts were read in two pieces.
    @discardableResult
    static func checkEveryCut(_ text: String, lines indices: [Int]? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Int {
        let lines = PolicySplitReader.Lines(text)
        let (document, diagnostics) = whole(text)
        let expected = describe(document)
        var split = 0
        for index in indices ?? Array(0..<lines.count) {
            guard !lines.refusesEveryCut, let cut = PolicySplitReader.cut(lines, at: index) else { continue }
            guard let (read, readDiagnostics) = PolicySplitReader.read(lines, file: "p.yaml", cut: cut) else { continue }
            split += 1
            #expect(diagnostics.isEmpty, "a file with diagnostics was read in pieces (cut before line \(index + 1))", sourceLocation: sourceLocation)
            #expect(readDiagnostics.isEmpty, sourceLocation: sourceLocation)
            #expect(describe(read) == expected, "cut before line \(index + 1) of\n\(text)", sourceLocation: sourceLocation)
        }
        return split
    }

    @Test("every fixture and shipped policy reads the same cut before any line")
    func fixtures() throws {
        let root = RepositoryPaths.root
        var files = ["policies/default.yaml"]
        for folder in [
            "Tests/PolicyLanguageTests/Fixtures/good", "Tests/PolicyLanguageTests/Fixtures/bad", "Tests/PolicyLanguageTests/Fixtures/semantic",
            "Tests/GatewayServerTests/Fixtures",
        ] {
            let names = try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)").filter { $0.hasSuffix(".yaml") }
            #expect(!names.isEmpty, "no policy files in \(folder)")
            files += names.map { "\(folder)/\($0)" }
        }
        // This target's own fixtures are counted exactly (FixtureTests.expectedCounts); the other folders only must not be empty.
        #expect(files.filter { $0.hasPrefix(FixtureTests.folder) }.count == FixtureTests.expectedCounts.values.reduce(0, +))
        var split = 0
        for file in files {
            split += Self.checkEveryCut(try String(contentsOfFile: "\(root)/\(file)", encoding: .utf8))
        }
        #expect(split > 100, "cuts were read in pieces")
    }

    /// Texts where a tempting line is not where an entry starts, or where the pieces would disagree with the
    /// whole: each cut must be refused or read exactly as the whole.
    static let nasty: [String] = [
        // A block scalar whose content looks like entries.
        "version: 1\ntopics:\n  - pattern: \"a.b\"\n    subscribe: { roles: [x] }\ntenants:\n  companies:\n    acme:\n      |\n      b2: { plan: x }\n    c3: { plan: standard }\n",
        "version: 1\nnote: |\n  topics:\n  - pattern: a.b\ntopics:\n  - pattern: \"a.b\"\n",
        // A multi-line quoted value across an entry-like line.
        "version: 1\ntenants:\n  companies:\n    a1: { plan: \"x\n    b2: y\" }\n    c3: { plan: standard }\n",
        "version: 1\ntopics:\n  - pattern: 'a.\n  - pattern: b'\n  - pattern: \"c.d\"\n",
        // Flow collections over several lines.
        "version: 1\ntenants:\n  companies: {\n    a1: { plan: x },\n    b2: { plan: y } }\n",
        "version: 1\ntopics: [\n  { pattern: \"a.b\" },\n  { pattern: \"c.d\" } ]\n",
        // Aliases to anchors on the other side of a cut.
        "version: 1\ntenants:\n  companies:\n    a1: &p { plan: standard }\n    b2: *p\n    c3: { plan: standard }\n",
        "version: 1\ntopics:\n  - &r { pattern: \"a.b\" }\n  - *r\n",
        // Keys repeated across a cut.
        "version: 1\ntenants:\n  companies:\n    a1: { plan: x }\n    b2: { plan: y }\n    a1: { plan: z }\n",
        "version: 1\ntenants:\n  companies:\n    \"1\": { plan: x }\n    b2: { plan: y }\n    1: { plan: z }\n",
        "version: 1\ntopics:\n  - pattern: \"a.b\"\nplans:\n  p: { rate_limits: [] }\n  q: { rate_limits: [] }\n  p: { rate_limits: [] }\n",
        "version: 1\ntopics:\n  - pattern: \"a.b\"\nversion: 1\n",
        "version: 1\ntenants:\n  default: { plan: a }\n  companies:\n    a1: { plan: x }\n    b2: { plan: y }\n  default: { plan: b }\n",
        "version: 1\ntenants:\n  companies:\n    a1: { plan: x }\n    b2: { plan: y }\n  companies:\n    c3: { plan: z }\n",
        // A compact list (items as indented as their key), comments and blank lines at the cut.
        "version: 1\ntopics:\n- pattern: \"a.b\"\n\n# comment\n- pattern: \"c.d\"\n  subscribe: { roles: [x] }\n- pattern: \"e.f\"\n",
        // Entries after the container, in the same parent.
        "version: 1\ntenants:\n  companies:\n    a1: { plan: x }\n    b2: { plan: y }\n  default: { plan: standard }\nplans:\n  x: {}\n  y: {}\n",
        // Errors on either side of a cut.
        "version: 1\ntopics:\n  - pattern: \"a.b\"\n  - patern: \"c.d\"\n  - pattern: \"e.f\"\n",
        "version: 1\ntenants:\n  companies:\n    a1: { plan: x }\n    b2: [oops]\n    c3: { plan: y }\n",
        "version: 1\ntopics:\n  - pattern: \"a.b\"\n\tbad: tab\n  - pattern: \"c.d\"\n",
        // Windows and old Mac line breaks, a byte-order mark, a document marker.
        "version: 1\r\ntopics:\r\n  - pattern: \"a.b\"\r\n  - pattern: \"c.d\"\r\n",
        "version: 1\rtopics:\r  - pattern: \"a.b\"\r  - pattern: \"c.d\"\r",
        "\u{FEFF}version: 1\ntopics:\n  - pattern: \"a.b\"\n  - pattern: \"c.d\"\n",
        "---\nversion: 1\ntopics:\n  - pattern: \"a.b\"\n---\ntopics:\n  - pattern: \"c.d\"\n",
        // An anchor or a tag on a line of its own, before deeper keys: read whole, a syntax error.
        "version: 1\ntenants:\n  companies:\n    &all\n      a1: { plan: standard }\n    b2: { plan: standard }\n",
        "version: 1\ntenants:\n  companies:\n    !!map\n      a1: { plan: standard }\n    b2: { plan: standard }\n",
        "&r\n  version: 1\ntopics:\n  - pattern: \"a.b\"\n",
        // A block scalar, in a field that takes text, whose lines look like entries.
        "version: 1\ndefaults:\n  gdpr:\n    purpose: |\n      companies:\n        a1: { plan: x }\n      b2: y\ntenants:\n  companies:\n    c3: { plan: standard }\n",
        // Tags and quoted keys.
        "version: 1\ntenants:\n  \"companies\":\n    'a1': !!map { plan: x }\n    \"b2\": { plan: y }\n",
    ]

    @Test("cuts inside block scalars, quoted or flow values, across anchors or repeated keys are refused or read the same", arguments: Self.nasty)
    func nastyInputs(text: String) {
        Self.checkEveryCut(text)
    }

    /// A generated policy over the size threshold, in several styles.
    static func large(companies: Int = 6_000, error: String? = nil) -> String {
        var text = "# generated\nversion: 1\ndefaults:\n  region: us-east-1\ntopics:\n"
        for index in 0..<300 {
            text +=
                index % 3 == 0
                ? "  - pattern: \"d\(index).e.*\"\n    subscribe: { roles: [sales] }\n"
                : "  - { pattern: \"d\(index).f.*\", publish: { roles: [service] } }\n"
        }
        text += "tenants:\n  companies:\n"
        for index in 0..<companies {
            if let error, index == companies * 3 / 4 { text += error }
            switch index % 4 {
            case 0: text += "    \"\(index)\": { plan: enterprise }\n"
            case 1: text += "    c\(index):\n      home_region: eu-west-1\n      allowed_regions: [eu-west-1]\n"
            case 2: text += "    # company \(index)\n\n    '\(index)': { enabled: false }\n"
            default: text += "    \(index): { plan: standard }\n"
            }
        }
        text +=
            "  default: { plan: standard, home_region: us-east-1 }\nplans:\n  standard: { rate_limits: [] }\n  enterprise: { extends: standard }\n"
        return text
    }

    @Test("a large policy is read in two pieces, with the same document as read whole")
    func largePolicy() throws {
        let text = Self.large()
        #expect(text.utf8.count >= PolicySplitReader.minimumBytes)
        let lines = PolicySplitReader.Lines(text)
        let cut = try #require(PolicySplitReader.cut(lines, nearByte: lines.bytes.count / 2))
        #expect(cut.path == ["tenants", "companies"])
        let (split, diagnostics) = try #require(PolicySplitReader.read(text, file: "p.yaml"))
        #expect(diagnostics.isEmpty)
        let (document, _) = Self.whole(text)
        #expect(Self.describe(split) == Self.describe(document))
        #expect(split.tenants?.companies.count == 6_000)
        // Cuts all over the file, including in `topics` and at the top level.
        let sampled = Array(stride(from: 1, to: lines.count, by: 997)) + Array(0..<12) + Array((lines.count - 12)..<lines.count)
        #expect(Self.checkEveryCut(text, lines: sampled) > 8)
    }

    @Test("a large policy with an error anywhere gets the whole file's diagnostics")
    func largePolicyWithErrors() throws {
        // A mistyped company, a key repeated next to itself or far from itself (across the cut), broken YAML.
        for error in ["    bad: [oops]\n", "    dup0: { plan: x }\n    dup0: { plan: y }\n", "    \"0\": { plan: x }\n", "  - not: here\n"] {
            let text = Self.large(error: error)
            let (_, expected) = Self.whole(text)
            #expect(!expected.isEmpty, "\(error)")
            #expect(PolicySplitReader.read(text, file: "p.yaml") == nil, "\(error)")
            let (_, diagnostics) = PolicyReader.read(text, file: "p.yaml")
            #expect(diagnostics.map(DiagnosticFormatter.line) == expected.map(DiagnosticFormatter.line), "\(error)")
        }
    }

    @Test("the compiled policy of a large file is the one compiled from its pieces' reading")
    func compiledLargePolicy() throws {
        let text = Self.large()
        let policy = try PolicyCompiler().compile([PolicySource(path: "p.yaml", text: text)])
        #expect(policy.tenants.isListed("4") && policy.tenants.isListed("c5997") && policy.tenants.isListed("5998"))
        #expect(!policy.tenants.tenant(for: "5998").enabled)
    }
}
