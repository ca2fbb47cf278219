import Foundation
import NIOCore
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real binary under a low `RLIMIT_NOFILE` (`prlimit`, Linux): the socket budget fits itself to the limit,
/// and `accept` failures for want of descriptors pause accepting instead of spinning a core.
@Suite(
    "Descriptor limits",
    .serialized,
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") && FileManager.default.fileExists(atPath: "/proc/self/stat"))
)
struct DescriptorLimitTests {

    /// User plus system CPU seconds of process `pid` (`/proc/PID/stat` fields 14 and 15).
    static func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
        guard let close = stat.lastIndex(of: ")") else { throw TestFailure("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw TestFailure("unreadable /proc/\(pid)/stat: \(stat)")
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("out of descriptors (RLIMIT_NOFILE 64, no reserve), failing accepts pause instead of spinning; health answers once sockets close")
    func acceptPause() async throws {
        let server = try await ServerProcess(
            dataDir: TestServer.temporaryDirectory(),
            environment: ["SOCKET_FD_RESERVE": "0", "HTTP_HEADER_TIMEOUT": "300"],
            fileLimit: 64
        )
        let pid = server.process.processIdentifier
        // More sockets than the process has descriptors: the rest wait in the listen backlog.
        var sockets = try (0..<120).map { _ in try RawWebSocket(port: server.port) }
        _ = try await server.waitForLogLines(containing: #""event":"server.accept_paused""#)
        let cpuBefore = try Self.cpuSeconds(pid)
        let started = ContinuousClock.now
        try await Task.sleep(for: .seconds(3))
        let used = try Self.cpuSeconds(pid) - cpuBefore
        let elapsed = Double((ContinuousClock.now - started).components.seconds) + 0.001
        // A spinning accept loop takes a whole core (the adversarial pass saw 94%); paused, it takes next to nothing.
        #expect(used / elapsed < 0.25, "the process used \(used) s of CPU in \(elapsed) s")
        sockets.removeAll()
        let health = try await eventuallyValue("health answers once the sockets are closed", interval: .milliseconds(200)) {
            () async throws -> TestHTTP.Reply? in
            let reply = try? await TestHTTP.request(.GET, server.http + "/api/realtime/health/", timeout: .seconds(5))
            return reply?.status == 200 ? reply : nil
        }
        #expect(health.status == 200)
        #expect(server.isRunning)
        await server.kill(SIGTERM)
    }

    @Test(
        "under RLIMIT_NOFILE 256, MAX_OPEN_SOCKETS is lowered with a warning; of 300 silent sockets the excess is answered 503 at once, the rest 408"
    )
    func budgetFitsDescriptors() async throws {
        let server = try await ServerProcess(
            dataDir: TestServer.temporaryDirectory(),
            environment: ["HTTP_HEADER_TIMEOUT": "3"],
            fileLimit: 256
        )
        let warning = try await server.waitForLogLines(containing: #""event":"server.socket_limit_lowered""#).first ?? ""
        #expect(warning.contains(#""limit":"128""#), "256 descriptors less the reserve of 128: \(warning)")
        let sockets = try (0..<300).map { _ in try RawWebSocket(port: server.port) }
        var received = [[UInt8]](repeating: [], count: sockets.count)
        var ended = [Bool](repeating: false, count: sockets.count)
        try await eventually("every socket is answered and closed", interval: .milliseconds(100)) {
            for (index, socket) in sockets.enumerated() where !ended[index] {
                let (bytes, done) = socket.readAvailable()
                received[index] += bytes
                ended[index] = done
            }
            return !ended.contains(false)
        }
        let statuses = received.map { RawAnswer(bytes: $0, ended: true).status }
        let refused = statuses.filter { $0 == 503 }.count
        let timedOut = statuses.filter { $0 == 408 }.count
        #expect(refused + timedOut == sockets.count, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        #expect(refused >= 1 && timedOut >= 1 && timedOut <= 200, "503: \(refused), 408: \(timedOut)")
        // The answered sockets linger up to 2 s (their input drained) before they close and leave the budget.
        let health = try await eventuallyValue("health answers", interval: .milliseconds(200)) { () async throws -> TestHTTP.Reply? in
            let reply = try? await TestHTTP.request(.GET, server.http + "/api/realtime/health/", timeout: .seconds(5))
            return reply?.status == 200 ? reply : nil
        }
        #expect(health.status == 200)
        await server.kill(SIGTERM)
    }
}
