import Foundation

/// Unbuffered writes to standard output and standard error, so lines keep their order in CI logs.
enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        let prefixed = text.hasPrefix("error:") || text.hasPrefix("Error:") ? text : "error: " + text
        FileHandle.standardError.write(Data((prefixed + "\n").utf8))
    }
}

/// A user-facing failure: what is wrong and how to fix it, with the exit code to end with.
struct CLIFailure: Error {
    let message: String
    let code: Int32

    /// A usage or configuration error (exit 2).
    static func usage(_ message: String) -> CLIFailure { CLIFailure(message: message, code: 2) }
}
