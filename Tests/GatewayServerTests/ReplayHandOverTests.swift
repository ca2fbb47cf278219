import Foundation
import Testing

/// Many clients resuming from "0" while events are published: the replay/live hand-over sends each event
/// to each client exactly once.
@Suite("Replay hand-over", .serialized)
struct ReplayHandOverTests {
    /// The `n` of every event `socket` receives until `cursor.resumed` has come and it holds `total` distinct
    /// ones, then until the answer to a ping (anything still in flight comes before it).
    func collect(_ socket: TestSocket, total: Int, already: [Int]) async throws -> [Int] {
        var seen = already
        var distinct = Set(already)
        var resumed = false
        while !resumed || distinct.count < total {
            let message = try await socket.next()
            if message["type"] as? String == "cursor.resumed" { resumed = true }
            if let n = ((message["data"] as? [String: Any])?["data"] as? [String: Any])?["n"] as? Int {
                seen.append(n)
                distinct.insert(n)
            }
        }
        try await socket.send(json: ["type": "ping"])
        while true {
            let message = try await socket.next()
            if message["type"] as? String == "pong" { return seen }
            if let n = ((message["data"] as? [String: Any])?["data"] as? [String: Any])?["n"] as? Int { seen.append(n) }
        }
    }

    static func number(_ event: [String: Any]) -> Int? { (event["data"] as? [String: Any])?["n"] as? Int }

    @Test("eight clients resuming from \"0\" while a publisher publishes each get every event exactly once", arguments: 0..<3)
    func manyClientsResumeFromZero(round: Int) async throws {
        try await withServer { server in
            let service = await Tokens.service()
            let before = 40
            let total = 240
            for n in 0..<before {
                _ = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": n])
            }
            var sockets: [TestSocket] = []
            for _ in 0..<8 { sockets.append(try await subscriber(server)) }
            let publisher = Task {
                for n in before..<total {
                    let reply = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": n])
                    #expect(reply.status == 202)
                }
            }
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for (index, socket) in sockets.enumerated() {
                    group.addTask {
                        // Half resume at once, half once live events flow (some already sent live).
                        var already: [Int] = []
                        if index % 2 == 1, let n = (try await socket.next(type: "event")["data"] as? [String: Any]).flatMap(Self.number) {
                            already.append(n)
                        }
                        try await socket.send(json: ["type": "cursor.update", "cursor": "0"])
                        return try await collect(socket, total: total, already: already)
                    }
                }
                var all: [[Int]] = []
                for try await seen in group { all.append(seen) }
                return all
            }
            try await publisher.value
            for seen in results {
                #expect(seen.count == total, "each event once (round \(round)): \(seen.count) deliveries")
                #expect(Set(seen) == Set(0..<total))
                let start = try #require(seen.firstIndex(of: 0))
                #expect(Array(seen[start...]) == seen[start...].sorted(), "log order from the replay on")
            }
            for socket in sockets { await socket.close() }
        }
    }
}
