import Foundation
import GatewayTesting
import NIOHTTP1
import Synchronization
import Testing

/// Several gateway processes on one Redis act as one gateway (SPEC §5, §6.4): every node delivers every
/// event in log order, cursors and idempotency keys work on any node, limits and erasures hold cluster-wide,
/// regions keep residency, and a Redis that breaks or restarts loses nothing that was acknowledged.
@Suite("Cluster on Redis", .serialized)
struct ClusterTests {
    static func eventIDs(_ events: [[String: Any]]) -> [String] { events.compactMap { $0["event_id"] as? String } }

    @Test("a client on node B receives, in log order and once, what nodes A and C accepted")
    func crossNodeDelivery() async throws {
        let cluster = try await Cluster.start(nodes: 3)
        let (a, b, c) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
        let socket = try await TestSocket(url: b.ws + "/ws?token=\(await Tokens.hs256())")
        _ = try await socket.next(type: "connection.established")
        try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
        _ = try await socket.next(type: "subscription.confirmed")
        // Two publishers at once, into different nodes: the log orders them; B delivers in that order.
        async let intoA = (0..<60).asyncMap { try await Cluster.publish(a, data: ["n": $0]) }
        async let intoC = (60..<120).asyncMap { try await Cluster.publish(c, data: ["n": $0]) }
        let replies = try await intoA + intoC
        #expect(replies.allSatisfy { $0.status == 202 })
        let accepted = Dictionary(
            uniqueKeysWithValues: replies.map { ($0.json["event_id"] as? String ?? "", Int($0.json["cursor"] as? String ?? "") ?? 0) }
        )
        var received: [(id: String, cursor: Int)] = []
        while received.count < accepted.count {
            let event = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
            let id = event["event_id"] as? String ?? ""
            received.append((id, accepted[id] ?? -1))
        }
        #expect(Set(received.map(\.id)) == Set(accepted.keys), "every accepted event, once")
        #expect(zip(received, received.dropFirst()).allSatisfy { $0.cursor < $1.cursor }, "in log order")
        // Nothing more arrives: no duplicates after the last one.
        #expect(try await Cluster.publish(a, data: ["n": 999]).status == 202)
        let last = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
        #expect((last["data"] as? [String: Any])?["n"] as? Int == 999)
        await socket.close()
        await cluster.stop()
    }

