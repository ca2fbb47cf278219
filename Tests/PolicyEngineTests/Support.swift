import Foundation
import PolicyLanguage

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The repository's default policy, compiled.
func defaultPolicy() throws -> CompiledPolicy {
    try PolicyCompiler().compile(try PolicyLoader.load([repositoryRoot + "/policies"]))
}
