import Foundation
import GatewayServer
import GatewaySession
import NIOHTTP1
import PolicyEnforcement
import Testing

/// Hot reload (SPEC §6.8) against real files: the watcher, the reload endpoint, the re-check of live
/// connections, and a failed reload that leaves the previous policy serving.
@Suite("Policy reload")
struct PolicyReloadTests {
    /// A policy folder of its own, holding a copy of the suite's policy.
    struct PolicyFolder {
        let path = TestServer.temporaryDirectory()
        var file: String { path + "/policy.yaml" }

        init() throws {
            try FileManager.default.copyItem(atPath: TestServer.policy, toPath: file)
        }

        /// Rewrites the policy as an editor does: a temporary file renamed over the old one.
        func edit(_ change: (String) -> String) throws {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let temporary = path + "/.policy.yaml.swp"
            try change(text).write(toFile: temporary, atomically: false, encoding: .utf8)
            _ = rename(temporary, file)
        }
    }

    /// An operator: the admin role and no company.
    func adminToken() async -> String { await Tokens.hs256(company: nil, roles: ["admin"]) }

    func watching(_ folder: PolicyFolder) -> (inout ServerConfiguration) -> Void {
        { configuration in
            configuration.policyPath = folder.path
            configuration.policyWatchIntervalSeconds = 1
        }
    }

    /// Polls `GET /api/realtime/policy/` until `condition` holds (at most ``patience``).
    func waitForPolicy(_ server: TestServer, _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let token = await adminToken()
        return try await eventuallyValue("the policy status matched", interval: .milliseconds(100)) { () async throws -> [String: Any]? in
            let reply = try await TestHTTP.get(server.http + "/api/realtime/policy/", token: token)
            return reply.status == 200 && condition(reply.json) ? reply.json : nil
        }
    }

