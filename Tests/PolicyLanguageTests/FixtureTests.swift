import Foundation
import GatewayModel
import GatewayTesting
import PolicyLanguage
import Testing

/// One file per diagnostic kind under `Fixtures/`: `good/` must compile (with only the warnings it states), `bad/` (structural, also
/// refused by the JSON Schema) and `semantic/` (only the compiler can see them) must fail with exactly
/// the diagnostics their `# expect: LINE:COLUMN: severity[code]: MESSAGE (HINT)` lines state, in order.
@Suite("Policy fixtures")
struct FixtureTests {
    static let root = RepositoryPaths.root
    static let folder = "Tests/PolicyLanguageTests/Fixtures"

    /// How many fixtures each kind has: a folder that cannot be listed, or loses a file, fails
    /// ``fixtureCounts()`` instead of quietly running fewer cases.
    static let expectedCounts = ["good": 5, "bad": 42, "semantic": 13]

    static func list(_ kind: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)/\(kind)")
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { "\(folder)/\(kind)/\($0)" }
    }

    /// The fixtures of one kind, for test arguments (which cannot throw); ``fixtureCounts()`` checks the listing.
    static func fixtures(_ kind: String) -> [String] { (try? list(kind)) ?? [] }

    /// `LINE:COLUMN: severity[code]: MESSAGE (HINT)`, the form of a fixture's `# expect:` lines.
    static func render(_ diagnostic: Diagnostic) -> String {
        let location = diagnostic.location
        var text =
            "\(location.file):\(location.line):\(location.column): \(diagnostic.severity.rawValue)[\(diagnostic.code.rawValue)]: \(diagnostic.message)"
        if let hint = diagnostic.hint { text += " (\(hint))" }
        return text
    }

    static func source(_ path: String) throws -> PolicySource {
        PolicySource(path: path, text: try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8))
    }

    @Test("each fixture folder holds exactly the expected number of fixtures")
    func fixtureCounts() throws {
        for (kind, count) in Self.expectedCounts {
            #expect(try Self.list(kind).count == count, "\(kind)")
            #expect(Self.fixtures(kind).count == count, "\(kind)")
        }
        let folders = try FileManager.default.contentsOfDirectory(atPath: "\(Self.root)/\(Self.folder)").filter { !$0.hasPrefix(".") }
        #expect(Set(folders) == Set(Self.expectedCounts.keys))
    }

    /// A fixture's `# expect:` lines, as full diagnostics of that file.
    static func expectations(_ source: PolicySource) -> [String] {
        source.text.split(separator: "\n").filter { $0.hasPrefix("# expect: ") }.map { "\(source.path):" + $0.dropFirst("# expect: ".count) }
    }

    @Test("every good fixture compiles, with exactly the warnings it states", arguments: fixtures("good"))
    func good(path: String) throws {
        let source = try Self.source(path)
        let (policy, diagnostics) = PolicyCompiler().check([source])
        #expect(policy != nil, "\(DiagnosticFormatter.text(diagnostics))")
        #expect(diagnostics.map(Self.render) == Self.expectations(source))
    }

    @Test("every bad and semantic fixture fails with exactly its expected diagnostics", arguments: fixtures("bad") + fixtures("semantic"))
    func bad(path: String) throws {
        let source = try Self.source(path)
        let expected = Self.expectations(source)
        #expect(!expected.isEmpty, "the fixture states no expectation")
        let (policy, diagnostics) = PolicyCompiler().check([source])
        #expect(policy == nil)
        #expect(diagnostics.map(Self.render) == expected)
        #expect(diagnostics == diagnostics.sorted())
    }

    @Test("there is a fixture for every diagnostic code the compiler can raise from one file")
    func coverage() throws {
        var seen: Set<DiagnosticCode> = []
        for path in Self.fixtures("bad") + Self.fixtures("semantic") {
            seen.formUnion(PolicyCompiler().check([try Self.source(path)]).1.map(\.code))
        }
        // Codes that need several files, 65 roles, or a warning-only policy are covered in CompilerTests.
        let elsewhere: Set<DiagnosticCode> = [
            .noPolicyFiles, .unreadableFile, .conflictingDefinition, .tooManyRoles, .tooManyPIIPaths, .tooManyRegions, .overlappingPatterns,
            .emptyRoles,
        ]
        let missing = Set(DiagnosticCode.allCases).subtracting(seen).subtracting(elsewhere)
        #expect(missing.isEmpty, "no fixture for \(missing.map(\.rawValue).sorted())")
    }
}
