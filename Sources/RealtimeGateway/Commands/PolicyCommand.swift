import ArgumentParser
import Foundation
import GatewayModel
import PolicyLanguage

/// `realtime-gateway policy ...`: check, test and explain policies without running the gateway.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate, test and explain policies.",
        subcommands: [ValidateCommand.self, TestCommand.self, ExplainCommand.self]
    )
}

/// Options shared by commands that compile a policy.
struct CompilerOptions: ParsableArguments {
    @Option(name: .customLong("default-region"), help: "Region when the policy sets no defaults.region (DEFAULT_REGION).")
    var defaultRegion: String?

    @Option(name: .customLong("retention-days"), help: "Retention when no rule sets retention_days (GDPR_RETENTION_DAYS).")
    var retentionDays: Int?

    /// Reads the policy files under `paths` (a missing path is a usage error) and configures the compiler.
    func load(_ paths: [String]) throws -> (sources: [PolicySource], compiler: PolicyCompiler) {
        do {
            return (try PolicyLoader.load(paths), try compiler(environment: ProcessInfo.processInfo.environment))
        } catch let error as PolicyLoader.LoadError {
            throw CLIFailure.usage(error.description)
        }
    }

    /// The compiler configured from flags, then the environment, then the SPEC defaults.
    func compiler(environment: [String: String]) throws -> PolicyCompiler {
        let region = defaultRegion ?? environment["DEFAULT_REGION"] ?? "us-east-1"
        let retentionText = retentionDays.map(String.init) ?? environment["GDPR_RETENTION_DAYS"] ?? "365"
        guard let retention = Int(retentionText), retention > 0 else {
            throw CLIFailure.usage("retention days must be a positive whole number, got '\(retentionText)'")
        }
        return PolicyCompiler(configuration: .init(defaultRegion: Region(region), defaultRetentionDays: retention))
    }
}
