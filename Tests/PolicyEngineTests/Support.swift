import Foundation
import GatewayModel
import GatewayTesting
import PolicyLanguage

/// The repository root, found from this file's path.
let repositoryRoot = RepositoryPaths.root

/// This target's own policy: a frozen copy of the reference design, so editing the shipped
/// `policies/default.yaml` can neither break nor silently weaken these tests.
let fixturePolicyFile = repositoryRoot + "/Tests/PolicyEngineTests/Fixtures/policy.yaml"

/// The folder of test cases written against ``fixturePolicyFile``.
let fixtureCasesFolder = repositoryRoot + "/Tests/PolicyEngineTests/Fixtures/tests"

/// A location in ``fixturePolicyFile``.
func fixtureLocation(line: Int, column: Int) -> SourceLocation {
    SourceLocation(file: fixturePolicyFile, line: line, column: column)
}

/// The fixture policy, compiled.
func fixturePolicy() throws -> CompiledPolicy {
    try PolicyCompiler().compile(try PolicyLoader.load([fixturePolicyFile]))
}

/// Diagnostics as `FILE:LINE:COLUMN: severity[code]: MESSAGE (HINT)`, in the order given: tests compare
/// the whole sorted list, so a missing, extra or misplaced diagnostic fails.
func rendered(_ diagnostics: [Diagnostic]) -> [String] {
    diagnostics.map { diagnostic in
        var text = "\(diagnostic.location): \(diagnostic.severity.rawValue)[\(diagnostic.code.rawValue)]: \(diagnostic.message)"
        if let hint = diagnostic.hint { text += " (\(hint))" }
        return text
    }
}
