import ArgumentParser
import PolicyLanguage

/// `policy validate PATH...`: every problem, sorted, one line each; exit 0 valid, 1 invalid, 2 usage.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate policy files or folders.",
        discussion: "Prints FILE:LINE:COLUMN: error: MESSAGE per problem (warnings alike). Exit 0 when valid, 1 when not, 2 on usage errors."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "Policy files or folders (a folder's *.yaml files are merged; tests/ is skipped).")
    var paths: [String] = []

    @Option(help: "Output format: text or json.")
    var format: Format = .text

    @OptionGroup var compilerOptions: CompilerOptions

    func run() throws {
        guard !paths.isEmpty else {
            throw CLIFailure.usage("name at least one policy file or folder, e.g. 'realtime-gateway policy validate policies'")
        }
        let (sources, compiler) = try compilerOptions.load(paths)
        let (policy, diagnostics) = compiler.check(sources)
        switch format {
        case .json:
            Output.line(DiagnosticFormatter.json(diagnostics))
        case .text:
            if !diagnostics.isEmpty { Output.line(DiagnosticFormatter.text(diagnostics)) }
            let errors = diagnostics.filter { $0.severity == .error }.count
            let warnings = diagnostics.count - errors
            if let policy {
                let counts = [
                    Self.count(policy.files.count, "file"), Self.count(policy.rules.count, "topic rule"),
                    Self.count(policy.tenants.tenants.count, "listed company", plural: "listed companies"), Self.count(policy.plans.count, "plan"),
                ]
                Output.line(
                    "valid: \(counts.joined(separator: ", ")), version \(policy.version)\(warnings > 0 ? ", \(Self.count(warnings, "warning"))" : "")"
                )
            } else {
                Output.line("invalid: \(Self.count(errors, "error")), \(Self.count(warnings, "warning"))")
            }
        }
        if policy == nil { throw ExitCode(1) }
    }

    /// `1 file`, `2 files`.
    static func count(_ number: Int, _ singular: String, plural: String? = nil) -> String {
        "\(number) \(number == 1 ? singular : plural ?? singular + "s")"
    }
}
