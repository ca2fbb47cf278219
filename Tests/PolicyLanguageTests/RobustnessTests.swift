import Foundation
import GatewayModel
import GatewayTesting
import PolicyLanguage
import Testing

/// Bad input always gets located diagnostics and never takes the process down.
@Suite("Compiler robustness")
struct RobustnessTests {
    static let root = RepositoryPaths.root

    @Test("randomly mutated policies compile or fail with diagnostics inside the file, never crash")
    func mutations() throws {
        // A fixture of this target, not the shipped policy: editing policies/default.yaml must not change what is mutated.
        let original = try String(contentsOfFile: Self.root + "/Tests/PolicyLanguageTests/Fixtures/good/full.yaml", encoding: .utf8)
        #expect(PolicyCompiler().check([PolicySource(path: "full.yaml", text: original)]).1.isEmpty, "the seed must compile cleanly")
        let alphabet = Array(":-[]{}\"'*.\t\n #&!|>%@`,?0123456789abcxyz_é\u{0}")
        var generator = SplitMix64(seed: 2026)
        var failures = 0
        for round in 0..<400 {
            var characters = Array(original)
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let position = Int(generator.next() % UInt64(characters.count))
                switch generator.next() % 3 {
                case 0: characters.remove(at: position)
                case 1: characters.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                default: characters[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                }
            }
            let text = String(characters)
            let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
            let (policy, diagnostics) = PolicyCompiler().check([PolicySource(path: "m\(round).yaml", text: text)])
            if policy == nil {
                failures += 1
                #expect(diagnostics.contains { $0.severity == .error }, "round \(round): refused without an error")
            }
            for diagnostic in diagnostics {
                #expect(diagnostic.location.file == "m\(round).yaml")
                #expect((1...lineCount + 1).contains(diagnostic.location.line), "round \(round): \(DiagnosticFormatter.line(diagnostic))")
                #expect(diagnostic.location.column >= 1)
                #expect(!diagnostic.message.isEmpty)
            }
        }
        #expect(failures > 100, "the mutations should break most policies; only \(failures) of 400 failed")
    }

    /// The exact diagnostics of each pathological input.
    static let pathologicalDiagnostics: [String: [String]] = [
        "deep nesting": [
            "p.yaml:1:5: error[yaml-syntax]: YAML syntax: Maximum nesting level reached, set with yaml_set_max_nest_level()) while parsing"
        ],
        "unterminated quote": ["p.yaml:4:1: error[yaml-syntax]: YAML syntax: found unexpected end of stream while scanning a quoted scalar"],
        "a document list": ["p.yaml:3:1: error[yaml-syntax]: YAML syntax: but found another document expected a single document in the stream"],
        "only a scalar": ["p.yaml:1:1: error[type-mismatch]: the policy file must be a mapping, found the string 'just text'"],
        "a list at the top": ["p.yaml:1:1: error[type-mismatch]: the policy file must be a mapping, found a list"],
        "NUL byte": ["p.yaml:1:1: error[yaml-syntax]: YAML syntax: control characters are not allowed"],
        "a 300-byte pattern": [
            "p.yaml:3:14: error[malformed-pattern]: pattern '\(String(repeating: "a.", count: 150))b' is 301 bytes long; the limit is 255"
                + " (write 2-8 dot-separated segments of a-z, 0-9, _ or a whole '*', e.g. 'deal.stage.*')"
        ],
    ]

    @Test(
        "pathological YAML is refused with a located error",
        arguments: [
            ("deep nesting", "a: " + String(repeating: "[", count: 3000) + String(repeating: "]", count: 3000) + "\n"),
            ("unterminated quote", "version: 1\ntopics:\n  - pattern: \"deal.*\n"),
            ("a document list", "---\nversion: 1\n---\nversion: 1\n"),
            ("only a scalar", "just text\n"),
            ("a list at the top", "- version: 1\n"),
            ("NUL byte", "version: 1\u{0}\n"),
            ("a 300-byte pattern", "version: 1\ntopics:\n  - pattern: \"" + String(repeating: "a.", count: 150) + "b\"\n"),
        ]
    )
    func pathological(name: String, text: String) {
        let (policy, diagnostics) = PolicyCompiler().check([PolicySource(path: "p.yaml", text: text)])
        #expect(policy == nil, "\(name) was accepted")
        #expect(diagnostics.map(FixtureTests.render) == Self.pathologicalDiagnostics[name], "\(name)")
    }
}
