import Foundation
import GatewayTesting

/// A running `realtime-gateway serve` process (the real binary, built next to the test bundle), for the
/// tests that need a process of its own: `kill -9`, signals, resident memory.
final class ServerProcess: @unchecked Sendable {
    static let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("realtime-gateway")

    let process: Process
    /// The process's exit, awaited without parking a thread.
    let exit: ProcessExit
    let port: Int
    /// Standard error, collected as it arrives.
    let output = CollectedOutput()

    var http: String { "http://127.0.0.1:\(port)" }
    var ws: String { "ws://127.0.0.1:\(port)" }

    /// Starts the binary; with `fileLimit`, under `prlimit --nofile=N:N` (soft and hard `RLIMIT_NOFILE`, same process).
    init(dataDir: String, environment extra: [String: String] = [:], fileLimit: Int? = nil) async throws {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["serve", "--port", "0", "--log-format", "json"]
        if let fileLimit {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--nofile=\(fileLimit):\(fileLimit)", Self.binary.path] + (process.arguments ?? [])
        }
        var environment = ProcessInfo.processInfo.environment
        environment["JWT_SECRET"] = TestServer.secret
        environment["POLICY_PATH"] = TestServer.policy
        environment["DATA_DIR"] = dataDir
        environment.merge(extra) { $1 }
        process.environment = environment
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let collected = output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.append(data)
        }
        exit = try ProcessExit.launch(process)
        self.process = process
        port = try await eventuallyValue("the server started: \(collected.snapshot())", interval: .milliseconds(50)) {
            collected.snapshot().split(separator: "\n").lazy.compactMap { line -> Int? in
                guard line.contains("\"server.started\""), let range = line.range(of: #""port":""#) else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }.first
        }
    }

    /// The complete lines of standard error so far that contain `text` (standard error is read as it comes,
    /// in pieces, so a line may still be on its way).
    func logLines(containing text: String) -> [String] {
        let output = output.snapshot()
        guard let end = output.lastIndex(of: "\n") else { return [] }
        return output[..<end].split(separator: "\n").filter { $0.contains(text) }.map(String.init)
    }

    /// Waits until at least `count` complete lines of standard error contain `text`; returns them all.
    func waitForLogLines(containing text: String, count: Int = 1) async throws -> [String] {
        try await eventuallyValue("\(count) log lines with \(text)") {
            let lines = logLines(containing: text)
            return lines.count >= count ? lines : nil
        }
    }

    /// The process's resident memory, from `/proc/PID/status` (`VmRSS`).
    func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw TestFailure("no VmRSS in /proc/\(process.processIdentifier)/status") }
        return kilobytes * 1024
    }

    /// A line of `/proc/PID/status` (`VmRSS`, `RssAnon`, `Threads`...), for diagnostics.
    func status(_ field: String) -> String {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix(field + ":") }.map {
            String($0.dropFirst(field.count + 1)).trimmingCharacters(in: .whitespaces)
        } ?? "?"
    }

    /// The value of an unlabelled metric on `/metrics` (0 when absent).
    func metric(_ name: String) async throws -> Double {
        let text = try await TestHTTP.get(http + "/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    /// Sends `signal` and waits for the exit.
    /// Whether the process still runs (from its own exit watch, not Foundation's `isRunning`).
    var isRunning: Bool { !exit.hasExited }

    func kill(_ signal: Int32) async {
        Foundation.kill(process.processIdentifier, signal)
        await exit.wait()
    }
}