    @Test("a cursor from node A resumes on node B over WebSocket and polling; an idempotency key used on A is a duplicate on B")
    func cursorsAndKeysAcrossNodes() async throws {
        let cluster = try await Cluster.start(nodes: 2)
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        var ids: [String] = []
        var cursors: [String] = []
        for n in 0..<20 {
            let reply = try await Cluster.publish(a, data: ["n": n])
            #expect(reply.status == 202)
            ids.append(reply.json["event_id"] as? String ?? "")
            cursors.append(reply.json["cursor"] as? String ?? "")
        }
        let user = await Tokens.hs256()
        // Polling on B from A's cursor.
        let poll = try await TestHTTP.get(b.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=\(cursors[9])", token: user)
        #expect(Self.eventIDs(poll.json["events"] as? [[String: Any]] ?? []) == Array(ids[10...]))
        // WebSocket on B from A's event id.
        let socket = try await TestSocket(url: b.ws + "/ws?token=\(user)")
        _ = try await socket.next(type: "connection.established")
        try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
        _ = try await socket.next(type: "subscription.confirmed")
        try await socket.send(json: ["type": "cursor.update", "cursor": ids[4]])
        var replayed: [String] = []
        while replayed.count < 15 {
            let event = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
            replayed.append(event["event_id"] as? String ?? "")
        }
        #expect(replayed == Array(ids[5...]))
        await socket.close()
        // Idempotency across nodes.
        let first = try await Cluster.publish(a, data: ["n": 100], key: "order-7")
        let again = try await Cluster.publish(b, data: ["n": 101], key: "order-7")
        #expect(first.status == 202 && first.json["duplicate"] as? Bool == false)
        #expect(again.status == 202 && again.json["duplicate"] as? Bool == true)
        #expect(again.json["event_id"] as? String == first.json["event_id"] as? String)
        #expect(again.json["cursor"] as? String == first.json["cursor"] as? String)
        await cluster.stop()
    }

    @Test("a 5-per-minute company publish limit holds across nodes: 5 accepted in all, the rest 429 with Retry-After")
    func sharedRateLimit() async throws {
        let folder = TestServer.temporaryDirectory()
        let policy =
            try String(contentsOfFile: TestServer.policy, encoding: .utf8)
            .replacingOccurrences(of: "\"999\": {}", with: "\"999\": { plan: five }")
            + "  five:\n    rate_limits:\n      - { scope: company, action: publish, limit: 5, per: minute }\n"
        try policy.write(toFile: folder + "/policy.yaml", atomically: true, encoding: .utf8)
        let cluster = try await Cluster.start(nodes: 3, environment: ["POLICY_PATH": folder])
        var statuses: [Int] = []
        for n in 0..<12 {
            let reply = try await Cluster.publish(cluster.nodes[n % 3], company: "999", data: ["n": n])
            statuses.append(reply.status)
            if reply.status == 429 { #expect(Int(reply.headers.first(name: "Retry-After") ?? "") ?? 0 >= 1) }
        }
        #expect(statuses.filter { $0 == 202 }.count == 5, "\(statuses)")
        #expect(statuses.filter { $0 == 429 }.count == 7, "\(statuses)")
        // Another company's limits are its own.
        #expect(try await Cluster.publish(cluster.nodes[0], company: "123").status == 202)
        await cluster.stop()
    }

    @Test("forget on node A removes the history read through node B, B's sockets get the notice, and B refuses the subject's publishes")
    func forgetAcrossNodes() async throws {
        let cluster = try await Cluster.start(nodes: 2)
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let user = await Tokens.hs256()
        #expect(try await Cluster.publish(a, data: ["contact_id": "contact-42"]).status == 202)
        let kept = try await Cluster.publish(b, data: ["contact_id": "contact-7"])
        #expect(try await Cluster.publish(b, data: ["contact_id": "contact-42"]).status == 202)
        let socket = try await TestSocket(url: b.ws + "/ws?token=\(user)")
        _ = try await socket.next(type: "connection.established")

        let admin = await Tokens.hs256(company: "123", roles: ["admin"])
        let forgotten = try await TestHTTP.post(a.http + "/api/realtime/gdpr/forget/", token: admin, json: ["data_subject_id": "contact-42"])
        #expect(forgotten.status == 200 && forgotten.json["purged"] as? Int == 2)
        let notice = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
        #expect(notice["event_type"] as? String == "gdpr.subject.forgotten")
        #expect((notice["data"] as? [String: Any])?["data_subject_id"] as? String == "contact-42")

        let history = try await Cluster.history(b, token: user)
        #expect(Self.eventIDs(history) == [kept.json["event_id"] as? String ?? "", notice["event_id"] as? String ?? ""])
        let refused = try await Cluster.publish(b, data: ["contact_id": "contact-42"])
        #expect(refused.status == 403 || refused.status == 409 || refused.status == 410, "\(refused.status) \(refused.text)")
        #expect(refused.text.contains("erased") || refused.text.contains("forgotten"), "\(refused.text)")
        await socket.close()
        await cluster.stop()
    }

    @Test("nodes of different regions on one Redis keep residency: each refuses, stores and serves only its region's companies")
    func regionsOnOneRedis() async throws {
        let cluster = try await Cluster.start(nodes: 2, perNode: [["NODE_REGION": "us-east-1"], ["NODE_REGION": "eu-west-1"]])
        let (us, eu) = (cluster.nodes[0], cluster.nodes[1])
        let euUser = await Tokens.hs256(company: "456", roles: ["sales"])
        let usUser = await Tokens.hs256(company: "123", roles: ["sales"])
        let refusedEU = try await RawWebSocket.refusal(port: us.port, path: "/ws?token=\(euUser)")
        #expect(refusedEU.code == 4003 && refusedEU.reason.contains("eu-west-1"))
        let refusedUS = try await RawWebSocket.refusal(port: eu.port, path: "/ws?token=\(usUser)")
        #expect(refusedUS.code == 4003 && refusedUS.reason.contains("us-east-1"))
        #expect(try await Cluster.publish(us, company: "456").status == 403)
        #expect(try await Cluster.publish(eu, company: "123").status == 403)

        let socket = try await TestSocket(url: eu.ws + "/ws?token=\(euUser)")
        _ = try await socket.next(type: "connection.established")
        try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
        _ = try await socket.next(type: "subscription.confirmed")
        #expect(try await Cluster.publish(us, company: "123", data: ["n": 1]).status == 202)
        let stored = try await Cluster.publish(eu, company: "456", data: ["n": 2])
        #expect(stored.status == 202)
        let delivered = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
        #expect(delivered["event_id"] as? String == stored.json["event_id"] as? String, "the US company's event never reaches the EU node's client")
        #expect((delivered["metadata"] as? [String: Any])?["region"] as? String == "eu-west-1")
        #expect(try await TestHTTP.get(us.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=0", token: euUser).status == 403)
        #expect(Self.eventIDs(try await Cluster.history(eu, token: euUser)) == [stored.json["event_id"] as? String ?? ""])
        await socket.close()
        await cluster.stop()
    }

    @Test(
        "two nodes on a TLS-only Redis (rediss://, verified server, client certificates): B delivers what A accepted, in order, also after Redis cut every connection"
    )
    func overTLS() async throws {
        let redis = try await RedisServer.shared(tls: true)
        let cluster = try await Cluster.start(nodes: 2, redis: redis, environment: redis.tlsEnvironment)
        try await cluster.showingLogsOnFailure {
            let (a, b) = (cluster.nodes[0], cluster.nodes[1])
            let health = try await TestHTTP.get(b.http + "/api/realtime/health/")
            #expect(health.status == 200, "\(health.text)")
            let socket = try await TestSocket(url: b.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")
            var accepted: [String] = []
            for n in 0..<10 {
                let reply = try await Cluster.publish(a, data: ["n": n])
                #expect(reply.status == 202)
                accepted.append(reply.json["event_id"] as? String ?? "")
            }
            // Every connection of both nodes is cut: they open new TLS sessions, subscribe again and catch up.
            try await redis.command("CLIENT", "KILL", "TYPE", "pubsub")
            try await redis.command("CLIENT", "KILL", "TYPE", "normal")
            for n in 10..<20 {
                var reply = try await Cluster.publish(a, data: ["n": n])
                let deadline = ContinuousClock.now + .seconds(30)
                while reply.status == 503, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                    reply = try await Cluster.publish(a, data: ["n": n])
                }
                #expect(reply.status == 202)
                accepted.append(reply.json["event_id"] as? String ?? "")
            }
            var live: [String] = []
            while live.count < accepted.count {
                live.append(try #require(try await socket.next(type: "event")["data"] as? [String: Any])["event_id"] as? String ?? "")
            }
            #expect(live == accepted, "every accepted event, once, in log order")
            let history = try await Cluster.history(b, token: await Tokens.hs256())
            #expect(Array(Self.eventIDs(history).suffix(accepted.count)) == accepted, "B reads A's history over TLS")
            await socket.close()
        }
        await cluster.stop()
    }

    @Test("a node cut off from Redis for a while catches up from the stream: its client gets what other nodes accepted meanwhile, in order, once")
    func catchUpAfterABreak() async throws {
        let redis = try await RedisServer.shared()
        let user = "node-b-\(UUID().uuidString.prefix(8))"
        try await redis.command("ACL", "SETUSER", user, "on", ">secret-b", "~*", "&*", "+@all")
        let cluster = try await Cluster.start(
            nodes: 2,
            perNode: [[:], ["REDIS_URL": "redis://\(user):secret-b@127.0.0.1:\(redis.port)"]]
        )
        try await cluster.showingLogsOnFailure {
            let (a, b) = (cluster.nodes[0], cluster.nodes[1])
            let socket = try await TestSocket(url: b.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")
            var accepted: [String] = []
            for n in 0..<5 { accepted.append(try await Cluster.publish(a, data: ["n": n]).json["event_id"] as? String ?? "") }
            // Node B loses Redis (its user is switched off and its connections cut) while A goes on accepting.
            try await redis.command("ACL", "SETUSER", user, "off")
            try await redis.command("CLIENT", "KILL", "USER", user)
            try await eventually("node B sees Redis down") { try await TestHTTP.get(b.http + "/api/realtime/health/").status == 503 }
            for n in 5..<35 {
                let reply = try await Cluster.publish(a, data: ["n": n])
                #expect(reply.status == 202)
                accepted.append(reply.json["event_id"] as? String ?? "")
            }
            try await redis.command("ACL", "SETUSER", user, "on")
            var live: [String] = []
            while live.count < accepted.count {
                do {
                    let event = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
                    live.append(event["event_id"] as? String ?? "")
                } catch {
                    print("received \(live.count) of \(accepted.count); missing \(accepted.filter { !live.contains($0) })")
                    throw error
                }
            }
            #expect(live == accepted)
            try await eventually("node B is healthy again") { try await TestHTTP.get(b.http + "/api/realtime/health/").status == 200 }
            #expect(try await Cluster.publish(b, data: ["n": 35]).status == 202)
            let next = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
            #expect((next["data"] as? [String: Any])?["n"] as? Int == 35, "nothing twice")
            await socket.close()
        }
        await cluster.stop()
    }

    @Test(
        "CLIENT KILL of every gateway connection and kill -9 + restart of an appendfsync-always Redis mid-publish: every 202 is in the history and reached the live client, every other publish got an error, no node exits"
    )
    func redisFailures() async throws {
        let redis = try await RedisServer(durable: true)
        // Company 123's subscribe limit goes on without the store (on_store_error: allow); 555's fails closed.
        let folder = TestServer.temporaryDirectory()
        let policy = try String(contentsOfFile: TestServer.policy, encoding: .utf8).replacingOccurrences(
            of: "{ scope: user, action: subscribe, limit: 100000, per: second }",
            with: "{ scope: user, action: subscribe, limit: 100000, per: second, on_store_error: allow }"
        )
        try policy.write(toFile: folder + "/policy.yaml", atomically: true, encoding: .utf8)
        let cluster = try await Cluster.start(nodes: 2, redis: redis, environment: ["POLICY_PATH": folder])
        try await cluster.showingLogsOnFailure {
            let (a, b) = (cluster.nodes[0], cluster.nodes[1])
            let user = await Tokens.hs256()
            let tight = try await TestSocket(url: a.ws + "/ws?token=\(await Tokens.hs256(company: "555"))")
            _ = try await tight.next(type: "connection.established")
            let spare = try await TestSocket(url: a.ws + "/ws?token=\(await Tokens.hs256(user: "2"))")
            _ = try await spare.next(type: "connection.established")
            let socket = try await TestSocket(url: b.ws + "/ws?token=\(user)")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")

            let ledger = Ledger()
            let stop = Atomic<Bool>(false)
            let publisher = Task {
                var n = 0
                while !stop.load(ordering: .acquiring) {
                    let node = n % 2 == 0 ? a : b
                    n += 1
                    guard let reply = try? await Cluster.publish(node, data: ["n": n]) else {
                        ledger.record(status: 0, id: nil, retryAfter: nil)
                        continue
                    }
                    ledger.record(status: reply.status, id: reply.json["event_id"] as? String, retryAfter: reply.headers.first(name: "Retry-After"))
                    if reply.status != 202 { try? await Task.sleep(for: .milliseconds(20)) }
                }
            }
            try await eventually("40 publishes accepted") { ledger.accepted.count >= 40 }
            // Every connection of every gateway, the pub/sub ones included, cut at once.
            try await redis.command("CLIENT", "KILL", "TYPE", "normal")
            try await redis.command("CLIENT", "KILL", "TYPE", "pubsub")
            let afterKill = ledger.accepted.count
            try await eventually("publishes accepted again after CLIENT KILL") { ledger.accepted.count >= afterKill + 40 }

            // Redis gone: publishes answer 503 with Retry-After, health is 503 naming the parts, sockets stay open.
            await redis.kill()
            let failedBefore = ledger.failures.count
            try await eventually("a publish refused while Redis is down") { ledger.failures.count > failedBefore }
            #expect(ledger.failures.allSatisfy { $0.status == 503 && $0.retryAfter != nil }, "\(ledger.failures.map(\.status))")
            let health = try await TestHTTP.get(a.http + "/api/realtime/health/")
            #expect(health.status == 503)
            let components = health.json["components"] as? [String: Any] ?? [:]
            #expect(components["cache"] as? String != "healthy" && components["event_bus"] as? String != "healthy", "\(components)")
            // New connections are refused with 1013 (try again later); open ones stay open and keep their limits' rule.
            let refused = try await RawWebSocket.refusal(port: a.port, path: "/ws?token=\(user)")
            #expect(refused.code == 1013, "\(refused)")
            try await spare.send(json: ["type": "subscribe", "topics": ["activity.*"]])
            let confirmed = try await spare.next(type: "subscription.confirmed")
            #expect((confirmed["data"] as? [String: Any])?["topics"] as? [String] == ["activity.*"], "on_store_error: allow")
            try await tight.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            let closedLimit = try await tight.next(type: "error")
            #expect((closedLimit["data"] as? [String: Any])?["code"] as? String == "unavailable", "\(closedLimit)")
            try await redis.start()
            let afterRestart = ledger.accepted.count
            try await eventually("publishes accepted again after the restart") { ledger.accepted.count >= afterRestart + 40 }
            stop.store(true, ordering: .releasing)
            await publisher.value
            try await eventually("health is back") { try await TestHTTP.get(a.http + "/api/realtime/health/").status == 200 }

            let accepted = ledger.accepted
            print("cluster failure test: \(accepted.count) accepted, \(ledger.failures.count) refused: \(Set(ledger.failures.map(\.status)))")
            let stored = Set(Self.eventIDs(try await Cluster.history(b, token: user)))
            #expect(Set(accepted).isSubset(of: stored), "\(Set(accepted).subtracting(stored).count) acknowledged events missing")
            #expect(ledger.failures.allSatisfy { $0.status == 503 || $0.status == 0 }, "every other publish got an error")
            // The live client on B got every acknowledged event, in log order, across both breaks.
            var live: [String] = []
            let wanted = Set(accepted)
            while !wanted.isSubset(of: Set(live)) {
                let event = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
                live.append(event["event_id"] as? String ?? "")
            }
            #expect(Set(live).count == live.count, "no event twice")
            #expect(a.isRunning && b.isRunning, "no node exits")
            await socket.close()
            await tight.close()
            await spare.close()
        }
        await cluster.stop()
        await redis.kill()
    }
}

/// What a publisher saw: the ids of accepted publishes and every failure.
final class Ledger: Sendable {
    struct Failure {
        var status: Int
        var retryAfter: String?
    }

    private let state = Mutex<(accepted: [String], failures: [Failure])>(([], []))

    func record(status: Int, id: String?, retryAfter: String?) {
        state.withLock { state in
            if status == 202, let id { state.accepted.append(id) } else { state.failures.append(Failure(status: status, retryAfter: retryAfter)) }
        }
    }

    var accepted: [String] { state.withLock { $0.accepted } }
    var failures: [Failure] { state.withLock { $0.failures } }
}

extension Range where Bound == Int {
    /// `transform` of each element in turn.
    fileprivate func asyncMap<T>(_ transform: (Int) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
