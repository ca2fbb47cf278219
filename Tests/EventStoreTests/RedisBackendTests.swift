import EventBus
import Foundation
import GatewayModel
import GatewayTesting
import RedisBackend
import Synchronization
import Testing

/// What only the Redis backend has: `REDIS_URL`, catch-up from the stream, several nodes on one log, scripts
/// lost by the server, and a server that goes away.
@Suite("Redis backend")
struct RedisBackendTests {
    @Test("REDIS_URL: user, password, host, port, database; rediss:// asks for TLS; bad URLs name the fault")
    func urls() throws {
        let full = try RedisURL("redis://app:p%40ss@redis.internal:6380/3")
        #expect(full.user == "app" && full.password == "p@ss" && full.host == "redis.internal" && full.port == 6380 && full.database == 3)
        #expect(full.description == "redis://app:***@redis.internal:6380/3", "the password never shows")
        let bare = try RedisURL("redis://127.0.0.1")
        #expect(bare.port == 6379 && bare.database == 0 && bare.user == nil && bare.password == nil)
        #expect(try RedisURL("redis://:secret@[::1]:7000").host == "::1")
        #expect(try RedisURL("redis://:secret@[::1]:7000").password == "secret")
        #expect(full.tls == nil)
        let secure = try RedisURL("rediss://app:p%40ss@redis.internal:6380/3")
        #expect(secure.tls == RedisTLS() && secure.host == "redis.internal" && secure.port == 6380 && secure.database == 3)
        #expect(secure.description == "rediss://app:***@redis.internal:6380/3")
        for bad in [
            "http://x", "redis://", "rediss://", "redis+tls://host", "redis://host:0", "redis://host:99999", "redis://host:port", "redis://host/db",
        ] {
            #expect(throws: RedisURLError.self, "\(bad)") { try RedisURL(bad) }
        }
    }

    @Test("a subscription that falls behind reads the stream instead of buffering: every event once, in log order")
    func fallingBehind() async throws {
        let url = try RedisURL(try await RedisServer(durable: false).url)
        let prefix = "behind-\(UUID().uuidString.prefix(8))"
        let log = RedisEventLog(url: url, channelPrefix: prefix)
        let bus = RedisEventBus(url: url, history: .init(log: log, channelPrefix: prefix), queueLimit: 5)
        let received = Mutex<[Int64]>([])
        try await bus.subscribe([prefix + ".>"]) { event in
            try? await Task.sleep(for: .milliseconds(2))
            received.withLock { $0.append(event.position) }
        }
        var positions: [Int64] = []
        for batch in 0..<20 {
            positions += try await log.append((0..<10).map { Events.new(batch * 10 + $0) }).compactMap(\.appended?.position)
        }
        try await waitUntil("every event delivered") { received.withLock { $0.count } >= positions.count }
        #expect(received.withLock { $0 } == positions)
        #expect(bus.overflows > 0, "the queue overflowed and the stream was read instead")
        await bus.close()
        try await log.close()
    }

