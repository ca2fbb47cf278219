import Foundation
import GatewayTesting
import PolicyLanguage

/// The repository root, found from this file's path.
let repositoryRoot = RepositoryPaths.root

/// The repository's default policy, compiled.
func defaultPolicy() throws -> CompiledPolicy {
    try PolicyCompiler().compile(try PolicyLoader.load([repositoryRoot + "/policies"]))
}
