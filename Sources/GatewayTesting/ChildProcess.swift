import Dispatch
public import Foundation
import Synchronization

/// Runs a command for a test and awaits it without parking a thread of the cooperative pool.
///
/// `Process.waitUntilExit()` spins the calling thread's run loop until Foundation's manager thread reports the
/// exit; called from a task it can park that worker forever after the child has gone (swift-corelibs-foundation
/// on Linux). With two workers on a 2-core machine, two such waits stop every test in the process: a CI run hung
/// for its whole 90 minutes that way. So exits are awaited through ``ProcessExit`` (a `terminationHandler` set
/// before `run()`), and output is read on Dispatch threads, both pipes at once, so a child that fills one pipe
/// while the other is read cannot stall either.
public enum ChildProcess {
    /// What a finished command left.
    public struct Output: Sendable {
        /// The exit status, or the signal's number when it was killed.
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `executable` with `arguments` to its end.
    /// - Parameters:
    ///   - environment: the whole environment; the test process's own when nil.
    ///   - directory: the working directory.
    ///   - timeout: the child is sent SIGKILL when it runs longer, and the output says so by its status.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exit = ProcessExit(process)
        try process.run()
        let pid = process.processIdentifier
        let killer = DispatchWorkItem { Foundation.kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds, execute: killer)
        defer { killer.cancel() }
        async let stdout = readToEnd(out.fileHandleForReading)
        async let stderr = readToEnd(err.fileHandleForReading)
        let (standardOutput, standardError) = await (stdout, stderr)
        await exit.wait()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: standardOutput, as: UTF8.self),
            stderr: String(decoding: standardError, as: UTF8.self)
        )
    }

    /// Reads a pipe to its end on a Dispatch thread (a blocking read, kept off the cooperative pool).
    private static func readToEnd(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
    }
}

/// One process's exit, awaited by any number of tasks. Create it before `run()`: it sets the process's
/// `terminationHandler`, which Foundation calls from its own thread once it has reaped the child.
public final class ProcessExit: Sendable {
    private struct State {
        var exited = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init(_ process: Process) {
        process.terminationHandler = { [self] _ in
            let waiters = state.withLock { state in
                state.exited = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Whether the process has exited (and been reaped).
    public var hasExited: Bool { state.withLock { $0.exited } }

    /// Returns once the process has exited.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state in
                if !state.exited { state.waiters.append(continuation) }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }
}

extension Duration {
    /// The duration in seconds, for Dispatch deadlines.
    fileprivate var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