    @Test("several nodes on one log: concurrent appends get distinct increasing positions; concurrent purges remove each event once")
    func severalNodes() async throws {
        let url = try RedisURL(try await RedisServer.shared().url)
        let prefix = "nodes-\(UUID().uuidString.prefix(8))"
        let nodes = (0..<3).map { _ in RedisEventLog(url: url, channelPrefix: prefix) }
        let appended = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for (index, log) in nodes.enumerated() {
                group.addTask {
                    var positions: [Int64] = []
                    for n in 0..<100 {
                        let event = Events.new(index * 1000 + n, retentionDays: 1, createdAtMillis: 1_700_000_000_000)
                        positions += try await log.append([event]).compactMap(\.appended?.position)
                    }
                    return positions
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(appended).count == 300)
        let removed = try await withThrowingTaskGroup(of: Int.self) { group in
            for log in nodes {
                group.addTask {
                    var total = 0
                    while true {
                        let count = try await log.purgeExpired(nowMillis: 1_800_000_000_000, limit: 7)
                        if count == 0 { return total }
                        total += count
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(removed == 300)
        #expect(try await nodes[0].read(after: 0, company: nil, limit: 1000).events.isEmpty)
        for log in nodes { try await log.close() }
    }

    @Test("a refused flood costs no round trip: keys over their limit are answered from the node's cache until their retry time")
    func refusedFloodStaysLocal() async throws {
        let redis = try await RedisServer(durable: false)
        let store = RedisRateLimitStore(url: try RedisURL(redis.url), namespace: "rg:{flood}:")
        let check = RateLimitStoreConformanceTests.check("flooder", limit: 2, perSecond: false)
        #expect(try await store.acquire([check]).allSatisfy(\.allowed))
        #expect(try await store.acquire([check]).allSatisfy(\.allowed))
        let refused = try await store.acquire([check])[0]
        #expect(!refused.allowed && refused.retryAfterNanos > 0)
        func scriptCalls() async throws -> Int {
            let stats = try await redis.command("INFO", "commandstats")
            guard let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:") }),
                let calls = line.split(separator: "=").dropFirst().first?.split(separator: ",").first
            else { return 0 }
            return Int(calls) ?? 0
        }
        let before = try await scriptCalls()
        for _ in 0..<500 { #expect(try await !store.acquire([check])[0].allowed) }
        #expect(try await scriptCalls() == before, "no script ran for the refused flood")
        #expect(store.acquireWithoutWaiting([check])?[0].allowed == false, "answered without suspending")
    }

    @Test("deployments on different databases of one Redis do not hear each other (pub/sub ignores SELECT)")
    func databasesApart() async throws {
        let redis = try await RedisServer.shared()
        let prefix = "apart-\(UUID().uuidString.prefix(8))"
        let logs = try (0..<2).map { RedisEventLog(url: try RedisURL("\(redis.url)/\($0 + 1)"), channelPrefix: prefix) }
        let buses = try logs.enumerated().map { index, log in
            RedisEventBus(url: try RedisURL("\(redis.url)/\(index + 1)"), history: .init(log: log, channelPrefix: prefix))
        }
        let heard = Mutex<[[String]]>([[], []])
        for (index, bus) in buses.enumerated() {
            try await bus.subscribe([prefix + ".>"]) { event in heard.withLock { $0[index].append(event.eventID) } }
        }
        let first = try #require(try await logs[0].append([Events.new(1)]).first?.appended)
        let second = try #require(try await logs[1].append([Events.new(2)]).first?.appended)
        try await waitUntil("each bus heard its own") { heard.withLock { $0.allSatisfy { !$0.isEmpty } } }
        #expect(heard.withLock { $0 } == [[first.eventID], [second.eventID]])
        for bus in buses { await bus.close() }
        for log in logs { try await log.close() }
    }

    @Test("an erasure of many events runs in bounded script calls and removes them all")
    func forgetInBatches() async throws {
        let url = try RedisURL(try await RedisServer.shared().url)
        let log = RedisEventLog(url: url, channelPrefix: "batches-\(UUID().uuidString.prefix(8))", forgetBatch: 3)
        _ = try await log.append((0..<10).map { Events.new($0, company: $0 < 7 ? "1" : "2", subject: "s") } + [Events.new(20, company: "1")])
        let outcome = try await log.forget(dataSubjectID: "s", company: nil, atMillis: 1)
        #expect(outcome == ForgetOutcome(purged: 10, companies: ["1", "2"], alreadyForgotten: false))
        #expect(try await log.read(after: 0, company: nil, limit: 100).events.map(\.eventID) == [Events.new(20).event.eventID])
        #expect(try await log.append([Events.new(30, company: "3", subject: "s")])[0] == .subjectForgotten)
        try await log.close()
    }

    @Test("an entry this build cannot decode is passed over by reads and catch-up, and counted")
    func undecodableEntry() async throws {
        let redis = try await RedisServer.shared()
        let prefix = "garbage-\(UUID().uuidString.prefix(8))"
        let log = RedisEventLog(url: try RedisURL(redis.url), channelPrefix: prefix)
        let before = try #require(try await log.append([Events.new(1)]).first?.appended)
        // A node of a newer build appended an entry in a wire version this one does not know.
        let namespace = RedisEventLog.namespace(channelPrefix: prefix)
        let position = try await redis.command("HINCRBY", namespace + "meta", "head", "1")
        try await redis.command("XADD", namespace + "c:123", "\(position)-0", "w", "\u{7F}future", "i", "x")
        try await redis.command("XADD", namespace + "log", "\(position)-0", "c", "123")
        let after = try #require(try await log.append([Events.new(2)]).first?.appended)
        let page = try await log.read(after: 0, company: "123", limit: 2)
        #expect(page.events.map(\.eventID) == [before.eventID])
        #expect(page.scannedThrough == Int64(position), "the reader goes on after the entry")
        #expect(try await log.read(after: Int64(position)!, company: "123", limit: 2).events.map(\.eventID) == [after.eventID])
        #expect(log.undecodableEntries >= 1)
        try await log.close()
    }

    @Test("a Redis that lost its newest writes never gives a position out twice: appends start above what the node has seen")
    func headRegression() async throws {
        let redis = try await RedisServer.shared()
        let prefix = "regress-\(UUID().uuidString.prefix(8))"
        let log = RedisEventLog(url: try RedisURL(redis.url), channelPrefix: prefix)
        let events = try await log.append((1...3).map { Events.new($0) }).compactMap(\.appended)
        // As `appendfsync everysec` can after a crash: the last two writes are gone, the head is back.
        let namespace = RedisEventLog.namespace(channelPrefix: prefix)
        try await redis.command("HSET", namespace + "meta", "head", "\(events[0].position)")
        try await redis.command("XTRIM", namespace + "c:123", "MAXLEN", "1")
        try await redis.command("XTRIM", namespace + "log", "MAXLEN", "1")
        let next = try #require(try await log.append([Events.new(4)]).first?.appended)
        #expect(next.position > events[2].position)
        try await log.close()
    }

    @Test("a connection Redis closed while idle is replaced before the next request: no request fails")
    func idleConnectionClosed() async throws {
        let redis = try await RedisServer(durable: false)
        let log = RedisEventLog(url: try RedisURL(redis.url), channelPrefix: "idle-\(UUID().uuidString.prefix(8))", connections: 2)
        _ = try await log.head()
        _ = try await log.head()
        try await redis.command("CLIENT", "KILL", "TYPE", "normal")
        try await waitUntil("Redis closed them") { (try? await redis.command("CLIENT", "LIST", "TYPE", "normal").split(separator: "\n").count) == 1 }
        for n in 0..<4 { #expect(try await log.append([Events.new(n)]).first?.appended != nil) }
        try await log.close()
    }

    @Test("REDIS_WAIT_REPLICAS: an acknowledged append is on the replica (a failover to it loses nothing); without the replica appends fail")
    func waitForReplicas() async throws {
        let primary = try await RedisServer(durable: false)
        let replica = try await RedisServer(durable: false, replicaOf: primary)
        try await waitUntil("the replica is in sync") {
            (try? await replica.command("INFO", "replication"))?.contains("master_link_status:up") == true
        }
        let prefix = "replicated-\(UUID().uuidString.prefix(8))"
        let log = RedisEventLog(url: try RedisURL(primary.url), channelPrefix: prefix, connections: 1, waitReplicas: 1, waitTimeoutMillis: 5_000)
        for n in 0..<20 { #expect(try await log.append([Events.new(n)]).first?.appended != nil) }
        // Read straight from the replica: every acknowledged event is there already.
        let namespace = RedisEventLog.namespace(channelPrefix: prefix)
        #expect(try await replica.command("XLEN", namespace + "c:123") == "20")
        await replica.kill()
        await #expect(throws: RedisError.self) { try await log.append([Events.new(99)]) }
        try await log.close()
        await primary.kill()
    }

    @Test("a server that lost the scripts (SCRIPT FLUSH) runs them again from source")
    func scriptsLost() async throws {
        let redis = try await RedisServer(durable: false)
        let log = RedisEventLog(url: try RedisURL(redis.url), channelPrefix: "flush-\(UUID().uuidString.prefix(8))", connections: 1)
        #expect(try await log.append([Events.new(1)]).first?.appended != nil)
        try await redis.command("SCRIPT", "FLUSH")
        #expect(try await log.append([Events.new(2)]).first?.appended != nil)
        try await log.close()
    }

    @Test("Redis gone: calls fail at once as unavailable and health says why; after a restart the same objects serve again")
    func serverGone() async throws {
        let redis = try await RedisServer(durable: true)
        let url = try RedisURL(redis.url)
        let log = RedisEventLog(url: url, channelPrefix: "gone-\(UUID().uuidString.prefix(8))", connections: 1)
        let first = try #require(try await log.append([Events.new(1)]).first?.appended)
        await redis.kill()
        let started = ContinuousClock.now
        await #expect(throws: RedisError.self) { try await log.append([Events.new(2)]) }
        #expect(ContinuousClock.now - started < .seconds(5), "no hang")
        #expect(await !log.health().isHealthy)
        try await redis.start()
        try await waitUntil("the log serves again") { (try? await log.head()) != nil }
        #expect(try await log.read(after: 0, company: nil, limit: 10).events.map(\.eventID) == [first.eventID], "appendfsync always kept it")
        #expect(await log.health() == .healthy)
        try await log.close()
        await redis.kill()
    }

    @Test(
        "rediss:// refuses, naming why, a server signed by an unknown authority, one named otherwise, one without TLS, and a client without a certificate"
    )
    func tlsRefusals() async throws {
        let trusted = try await RedisServer.shared(tls: true)
        let certificates = try #require(trusted.tls).certificates
        let rogue = try await RedisServer(
            durable: false,
            tls: .init(certificates, certificateFile: certificates.rogueCertificateFile, keyFile: certificates.rogueKeyFile)
        )
        let otherName = try await RedisServer(
            durable: false,
            tls: .init(certificates, certificateFile: certificates.otherNameCertificateFile, keyFile: certificates.otherNameKeyFile)
        )
        let plain = try await RedisServer.shared()
        let client = RedisTLS(caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile, keyFile: certificates.clientKeyFile)

        func failure(_ url: String, _ tls: RedisTLS?) async throws -> String {
            var target = try RedisURL(url)
            target.tls = tls
            let connection = RedisConnection(settings: .init(url: target), name: "tls-test")
            defer { connection.close() }
            do {
                let reply = try await connection.call("PING")
                return "answered \(reply)"
            } catch {
                return "\(error)"
            }
        }
        #expect(try await failure(trusted.url, client) == "answered status(\"PONG\")", "the trusted server, as a check of the others")
        let unknown = try await failure(rogue.url, client)
        #expect(unknown.contains("certificate verify failed") && unknown.contains("issuer"), "\(unknown)")
        let misnamed = try await failure(otherName.url, client)
        #expect(misnamed.contains("certificate verify failed") && misnamed.contains("mismatch"), "\(misnamed)")
        var named = client
        named.serverName = "redis.other.example"
        #expect(try await failure(otherName.url, named) == "answered status(\"PONG\")", "REDIS_TLS_SERVER_NAME names the certificate's host")
        let systemRoots = try await failure(
            trusted.url,
            RedisTLS(certificateFile: certificates.clientCertificateFile, keyFile: certificates.clientKeyFile)
        )
        #expect(systemRoots.contains("certificate verify failed"), "the test authority is not among the system's roots: \(systemRoots)")
        let noTLS = try await failure(plain.url.replacingOccurrences(of: "redis://", with: "rediss://"), client)
        #expect(noTLS.contains("TLS handshake"), "\(noTLS)")
        let noCertificate = try await failure(trusted.url, RedisTLS(caFile: certificates.caFile))
        // TLS 1.3 finishes the client's handshake before the server checks it: the alert comes with the first
        // read, or, when the server closed first, the first write finds the connection reset.
        #expect(
            noCertificate.contains("certificate required") || noCertificate.contains("Connection reset"),
            "Redis asks for a client certificate: \(noCertificate)"
        )
        let plainIntoTLS = try await failure(trusted.url.replacingOccurrences(of: "rediss://", with: "redis://"), nil)
        #expect(plainIntoTLS.contains("Redis is unreachable"), "\(plainIntoTLS)")
        await rogue.kill()
        await otherName.kill()
    }

    @Test("REDIS_TLS files that cannot be used are refused before any connection, naming the setting and the file")
    func tlsFiles() async throws {
        let certificates = try #require(try await RedisServer.shared(tls: true).tls).certificates
        func problem(_ tls: RedisTLS) -> String {
            do {
                try tls.check()
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(problem(RedisTLS(caFile: certificates.caFile)) == "accepted")
        #expect(problem(RedisTLS(caFile: "/nonexistent/ca.pem")).contains("REDIS_TLS_CA_FILE /nonexistent/ca.pem"))
        #expect(problem(RedisTLS(caFile: certificates.clientKeyFile)).contains("REDIS_TLS_CA_FILE"), "a key is not a certificate")
        #expect(problem(RedisTLS(certificateFile: certificates.clientCertificateFile)).contains("without REDIS_TLS_KEY_FILE"))
        #expect(problem(RedisTLS(keyFile: certificates.clientKeyFile)).contains("without REDIS_TLS_CERT_FILE"))
        #expect(
            problem(RedisTLS(certificateFile: certificates.clientCertificateFile, keyFile: certificates.serverKeyFile))
                .contains("REDIS_TLS_KEY_FILE \(certificates.serverKeyFile): key values mismatch"),
            "a key of another certificate"
        )
        #expect(
            problem(RedisTLS(certificateFile: "/nonexistent.crt", keyFile: certificates.clientKeyFile)).contains(
                "REDIS_TLS_CERT_FILE /nonexistent.crt"
            )
        )
    }
}
