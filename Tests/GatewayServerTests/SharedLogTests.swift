import EventBus
import EventStore
import Foundation
import GatewayModel
import NIOHTTP1
import Testing

/// Positions come from the log, not the node: another writer appending to the same log (here a second
/// connection pool on the node's SQLite file, as a second process would be) is served by replay like the
/// node's own events, and the replay/live hand-over delivers every event exactly once.
@Suite("Shared log", .serialized)
struct SharedLogTests {
    /// An event as another writer would append it for company 123.
    static func foreign(_ index: Int) -> NewEvent {
        let millis = Timestamp.nowMillis()
        let id = "ext-\(index)"
        let envelope =
            #"{"event_id":"\#(id)","event_type":"deal.stage.updated","timestamp":"\#(Timestamp.rfc3339(millis: millis))","#
            + #""data":{"company_id":"123","n":\#(index)},"metadata":{"region":"us-east-1","idempotency_key":"\#(id)","company_id":"123"}}"#
        let event = StoredEvent(
            position: 0,
            eventID: id,
            eventType: "deal.stage.updated",
            companyID: "123",
            region: "us-east-1",
            dataSubjectID: nil,
            retentionDays: 30,
            createdAtMillis: millis,
            envelope: envelope
        )
        return NewEvent(event: event, idempotencyKey: id)
    }

    @Test("another writer's events and the node's live ones: a replay hands over to live with each event once")
    func anotherWriterDuringReplay() async throws {
        try await withServer { server in
            let other = try SQLiteEventLog(path: server.dataDir + "/events.sqlite")
            defer { try? other.closeNow() }
            // Enough history that the replay reads several pages while the node publishes.
            for batch in 0..<6 {
                let outcomes = try await other.append((0..<100).map { Self.foreign(batch * 100 + $0) })
                #expect(outcomes.allSatisfy { if case .appended = $0 { true } else { false } })
            }
            let socket = try await subscriber(server)
            try await socket.send(json: ["type": "cursor.update", "cursor": "0"])
            // The replay has begun once its first event arrived: from then on live events wait for it.
            var seen: [String] = []
            let first = try await socket.next(type: "event")
            seen.append(try #require((first["data"] as? [String: Any])?["event_id"] as? String))
            let service = await Tokens.service()
            var published: [String] = []
            var foreign: [String] = []
            for index in 0..<20 {
                let reply = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["live": index])
                #expect(reply.status == 202)
                published.append(try #require(reply.json["event_id"] as? String))
                // And the other writer goes on appending beside the node's pipeline.
                let outcome = try await other.append([Self.foreign(1000 + index)])
                if case .appended(let event) = outcome.first { foreign.append(event.eventID) }
            }
            var resumed = false
            let expected = Set((0..<600).map { "ext-\($0)" } + published)
            while !resumed || !expected.isSubset(of: Set(seen)) {
                let message = try await socket.next()
                switch message["type"] as? String {
                case "event": seen.append(try #require((message["data"] as? [String: Any])?["event_id"] as? String))
                case "cursor.resumed": resumed = true
                default: continue
                }
            }
            // Every event of the history and every live publish exactly once; the other writer's later events
            // were never on this node's bus, so they come only if the replay read them, and then once.
            #expect(seen.count == Set(seen).count, "duplicates: \(Dictionary(grouping: seen, by: { $0 }).filter { $1.count > 1 }.keys.sorted())")
            #expect(expected.isSubset(of: Set(seen)))
            #expect(Set(seen).subtracting(expected).isSubset(of: Set(foreign)))
            // A numeric cursor of this log resumes after the other writer's newest event: nothing is missed.
            try await socket.send(json: ["type": "cursor.update", "cursor": "0"])
            var again = 0
            while true {
                let message = try await socket.next()
                if message["type"] as? String == "event" { again += 1 }
                if message["type"] as? String == "cursor.resumed" { break }
            }
            #expect(again == 600 + published.count + foreign.count)
            await socket.close()
        }
    }
}
