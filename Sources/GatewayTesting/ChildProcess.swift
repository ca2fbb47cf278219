import Dispatch
public import Foundation
import Synchronization

/// Runs a command for a test and awaits it without parking a thread of the cooperative pool.
///
/// `Process.waitUntilExit()` spins the calling thread's run loop until Foundation's manager thread reports the
/// exit; called from a task it can park that worker. Reading a child's output to end of file is no safer: Foundation's
/// `Process` does not close other descriptors in the child, so a process another test spawns at the same moment
/// (a `redis-server`, its watchdog) can inherit the write end of this child's pipe, and end of file then never
/// comes. A CI run hung for its whole 90 minutes that way: a `redis-cli` had exited, and its reader waited on a
/// pipe a watchdog shell still held. So exits are awaited through ``ProcessExit`` (a `terminationHandler` set
/// before `run()`), and the pipes are read on threads of their own until the child has exited and its pipe is empty,
/// both at once, so a child that fills one pipe while the other is read cannot stall either.
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
        // Not inherited by what other threads spawn meanwhile (the child's own copies are dup2'ed, without the flag).
        for pipe in [out, err] {
            _ = fcntl(pipe.fileHandleForReading.fileDescriptor, F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exit = try ProcessExit.launch(process)
        let pid = process.processIdentifier
        let killer = DispatchWorkItem { Foundation.kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds, execute: killer)
        defer { killer.cancel() }
        async let stdout = readUntilExit(out.fileHandleForReading, exit)
        async let stderr = readUntilExit(err.fileHandleForReading, exit)
        let (standardOutput, standardError) = await (stdout, stderr)
        await exit.wait()
        // Now, not when Foundation lets go of the process (which keeps its pipes until it has reaped it).
        for pipe in [out, err] { try? pipe.fileHandleForReading.close() }
        return Output(
            status: exit.status ?? -1,
            stdout: String(decoding: standardOutput, as: UTF8.self),
            stderr: String(decoding: standardError, as: UTF8.self)
        )
    }

    /// Reads a pipe on a thread of its own until end of file, or until the child has exited and the pipe is
    /// empty: whatever the child wrote is in the pipe by the time it has exited. Not on the cooperative pool, and
    /// not on Dispatch's global queues either, whose few workers a read waiting on a child must not hold.
    private static func readUntilExit(_ handle: FileHandle, _ exit: ProcessExit) async -> Data {
        await withCheckedContinuation { continuation in
            Thread {
                let descriptor = handle.fileDescriptor
                var data = Data()
                var chunk = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let exited = exit.hasExited
                    var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                    let ready = poll(&poller, 1, exited ? 0 : 50)
                    if ready < 0, errno == EINTR { continue }
                    guard ready > 0 else {
                        if exited || ready < 0 { break }
                        continue
                    }
                    let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else { break }
                    data.append(contentsOf: chunk[..<count])
                }
                continuation.resume(returning: data)
            }.start()
        }
    }
}

/// One process's exit, awaited by any number of tasks: ``launch(_:)`` runs the process and watches it.
///
/// Foundation's own notice (`terminationHandler`) is not enough on Linux: Foundation learns of exits through a
/// CFSocket that its manager thread watches with `select()`, which cannot watch a descriptor numbered 1024 or
/// more, so in a test process with many open sockets the notice never comes (seen: children left as zombies,
/// tests waiting forever). A thread per child therefore also waits for the exit with
/// `waitid(WEXITED | WNOWAIT)`, which sees it without reaping, so Foundation may still reap the child.
public final class ProcessExit: Sendable {
    private struct State {
        var status: Int32?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    private init() {}

    /// Runs `process` and returns its exit. Set the process's pipes and arguments first; do not set its
    /// `terminationHandler`.
    public static func launch(_ process: Process) throws -> ProcessExit {
        let exit = ProcessExit()
        process.terminationHandler = { process in exit.finish(process.terminationStatus) }
        try process.run()
        let pid = process.processIdentifier
        let watcher = Thread {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 {
                // ECHILD: Foundation reaped it first, and its handler reports the exit.
                guard errno == EINTR else { return }
            }
            exit.finish(info._sifields._sigchld.si_status)
        }
        watcher.name = "process-exit-\(pid)"
        watcher.start()
        return exit
    }

    private func finish(_ status: Int32) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.status == nil else { return [] }
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether the process has exited.
    public var hasExited: Bool { state.withLock { $0.status != nil } }

    /// The exit status, or the number of the signal that ended the process (as `Process.terminationStatus`);
    /// `nil` while it runs.
    public var status: Int32? { state.withLock { $0.status } }

    /// Returns once the process has exited.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state in
                if state.status == nil { state.waiters.append(continuation) }
                return state.status != nil
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
