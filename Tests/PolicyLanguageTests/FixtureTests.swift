import Foundation
import GatewayTesting
import PolicyLanguage
import Testing

/// One file per diagnostic kind under `Fixtures/`: `good/` must compile, `bad/` (structural, also
/// refused by the JSON Schema) and `semantic/` (only the compiler can see them) must fail with exactly
/// the diagnostics their `# expect: LINE:COLUMN: severity: MESSAGE (HINT)` lines state.
@Suite("Policy fixtures")
struct FixtureTests {
    static let root = RepositoryPaths.root
    static let folder = "Tests/PolicyLanguageTests/Fixtures"

    static func fixtures(_ kind: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)/\(kind)")) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { "\(folder)/\(kind)/\($0)" }
    }

    static func source(_ path: String) throws -> PolicySource {
        PolicySource(path: path, text: try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8))
    }

    @Test("every good fixture compiles without errors", arguments: fixtures("good"))
    func good(path: String) throws {
        let (policy, diagnostics) = PolicyCompiler().check([try Self.source(path)])
        #expect(policy != nil, "\(DiagnosticFormatter.text(diagnostics))")
    }

    @Test("every bad and semantic fixture fails with exactly its expected diagnostics", arguments: fixtures("bad") + fixtures("semantic"))
    func bad(path: String) throws {
        let source = try Self.source(path)
        let expected = source.text.split(separator: "\n").filter { $0.hasPrefix("# expect: ") }.map { "\(path):" + $0.dropFirst("# expect: ".count) }
        #expect(!expected.isEmpty, "the fixture states no expectation")
        let (policy, diagnostics) = PolicyCompiler().check([source])
        #expect(policy == nil)
        #expect(diagnostics.map(DiagnosticFormatter.line) == expected)
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