    @Test(
        "a whitelist edit takes effect on live connections through the file watcher: the refused subscription is dropped with an error, the others live on"
    )
    func whitelistEdit() async throws {
        let folder = try PolicyFolder()
        try await withServer(watching(folder)) { server in
            let before = server.gateway.policyVersion
            let socket = try await subscriber(server, topics: ["deal.stage.*", "activity.*"])

            // No bound on how long the watcher takes (it checks every second, but a loaded machine may be slower):
            // the reload below says that the file watcher (not the endpoint or a signal) brought the edit in.
            try folder.edit { $0.replacingOccurrences(of: "subscribe: { roles: [sales, admin] }", with: "subscribe: { roles: [admin] }") }
            let error = try await socket.next(type: "error")
            let data = error["data"] as? [String: Any]
            #expect(data?["code"] as? String == "forbidden" && data?["topic"] as? String == "deal.stage.*")

            let status = try await waitForPolicy(server) { ($0["version"] as? String) != before }
            let reload = status["last_reload"] as? [String: Any]
            #expect(reload?["result"] as? String == "success" && reload?["trigger"] as? String == "file")
            #expect(reload?["dropped_subscriptions"] as? Int == 1)
            // New connections are told the version now in force.
            let late = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(roles: ["sales"]))")
            let established = try await late.next(type: "connection.established")
            #expect((established["data"] as? [String: Any])?["policy_version"] as? String == status["version"] as? String)
            await late.close()

            // activity.* still delivers; deal.stage.* no longer does, to this connection or to a new subscribe.
            let service = await Tokens.service()
            #expect(try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123").status == 202)
            #expect(try await TestHTTP.publish(server, token: service, type: "activity.call.logged", company: "123").status == 202)
            let event = try await socket.next(type: "event")
            #expect((event["data"] as? [String: Any])?["event_type"] as? String == "activity.call.logged")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            #expect(((try await socket.next(type: "error"))["data"] as? [String: Any])?["code"] as? String == "forbidden")
            await socket.close()
        }
    }

    @Test(
        "an invalid edit is not applied: the previous policy keeps serving, health is degraded (200), status names the error; a valid edit then recovers"
    )
    func invalidThenValidEdit() async throws {
        let folder = try PolicyFolder()
        try await withServer(watching(folder)) { server in
            let before = server.gateway.policyVersion
            let socket = try await subscriber(server)

            try folder.edit { $0.replacingOccurrences(of: "  - pattern: \"activity.*\"", with: "  - patern: \"activity.*\"") }
            let failed = try await waitForPolicy(server) { (($0["last_reload"] as? [String: Any])?["result"] as? String) == "failure" }
            #expect(failed["version"] as? String == before && failed["status"] as? String == "degraded")
            let errors = (failed["last_reload"] as? [String: Any])?["errors"] as? [String] ?? []
            #expect(errors.contains { $0.contains("policy.yaml:12:5: error:") && $0.contains("patern") }, "\(errors)")
            let health = try await TestHTTP.get(server.http + "/api/realtime/health/")
            #expect(health.status == 200)
            #expect((health.json["components"] as? [String: Any])?["policy"] as? String == "degraded")

            // Still serving the previous policy.
            let service = await Tokens.service()
            #expect(try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123").status == 202)
            _ = try await socket.next(type: "event")

            try folder.edit {
                $0.replacingOccurrences(of: "  - patern: \"activity.*\"", with: "  - pattern: \"activity.*\"\n  - pattern: \"note.*\"")
            }
            let recovered = try await waitForPolicy(server) { ($0["status"] as? String) == "healthy" && ($0["version"] as? String) != before }
            #expect((recovered["last_reload"] as? [String: Any])?["result"] as? String == "success")
            let healthy = try await TestHTTP.get(server.http + "/api/realtime/health/")
            #expect((healthy.json["components"] as? [String: Any])?["policy"] as? String == "healthy")
            #expect(try await TestHTTP.publish(server, token: service, type: "note.created", company: "123").status == 202)
            await socket.close()
        }
    }

    @Test("disabling a company or moving it to another region closes its connections with 4003; a changed limit applies to the next request")
    func disableAndLimits() async throws {
        let folder = try PolicyFolder()
        try await withServer(watching(folder)) { server in
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "999"))")
            _ = try await socket.next(type: "connection.established")
            let bystander = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "123"))")
            _ = try await bystander.next(type: "connection.established")
            let moving = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "321"))")
            _ = try await moving.next(type: "connection.established")
            let service = await Tokens.service()
            for _ in 0..<3 { #expect(try await TestHTTP.publish(server, token: service, type: "activity.call.logged", company: "123").status == 202) }

            try folder.edit {
                $0.replacingOccurrences(of: "\"999\": {}", with: "\"999\": { enabled: false }")
                    .replacingOccurrences(
                        of: "\"123\": {}",
                        with: "\"123\": { plan: tight }\n    \"321\": { home_region: eu-west-1, allowed_regions: [eu-west-1] }"
                    )
            }
            #expect(try await socket.waitForClose().code == 4003)
            // A company moved to another region leaves this node, told where its data now lives.
            let moved = try await moving.waitForClose()
            #expect(moved.code == 4003 && moved.reason.contains("eu-west-1"))
            _ = try await waitForPolicy(server) { (($0["last_reload"] as? [String: Any])?["closed_connections"] as? Int) == 2 }
            // Company 123 is now on the tight plan: 2 publishes a minute.
            var statuses: [Int] = []
            for _ in 0..<3 {
                statuses.append(try await TestHTTP.publish(server, token: service, type: "activity.call.logged", company: "123").status)
            }
            #expect(statuses == [202, 202, 429])
            #expect(try await RawWebSocket.refusal(port: server.port, path: "/ws?token=\(await Tokens.hs256(company: "999"))").code == 4003)
            await bystander.close()
        }
    }

    @Test("the reload endpoint needs the admin role and reports the outcome; an unchanged policy is not swapped")
    func reloadEndpoint() async throws {
        let folder = try PolicyFolder()
        let manual: (inout ServerConfiguration) -> Void = { configuration in
            configuration.policyPath = folder.path
            configuration.policyWatchIntervalSeconds = 0
        }
        try await withServer(manual) { server in
            let url = server.http + "/api/realtime/policy/reload/"
            #expect(try await TestHTTP.request(.POST, url, token: nil, body: "").status == 401)
            #expect(try await TestHTTP.request(.POST, url, token: await Tokens.hs256(roles: ["sales"]), body: "").status == 403)
            #expect(try await TestHTTP.get(server.http + "/api/realtime/policy/", token: await Tokens.hs256(roles: ["sales"])).status == 403)
            // A company's own admin is not an operator of the node.
            #expect(try await TestHTTP.request(.POST, url, token: await Tokens.hs256(company: "123", roles: ["admin"]), body: "").status == 403)

            let unchanged = try await TestHTTP.request(.POST, url, token: await adminToken(), body: "")
            #expect(unchanged.status == 200)
            #expect((unchanged.json["reload"] as? [String: Any])?["result"] as? String == "unchanged")

            // Watching is off: an edit waits for the endpoint. A check that nothing happens needs a time to watch
            // for it (a watcher, were it on, checks every second); a slow machine can only make it pass wrongly.
            try folder.edit { $0 + "\n# a comment changes the version\n" }
            try await Task.sleep(for: .milliseconds(1500))
            let before = server.gateway.policyVersion
            let reloaded = try await TestHTTP.request(.POST, url, token: await adminToken(), body: "")
            #expect(reloaded.status == 200)
            #expect((reloaded.json["reload"] as? [String: Any])?["result"] as? String == "success")
            #expect(reloaded.json["version"] as? String != before && server.gateway.policyVersion != before)

            try folder.edit { $0.replacingOccurrences(of: "per: minute", with: "per: fortnight") }
            let invalid = try await TestHTTP.request(.POST, url, token: await adminToken(), body: "")
            #expect(invalid.status == 400)
            let error = invalid.json["error"] as? [String: Any]
            #expect(error?["code"] as? String == "policy_invalid")
            #expect((error?["diagnostics"] as? [String])?.isEmpty == false)
            #expect(server.gateway.policyVersion == reloaded.json["version"] as? String)
            let metrics = try await TestHTTP.get(server.http + "/metrics").text
            for result in ["success", "unchanged", "failure"] {
                #expect(metrics.contains(#"policy_reloads_total{result="\#(result)"}"#), "\(result)")
            }
        }
    }

    @Test("a shadow topic rule counts and logs would-be refusals without refusing; the live rule still decides")
    func shadowRule() async throws {
        let folder = try PolicyFolder()
        try folder.edit {
            $0.replacingOccurrences(
                of: "  - pattern: \"activity.*\"",
                with: """
                      - pattern: "deal.stage.*"
                        subscribe: { roles: [admin] }
                        publish: { roles: [service] }
                        shadow: true
                      - pattern: "activity.*"
                    """
            )
        }
        try await withServer(watching(folder)) { server in
            let sales = await Tokens.hs256(roles: ["sales"])
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(sales)")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")
            #expect(try await TestHTTP.publish(server, token: sales, type: "deal.stage.updated", company: "123").status == 202)
            _ = try await socket.next(type: "event")
            // Counted by this node's gate (exactly once each) and exposed as the labelled series; the process-wide
            // registry's totals depend on the tests before, so only the series' presence is checked there.
            let refusals = server.gateway.gate.audit.snapshot.refusals
            #expect(refusals["subscribe role_not_allowed (shadow)"] == 1 && refusals["publish role_not_allowed (shadow)"] == 1, "\(refusals)")
            let metrics = try await TestHTTP.get(server.http + "/metrics").text
            #expect(metrics.contains(#"policy_decisions_total{action="subscribe",result="shadow_deny",reason="role_not_allowed"}"#), "\(metrics)")
            #expect(metrics.contains(#"policy_decisions_total{action="publish",result="shadow_deny",reason="role_not_allowed"}"#))
            await socket.close()
        }
    }

    @Test("a policy folder behind a symlink that is swapped, as a Kubernetes ConfigMap update does, is reloaded")
    func symlinkSwap() async throws {
        let first = try PolicyFolder()
        let second = try PolicyFolder()
        try second.edit { $0.replacingOccurrences(of: "\"999\": {}", with: "\"999\": { enabled: false }") }
        let link = TestServer.temporaryDirectory() + "/current"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: first.path)
        let viaLink: (inout ServerConfiguration) -> Void = { configuration in
            configuration.policyPath = link
            configuration.policyWatchIntervalSeconds = 1
        }
        try await withServer(viaLink) { server in
            let before = server.gateway.policyVersion
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "999"))")
            _ = try await socket.next(type: "connection.established")
            // Swap the link atomically: a new link renamed over the old one.
            let staging = link + ".new"
            try FileManager.default.createSymbolicLink(atPath: staging, withDestinationPath: second.path)
            _ = rename(staging, link)
            #expect(try await socket.waitForClose().code == 4003)
            #expect(server.gateway.policyVersion != before)
        }
    }

    @Test("a Kubernetes ConfigMap volume (policy.yaml -> ..data/policy.yaml, ..data swapped to a new folder) is reloaded")
    func configMapSwap() async throws {
        let volume = TestServer.temporaryDirectory()
        let manager = FileManager.default
        for version in ["..2026_11_29_v1", "..2026_11_29_v2"] {
            try manager.createDirectory(atPath: volume + "/" + version, withIntermediateDirectories: true)
        }
        let original = try String(contentsOfFile: TestServer.policy, encoding: .utf8)
        try original.write(toFile: volume + "/..2026_11_29_v1/policy.yaml", atomically: true, encoding: .utf8)
        try original.replacingOccurrences(of: "\"999\": {}", with: "\"999\": { enabled: false }")
            .write(toFile: volume + "/..2026_11_29_v2/policy.yaml", atomically: true, encoding: .utf8)
        try manager.createSymbolicLink(atPath: volume + "/..data", withDestinationPath: "..2026_11_29_v1")
        try manager.createSymbolicLink(atPath: volume + "/policy.yaml", withDestinationPath: "..data/policy.yaml")
        let mounted: (inout ServerConfiguration) -> Void = { configuration in
            configuration.policyPath = volume
            configuration.policyWatchIntervalSeconds = 1
        }
        try await withServer(mounted) { server in
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "999"))")
            _ = try await socket.next(type: "connection.established")
            // What the kubelet does: a new ..data link renamed over the old one, in one step.
            try manager.createSymbolicLink(atPath: volume + "/..data_tmp", withDestinationPath: "..2026_11_29_v2")
            _ = rename(volume + "/..data_tmp", volume + "/..data")
            #expect(try await socket.waitForClose().code == 4003)
            let status = try await waitForPolicy(server) { (($0["last_reload"] as? [String: Any])?["result"] as? String) == "success" }
            #expect((status["files"] as? [String])?.count == 1)
        }
    }

    @Test("editing the policy three times (once invalid) while 200 clients are subscribed and events keep flowing loses no allowed event")
    func editUnderLoad() async throws {
        let folder = try PolicyFolder()
        try await withServer(watching(folder)) { server in
            let token = await Tokens.hs256(roles: ["sales"])
            var sockets: [TestSocket] = []
            for _ in 0..<200 {
                let socket = try await TestSocket(url: server.ws + "/ws?token=\(token)")
                _ = try await socket.next(type: "connection.established")
                try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
                _ = try await socket.next(type: "subscription.confirmed")
                sockets.append(socket)
            }
            // Events flow all along while the policy is edited three times; each edit waits until the watcher
            // has acted on it, so all three reloads (one of them invalid) happen under load.
            let service = await Tokens.service()
            let events = 100
            let publisher = Task {
                for index in 0..<events {
                    let reply = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": index])
                    #expect(reply.status == 202)
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            func lastReload(_ status: [String: Any]) -> String? { (status["last_reload"] as? [String: Any])?["result"] as? String }
            try folder.edit { $0 + "\n  # edit one\n" }
            let edited = try await waitForPolicy(server) { lastReload($0) == "success" }
            try folder.edit { $0.replacingOccurrences(of: "version: 1", with: "version: one") }
            _ = try await waitForPolicy(server) { lastReload($0) == "failure" }
            try folder.edit {
                $0.replacingOccurrences(of: "version: one", with: "version: 1").replacingOccurrences(
                    of: "  - pattern: \"activity.*\"",
                    with: "  - pattern: \"task.*\"\n  - pattern: \"activity.*\""
                )
            }
            let final = try await waitForPolicy(server) {
                lastReload($0) == "success" && ($0["version"] as? String) != (edited["version"] as? String)
            }
            #expect((final["status"] as? String) == "healthy")
            try await publisher.value
            for (number, socket) in sockets.enumerated() {
                var seen: [Int] = []
                while seen.count < events {
                    let event = try await socket.next(type: "event")
                    if let n = ((event["data"] as? [String: Any])?["data"] as? [String: Any])?["n"] as? Int { seen.append(n) }
                }
                #expect(seen == Array(0..<events), "client \(number)")
            }
            for socket in sockets { await socket.close() }
        }
    }
}
