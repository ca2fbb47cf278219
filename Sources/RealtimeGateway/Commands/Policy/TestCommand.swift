import ArgumentParser
import Foundation
import PolicyEngine
import PolicyLanguage

/// `policy test PATH`: runs the cases in `tests/*.yaml` beside the policy; ends with `N passed, N failed`.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the policy's test cases (tests/*.yaml beside the policy).",
        discussion:
            "Prints each failing case with expected and actual decision and the trace, then 'N passed, N failed'. Exit 1 on any failure or when no case ran."
    )

    @Argument(help: "The policy file or folder.")
    var path: String

    @Option(name: .customLong("cases"), help: "Test files or folders to run instead of tests/ beside the policy.")
    var cases: [String] = []

    @Flag(name: .shortAndLong, help: "Also list the cases that passed.")
    var verbose = false

    @OptionGroup var compilerOptions: CompilerOptions

    func run() throws {
        let (sources, compiler) = try compilerOptions.load([path])
        let (compiled, diagnostics) = compiler.check(sources)
        guard let policy = compiled else {
            Output.line(DiagnosticFormatter.text(diagnostics))
            Output.line("the policy is invalid, so no case ran")
            Output.line("0 passed, 1 failed")
            throw ExitCode(1)
        }
        let testSources: [PolicySource]
        do {
            testSources = try PolicyLoader.load(cases.isEmpty ? [Self.testFolder(for: path)] : cases)
        } catch {
            // A path given with --cases that does not exist is a usage error; a policy without tests/ is a failing suite.
            if !cases.isEmpty { throw CLIFailure.usage(error.description) }
            Output.error("\(error.description)")
            Output.line("0 passed, 1 failed")
            throw ExitCode(1)
        }
        let report = PolicyTestRunner(policy: policy).run(testSources)
        if !report.problems.isEmpty { Output.line(DiagnosticFormatter.text(report.problems)) }
        for result in report.results {
            if result.passed {
                if verbose { Output.line("ok   \(result.testCase.location): \(result.testCase.name)") }
                continue
            }
            Output.line("FAIL \(result.testCase.location): \(result.testCase.name)")
            Output.line("  expected: \(result.expected)")
            Output.line("  actual:   \(result.actual)")
            for failure in result.failures { Output.line("  - \(failure)") }
            if let trace = result.trace {
                Output.line("  trace:")
                Output.line(trace.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            }
        }
        if report.results.isEmpty && report.problems.isEmpty { Output.line("no test case was found; an empty test suite is a failure") }
        Output.line(report.results.isEmpty && report.failedCount == 0 ? "0 passed, 1 failed" : report.summary)
        if !report.succeeded { throw ExitCode(1) }
    }

    /// `PATH/tests` for a folder, `dirname(PATH)/tests` for a file.
    static func testFolder(for path: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return (path.hasSuffix("/") ? path : path + "/") + "tests"
        }
        let parent = (path as NSString).deletingLastPathComponent
        return (parent.isEmpty ? "." : parent) + "/tests"
    }
}
