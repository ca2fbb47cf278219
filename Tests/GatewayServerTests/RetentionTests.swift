import Foundation
import GatewayModel
import GatewaySession
import Testing

/// Retention (SPEC §6.6): each event is removed once its own `retention_days` have passed, and a
/// cursor from before a removed event is answered with `cursor_expired`, never with a silent gap.
@Suite("Retention")
struct RetentionTests {
    func publish(_ server: TestServer, company: String, retentionDays: Int?, n: Int) async throws -> [String: Any] {
        var body: [String: Any] = ["event_type": "deal.stage.updated", "data": ["company_id": company, "n": n]]
        if let retentionDays { body["gdpr_context"] = ["retention_days": retentionDays] }
        let reply = try await TestHTTP.post(server.http + "/api/realtime/publish/", token: await Tokens.service(), json: body)
        #expect(reply.status == 202)
        return reply.json
    }

    @Test("a sweep of thousands of events runs in batches while live events keep arriving, none lost")
    func sweepUnderLoad() async throws {
        try await withServer { server in
            let expiring = (0..<1000).map { n in
                ["event_type": "activity.call.logged", "data": ["company_id": "123", "n": n], "gdpr_context": ["retention_days": 1]] as [String: Any]
            }
            for _ in 0..<3 {
                let batch = try await TestHTTP.post(
                    server.http + "/api/realtime/publish/batch/",
                    token: await Tokens.service(),
                    json: ["events": expiring]
                )
                #expect(batch.status == 202)
            }
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(roles: ["sales"]))")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")
            let gateway = server.gateway
            let sweep = Task { try await gateway.sweepRetention(nowMillis: Timestamp.nowMillis() + 2 * 86_400_000) }
            for n in 0..<20 {
                #expect(
                    try await TestHTTP.publish(server, token: await Tokens.service(), type: "deal.stage.updated", company: "123", extra: ["n": n])
                        .status == 202
                )
            }
            var seen: [Int] = []
            while seen.count < 20 {
                let event = try await socket.next(type: "event")
                if let n = ((event["data"] as? [String: Any])?["data"] as? [String: Any])?["n"] as? Int { seen.append(n) }
            }
            #expect(seen == Array(0..<20))
            #expect(try await sweep.value == 3000)
            await socket.close()
        }
    }

    @Test("the sweeper removes events past their own retention; older cursors get cursor_expired over WebSocket and polling; newer ones resume")
    func sweepAndExpiredCursors() async throws {
        try await withServer { server in
            let short = try await publish(server, company: "123", retentionDays: 1, n: 1)
            let kept = try await publish(server, company: "123", retentionDays: nil, n: 2)
            _ = try await publish(server, company: "999", retentionDays: 1, n: 3)
            _ = try await publish(server, company: "555", retentionDays: 30, n: 4)

            // Nothing is due yet; two days on, the two one-day events are.
            #expect(try await server.gateway.sweepRetention() == 0)
            let twoDaysOn = Timestamp.nowMillis() + 2 * 86_400_000
            #expect(try await server.gateway.sweepRetention(nowMillis: twoDaysOn) == 2)
            #expect(try await server.gateway.sweepRetention(nowMillis: twoDaysOn) == 0)

            let user = await Tokens.hs256(company: "123", roles: ["sales"])
            let poll = server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor="
            let expired = try await TestHTTP.get(poll + "0", token: user)
            #expect(expired.status == 410)
            #expect((expired.json["error"] as? [String: Any])?["code"] as? String == "cursor_expired")
            // From the removed event's own position on, nothing is missing: the kept event follows.
            let resumed = try await TestHTTP.get(poll + (short["cursor"] as? String ?? ""), token: user)
            #expect(resumed.status == 200)
            let events = resumed.json["events"] as? [[String: Any]] ?? []
            #expect(events.map { $0["event_id"] as? String } == [kept["event_id"] as? String])
            // A cursor inside the retained history resumes even when a shorter-lived event after it was
            // removed: events past their own retention are owed to nobody.
            let longLived = try await publish(server, company: "123", retentionDays: 365, n: 5)
            let shortAfter = try await publish(server, company: "123", retentionDays: 1, n: 6)
            let after = try await publish(server, company: "123", retentionDays: nil, n: 7)
            #expect(try await server.gateway.sweepRetention(nowMillis: twoDaysOn) == 1)
            let inside = try await TestHTTP.get(poll + (longLived["cursor"] as? String ?? ""), token: user)
            #expect(inside.status == 200)
            #expect((inside.json["events"] as? [[String: Any]])?.map { $0["event_id"] as? String } == [after["event_id"] as? String])
            #expect(shortAfter["event_id"] != nil)
            // Another company's removal does not expire this company's cursors, and vice versa.
            let other = try await TestHTTP.get(poll + "0", token: await Tokens.hs256(company: "555", roles: ["sales"]))
            #expect(other.status == 200 && (other.json["events"] as? [Any])?.count == 1)
            #expect(try await TestHTTP.get(poll + "0", token: await Tokens.hs256(company: "999", roles: ["sales"])).status == 410)

            let socket = try await TestSocket(url: server.ws + "/ws?token=\(user)")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")
            for cursor in ["0", short["event_id"] as? String ?? ""] {
                try await socket.send(json: ["type": "cursor.update", "cursor": cursor])
                let error = try await socket.next(type: "error")
                #expect((error["data"] as? [String: Any])?["code"] as? String == "cursor_expired", "\(cursor)")
            }
            try await socket.send(json: ["type": "cursor.update", "cursor": short["cursor"] as? String ?? ""])
            let replayed = try await socket.next(type: "event")
            #expect((replayed["data"] as? [String: Any])?["event_id"] as? String == kept["event_id"] as? String)
            await socket.close()
        }
    }
}
