import Foundation
import GatewayTesting
import Synchronization
import Testing

/// The real binary as a subprocess: history and cursors survive `kill -9` right after a 202,
/// SIGTERM closes sockets with 1001, SIGHUP reloads the policy.
@Suite("Restart and shutdown", .serialized)
struct RestartTests {
    @Test("SIGHUP reloads the policy: the edited file is compiled and swapped in, and the log says so")
    func sighupReloads() async throws {
        let folder = TestServer.temporaryDirectory()
        let file = folder + "/policy.yaml"
        try FileManager.default.copyItem(atPath: TestServer.policy, toPath: file)
        let server = try await ServerProcess(
            dataDir: TestServer.temporaryDirectory(),
            environment: ["POLICY_PATH": folder, "POLICY_WATCH_INTERVAL": "0"]
        )
        let admin = await Tokens.hs256(company: nil, roles: ["admin"])
        let before = try await TestHTTP.get(server.http + "/api/realtime/policy/", token: admin).json["version"] as? String
        try (try String(contentsOfFile: file, encoding: .utf8) + "\n# edited: the version is a hash of the text\n").write(
            toFile: file,
            atomically: true,
            encoding: .utf8
        )
        Foundation.kill(server.process.processIdentifier, SIGHUP)
        let status = try await eventuallyValue("the policy was reloaded", interval: .milliseconds(100)) { () async throws -> [String: Any]? in
            let status = try await TestHTTP.get(server.http + "/api/realtime/policy/", token: admin).json
            return status["version"] as? String != before ? status : nil
        }
        #expect((status["last_reload"] as? [String: Any])?["trigger"] as? String == "signal")
        #expect(try await server.waitForLogLines(containing: #""event":"policy.reloaded""#).count == 1)
        // A broken edit: SIGHUP reports it in the log, with the diagnostics, and the process serves on.
        try (try String(contentsOfFile: file, encoding: .utf8) + "\nunknown_section: {}\n").write(toFile: file, atomically: true, encoding: .utf8)
        Foundation.kill(server.process.processIdentifier, SIGHUP)
        let failure = try await server.waitForLogLines(containing: #""event":"policy.reload_failed""#).first ?? ""
        #expect(failure.contains("policy.yaml:") && failure.contains("unknown_section"), "\(failure)")
        let health = try await TestHTTP.get(server.http + "/api/realtime/health/")
        #expect(health.status == 200 && (health.json["components"] as? [String: Any])?["policy"] as? String == "degraded")
        #expect(server.isRunning)
        await server.kill(SIGTERM)
    }

    @Test(
        "every refusal is a policy.decision log line with reason, rule location and policy version, never the token, user or payload; counted by reason"
    )
    func decisionAudit() async throws {
        let server = try await ServerProcess(dataDir: TestServer.temporaryDirectory(), environment: ["LOG_LEVEL": "info"])
        let token = await Tokens.hs256(user: "user-4711", company: "123", roles: ["support"])
        let socket = try await TestSocket(url: server.ws + "/ws?token=\(token)")
        _ = try await socket.next(type: "connection.established")
        try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*", "nope.*"]])
        _ = try await socket.next(type: "error")
        _ = try await socket.next(type: "error")
        let refused = try await TestHTTP.post(
            server.http + "/api/realtime/publish/",
            token: token,
            json: ["event_type": "deal.stage.updated", "data": ["company_id": "123", "contact_email": "ada@example.com"]]
        )
        #expect(refused.status == 403)
        await socket.close()
        let metrics = try await TestHTTP.get(server.http + "/metrics").text
        #expect(metrics.contains(#"policy_decisions_total{action="subscribe",result="deny",reason="role_not_allowed"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"policy_decisions_total{action="subscribe",result="deny",reason="topic_not_whitelisted"} 1"#))
        #expect(metrics.contains(#"policy_decisions_total{action="publish",result="deny",reason="role_not_allowed"} 1"#))
        await server.kill(SIGTERM)

        let lines = try await server.waitForLogLines(containing: #""event":"policy.decision""#, count: 3)
        #expect(lines.count == 3, "\(lines)")
        let role = lines.first { $0.contains(#""topic":"deal.stage.*""#) } ?? ""
        #expect(role.contains(#""reason":"role_not_allowed""#) && role.contains(#""result":"deny""#) && role.contains(#""action":"subscribe""#))
        #expect(role.contains("Fixtures/policy.yaml:8:16") && role.contains(#""policy_version":""#), "\(role)")
        let log = server.output.snapshot()
        #expect(!log.contains(token) && !log.contains("ada@example.com") && !log.contains("user-4711"))
    }

    @Test("a fresh process exports every SPEC §9 metric, with the counts of what it did")
    func metricsOfAFreshProcess() async throws {
        // A process of its own: swift-metrics is bootstrapped once per process, so only here would
        // metrics created before the bootstrap go missing.
        let server = try await ServerProcess(dataDir: TestServer.temporaryDirectory())
        let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(roles: ["sales"]))")
        _ = try await socket.next(type: "connection.established")
        try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
        _ = try await socket.next(type: "subscription.confirmed")
        let published = try await TestHTTP.post(
            server.http + "/api/realtime/publish/",
            token: await Tokens.service(),
            json: ["event_type": "deal.stage.updated", "data": ["company_id": "123"]]
        )
        #expect(published.status == 202)
        _ = try await socket.next(type: "event")
        func series(_ text: String) -> [String: Double] {
            Dictionary(
                text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line -> (String, Double)? in
                    guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
                    return (String(line[..<space]), value)
                },
                uniquingKeysWith: { $1 }
            )
        }
        // A fan-out counts its delivery once it is queued: the client may read the event before that.
        let text = try await eventuallyValue("the delivery is counted") { () async throws -> String? in
            let text = try await TestHTTP.get(server.http + "/metrics").text
            return series(text)["delivery_latency_seconds_count"] == 1 && series(text)["event_delivered_total"] == 1 ? text : nil
        }
        let series = series(text)
        for name in [
            "websocket_connected_total", "websocket_disconnected_total", "event_dropped_total", "websocket_error_total",
            "longpoll_error_total", "subscription_error_total", "ratelimit_refused_total",
        ] {
            #expect(series[name] != nil, "\(name) in \(text)")
        }
        #expect(series["websocket_connected_total"] == 1 && series["websocket_active"] == 1)
        #expect(series["event_published_total"] == 1 && series["event_delivered_total"] == 1, "\(text)")
        #expect(series["delivery_latency_seconds_count"] == 1, "\(text)")
        #expect(series[#"policy_decisions_total{action="publish",result="allow",reason="allowed"}"#] == 1)
        await socket.close()
        await server.kill(SIGTERM)
    }

    @Test("with POLICY_AUDIT_ALLOWED allowed decisions are logged too, with the deciding rule")
    func auditAllowed() async throws {
        let server = try await ServerProcess(
            dataDir: TestServer.temporaryDirectory(),
            environment: ["LOG_LEVEL": "info", "POLICY_AUDIT_ALLOWED": "true"]
        )
        let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(roles: ["sales"]))")
        _ = try await socket.next(type: "connection.established")
        try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
        _ = try await socket.next(type: "subscription.confirmed")
        await socket.close()
        await server.kill(SIGTERM)
        // The connect and the subscribe decisions.
        let lines = try await server.waitForLogLines(containing: #""event":"policy.decision""#, count: 2)
        #expect(lines.contains { $0.contains(#""action":"connect""#) && $0.contains(#""result":"allow""#) })
        #expect(
            lines.contains { $0.contains(#""action":"subscribe""#) && $0.contains(#""result":"allow""#) && $0.contains("Fixtures/policy.yaml:7:14") },
            "\(lines)"
        )
    }

    @Test("after kill -9 right after a 202, a restarted gateway replays and polls everything from the same data dir")
    func killNineThenResume() async throws {
        let dataDir = TestServer.temporaryDirectory()
        let service = await Tokens.service()
        let first = try await ServerProcess(dataDir: dataDir)
        var ids: [String] = []
        var lastCursor = Int.max
        for index in 0..<50 {
            let reply = try await TestHTTP.post(
                first.http + "/api/realtime/publish/",
                token: service,
                json: ["event_type": "deal.stage.updated", "data": ["company_id": "123", "n": index]]
            )
            #expect(reply.status == 202)
            ids.append(reply.json["event_id"] as? String ?? "")
            lastCursor = Int(reply.json["cursor"] as? String ?? "") ?? Int.max
        }
        await first.kill(SIGKILL)

        let second = try await ServerProcess(dataDir: dataDir)
        let user = await Tokens.hs256()
        let poll = try await TestHTTP.get(second.http + "/api/realtime/poll/?topics=deal.stage.*&cursor=0&timeout=0", token: user)
        let polled = (poll.json["events"] as? [[String: Any]] ?? []).compactMap { $0["event_id"] as? String }
        #expect(polled == ids)

        let socket = try await TestSocket(url: second.ws + "/ws?token=\(user)")
        _ = try await socket.next(type: "connection.established")
        try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
        _ = try await socket.next(type: "subscription.confirmed")
        try await socket.send(json: ["type": "cursor.update", "cursor": ids[9]])
        var replayed: [String] = []
        while replayed.count < 40 {
            let message = try await socket.next(type: "event")
            replayed.append((message["data"] as? [String: Any])?["event_id"] as? String ?? "")
        }
        #expect(replayed == Array(ids[10...]))
        // New events continue the log after the restart: their cursors are past the old ones.
        let next = try await TestHTTP.post(
            second.http + "/api/realtime/publish/",
            token: service,
            json: ["event_type": "deal.stage.updated", "data": ["company_id": "123", "n": 50]]
        )
        #expect(Int(next.json["cursor"] as? String ?? "") ?? 0 > lastCursor)
        await socket.close()
        await second.kill(SIGTERM)
    }

    @Test("SIGTERM closes live sockets with 1001, answers waiting polls at once, and the process exits 0")
    func gracefulShutdown() async throws {
        // Allowed decisions are logged too: the poll's decision line says the server is handling it.
        let server = try await ServerProcess(dataDir: TestServer.temporaryDirectory(), environment: ["POLICY_AUDIT_ALLOWED": "true"])
        let user = await Tokens.hs256()
        let socket = try await TestSocket(url: server.ws + "/ws?token=\(user)")
        _ = try await socket.next(type: "connection.established")
        async let poll = TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=60", token: user)
        try await eventually("the server is handling the poll") {
            server.output.snapshot().contains(#""action":"poll""#)
        }
        let started = ContinuousClock.now
        await server.kill(SIGTERM)
        // Long before the poll's own timeout (the longest allowed).
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(try await socket.waitForClose().code == 1001)
        let answered = try await poll
        #expect(answered.status == 200)
        #expect(answered.json["cursor"] is String)
        #expect(server.exit.status == 0)
        // The logs carry no token.
        let logs = server.output.snapshot()
        #expect(!logs.contains("eyJ"))
    }
}
