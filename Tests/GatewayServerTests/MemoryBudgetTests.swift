import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11: history is what a client can make the gateway read in bulk, so the replays and polls of
/// clients that never read are held to `MEMORY_BUDGET_BYTES`, and the memory comes back when they leave.
/// Measured on a process of its own, from `/proc`.
@Suite("Memory budget", .serialized)
struct MemoryBudgetTests {
    static let budget = 32 << 20
    static let outboxLimit = 1 << 20
    /// What a connection that was accepted and then never read costs beyond the budget: its channel,
    /// session and first receive buffer, and Hummingbird's task for an HTTP one. Measured: ~25 KiB.
    static let perConnectionAllowance = 64 << 10
    /// The process's own churn while 300 connections come and go (allocator arenas, metrics, logs).
    static let slack = 24 << 20
    /// Under a sanitizer (scripts/test.sh --sanitize sets its options) the gateway's resident memory includes the
    /// sanitizer's shadow memory, which moves by tens of MiB between runs (7, 28 and 83 MiB of growth in three CI
    /// runs of this test under TSan): the scenario runs, but resident memory is only printed.
    static let underSanitizer = ["TSAN_OPTIONS", "ASAN_OPTIONS"].contains { ProcessInfo.processInfo.environment[$0] != nil }

    @Test("100 non-reading replayers and 200 non-reading polls over 8 MB of history stay within the budget; memory returns after")
    func nonReadersStayWithinTheBudget() async throws {
        let server = try await ServerProcess(
            dataDir: TestServer.temporaryDirectory(),
            environment: ["MEMORY_BUDGET_BYTES": "\(Self.budget)", "OUTBOX_LIMIT_BYTES": "\(Self.outboxLimit)", "MAX_CONNECTIONS": "1000"]
        )
        defer { Foundation.kill(server.process.processIdentifier, SIGKILL) }
        try await publishHistory(server)
        let token = await Tokens.hs256()
        try await warmUp(server, token: token)
        let baseline = try server.residentBytes()
        let before = "anon \(server.status("RssAnon")), file \(server.status("RssFile")), threads \(server.status("Threads"))"

        let peak = PeakSampler(server)
        var clients: [StalledClient] = []
        for _ in 0..<100 {
            clients.append(try .replayer(port: server.port, path: "/ws?token=\(token)", topics: ["deal.stage.*"], cursor: "0"))
        }
        for _ in 0..<200 {
            clients.append(
                try .getter(port: server.port, target: "/api/realtime/poll/?topics=deal.stage.*&cursor=0&limit=1000&timeout=0", token: token)
            )
        }
        // 100 replays of 3 MiB do not fit in 32 MiB: all but about ten wait, and are refused after 5 s.
        try await eventually("most of the replayers were refused for the budget", timeout: .seconds(120)) {
            (try? await server.metric("memory_budget_refused_total")) ?? 0 >= 80
        }
        try await Task.sleep(for: .seconds(2))
        let held = try await peak.stop() - baseline
        let bound = Self.budget + 300 * Self.perConnectionAllowance + Self.slack
        print("memory budget test: baseline \(baseline >> 20) MiB, peak growth \(held >> 20) MiB, bound \(bound >> 20) MiB")
        if !Self.underSanitizer {
            #expect(held <= bound, "RSS grew by \(held >> 20) MiB with 300 non-reading clients; the bound is \(bound >> 20) MiB")
        }

        clients.removeAll()
        try await eventually("the clients are gone", timeout: .seconds(60)) {
            let open = try? await server.metric("websocket_active")
            let used = try? await server.metric("memory_budget_used_bytes")
            return open == 0 && used == 0
        }
        var after = try server.residentBytes()
        try? await eventually("RSS falls back within 20 % of its level before the clients", timeout: .seconds(30)) {
            after = (try? server.residentBytes()) ?? after
            return Double(after) <= Double(baseline) * 1.2
        }
        print(
            "memory budget test: after the clients left \(after >> 20) MiB (baseline \(baseline >> 20) MiB); before: \(before); after: anon \(server.status("RssAnon")), file \(server.status("RssFile")), threads \(server.status("Threads"))"
        )
        if !Self.underSanitizer {
            #expect(Double(after) <= Double(baseline) * 1.2, "RSS \(after >> 20) MiB after the clients left; before them \(baseline >> 20) MiB")
        }
    }

    /// 2,000 events of about 4 KB for company 123.
    private func publishHistory(_ server: ServerProcess) async throws {
        let service = await Tokens.service()
        let blob = String(repeating: "x", count: 4_000)
        for batch in 0..<20 {
            let events = (0..<100).map { index -> [String: Any] in
                ["event_type": "deal.stage.updated", "data": ["company_id": "123", "n": batch * 100 + index, "blob": blob]]
            }
            let reply = try await TestHTTP.post(server.http + "/api/realtime/publish/batch/", token: service, json: ["events": events])
            try #require(reply.status == 202, "batch \(batch): \(reply.text)")
        }
    }

    /// The load of an ordinary busy spell before the hostile clients: four readers replay everything at
    /// once and polls are read to the end eight at a time, so what replays and polls allocate once (code
    /// paths, the log's reader pool and its caches, allocator arenas) is in the level they are compared to.
    private func warmUp(_ server: ServerProcess, token: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let socket = try await TestSocket(url: server.ws + "/ws?token=\(token)")
                    _ = try await socket.next(type: "connection.established")
                    try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
                    _ = try await socket.next(type: "subscription.confirmed")
                    try await socket.send(json: ["type": "cursor.update", "cursor": "0"])
                    _ = try await socket.next(type: "cursor.resumed", timeout: .seconds(120))
                    await socket.close()
                }
            }
            try await group.waitForAll()
        }
        for _ in 0..<3 {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&cursor=0&limit=1000&timeout=0", token: token)
                            .status
                    }
                }
                for try await status in group { try #require(status == 200) }
            }
        }
        try await Task.sleep(for: .seconds(6))
    }
}

/// Samples a process's resident memory every 50 ms until stopped; returns the highest sample.
final class PeakSampler: Sendable {
    private let task: Task<Int, Never>

    init(_ server: ServerProcess) {
        task = Task {
            var peak = 0
            while !Task.isCancelled {
                peak = max(peak, (try? server.residentBytes()) ?? 0)
                try? await Task.sleep(for: .milliseconds(50))
            }
            return max(peak, (try? server.residentBytes()) ?? 0)
        }
    }

    func stop() async throws -> Int {
        task.cancel()
        return await task.value
    }
}
