import Foundation
import GatewayTesting
import Synchronization

/// Several real gateway processes on one real Redis (`EVENT_BUS_BACKEND=redis`), with a channel prefix (and
/// so a key namespace) no other test uses.
struct Cluster {
    let redis: RedisServer
    let nodes: [ServerProcess]
    let channelPrefix: String

    /// Starts `count` nodes on `redis` (a server of the test's own when it controls Redis' life, else the
    /// shared one); `environment` is given to every node, `perNode` to each in turn.
    static func start(
        nodes count: Int,
        redis: RedisServer? = nil,
        environment: [String: String] = [:],
        perNode: [[String: String]] = []
    ) async throws -> Cluster {
        let shared = redis == nil ? try await RedisServer.shared() : nil
        let redis = redis ?? shared!
        let prefix = "cluster-\(UUID().uuidString.prefix(8))"
        var nodes: [ServerProcess] = []
        for index in 0..<count {
            var env = ["EVENT_BUS_BACKEND": "redis", "REDIS_URL": redis.url, "EVENT_BUS_CHANNEL_PREFIX": prefix, "POLICY_WATCH_INTERVAL": "0"]
            env.merge(environment) { $1 }
            if index < perNode.count { env.merge(perNode[index]) { $1 } }
            nodes.append(try await ServerProcess(dataDir: TestServer.temporaryDirectory(), environment: env))
        }
        return Cluster(redis: redis, nodes: nodes, channelPrefix: prefix)
    }

    /// Runs `body`; when it throws, prints the end of every node's log first (a cluster test that fails on a
    /// loaded machine should say what the nodes saw).
    func showingLogsOnFailure(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            for (index, node) in nodes.enumerated() {
                print("--- node \(index) log (end):\n" + String(node.output.snapshot().suffix(60000)))
            }
            throw error
        }
    }

    /// Stops every node with SIGTERM.
    func stop() async {
        for node in nodes where node.isRunning { await node.kill(SIGTERM) }
    }

    /// Publishes one `deal.stage.updated` event of `company` into `node` as the service principal.
    static func publish(
        _ node: ServerProcess,
        company: String = "123",
        data: [String: Any] = [:],
        key: String? = nil,
        type: String = "deal.stage.updated"
    ) async throws -> TestHTTP.Reply {
        var payload: [String: Any] = ["company_id": company]
        payload.merge(data) { $1 }
        var body: [String: Any] = ["event_type": type, "data": payload]
        if let key { body["idempotency_key"] = key }
        return try await TestHTTP.post(node.http + "/api/realtime/publish/", token: await Tokens.service(), json: body)
    }

    /// Every event of `topics` a poll through `node` returns from the start of the history, page by page.
    static func history(_ node: ServerProcess, token: String, topics: String = "deal.stage.*") async throws -> [[String: Any]] {
        var events: [[String: Any]] = []
        var cursor = "0"
        while true {
            let page = try await TestHTTP.get(node.http + "/api/realtime/poll/?topics=\(topics)&timeout=0&limit=100&cursor=\(cursor)", token: token)
            guard page.status == 200 else { throw TestFailure("poll answered \(page.status): \(page.text)") }
            events += page.json["events"] as? [[String: Any]] ?? []
            cursor = page.json["cursor"] as? String ?? cursor
            guard page.json["has_more"] as? Bool == true else { return events }
        }
    }
}
