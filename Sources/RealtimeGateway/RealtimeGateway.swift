import ArgumentParser
import Foundation

/// `realtime-gateway`: the gateway and its policy tools (SPEC §1).
///
/// Exit codes: 0 success, 1 a finding (invalid policy, failing test, denied decision),
/// 2 usage or configuration error.
@main
struct RealtimeGateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realtime-gateway",
        abstract: "A WebSocket and long-polling gateway for CRM events with a declarative policy engine.",
        subcommands: [ServeCommand.self, PolicyCommand.self, TokenCommand.self]
    )

    /// Runs the command, mapping every error to the SPEC's exit codes and a message without a stack trace.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CLIFailure {
            Output.error(failure.message)
            Foundation.exit(failure.code)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { Output.line(message) }
                Foundation.exit(0)
            }
            if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
            if !message.isEmpty { Output.error(message) }
            Foundation.exit(code == .validationFailure ? 2 : (code.rawValue == 1 ? 1 : 2))
        }
    }
}
