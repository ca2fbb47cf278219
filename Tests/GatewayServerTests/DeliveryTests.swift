import Foundation
import GatewayServer
import Testing

/// Delivery over real sockets: redaction, tenant isolation, replay, the replay/live hand-over, idempotency.
@Suite("Delivery", .serialized)
struct DeliveryTests {
    /// The `data` of the next `event` message.
    func nextEvent(_ socket: TestSocket) async throws -> [String: Any] {
        try #require(try await socket.next(type: "event")["data"] as? [String: Any])
    }

    @Test("events arrive enriched with region, company and GDPR context; PII is redacted unless the role is pii_reader")
    func enrichmentAndRedaction() async throws {
        try await withServer { server in
            let sales = try await subscriber(server)
            let reader = try await subscriber(server, roles: ["sales", "pii_reader"])
            let reply = try await TestHTTP.publish(
                server,
                token: await Tokens.service(),
                type: "deal.stage.updated",
                company: "123",
                extra: ["deal_id": 456, "contact_id": "contact-7", "contact_email": "ada@example.com"]
            )
            #expect(reply.status == 202)
            let redacted = try await nextEvent(sales)
            let plain = try await nextEvent(reader)
            #expect((redacted["data"] as? [String: Any])?["contact_email"] as? String == "[redacted]")
            #expect((plain["data"] as? [String: Any])?["contact_email"] as? String == "ada@example.com")
            #expect(redacted["event_id"] as? String == reply.json["event_id"] as? String)
            let metadata = try #require(redacted["metadata"] as? [String: Any])
            #expect(metadata["region"] as? String == "us-east-1")
            #expect(metadata["company_id"] as? String == "123")
            let gdpr = try #require(metadata["gdpr_context"] as? [String: Any])
            #expect(gdpr["purpose"] as? String == "sales_pipeline")
            #expect(gdpr["retention_days"] as? Int == 365)
            #expect(gdpr["data_subject_id"] as? String == "contact-7")
            #expect(gdpr["consent"] as? Bool == true)
            await sales.close()
            await reader.close()
        }
    }

    @Test("two companies publishing interleaved never see each other's events")
    func isolationUnderInterleavedPublishing() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            let first = try await subscriber(server, company: "123")
            let second = try await subscriber(server, company: "999")
            let count = 150
            try await withThrowingTaskGroup(of: Void.self) { group in
                for company in ["123", "999"] {
                    group.addTask {
                        for index in 0..<count {
                            let reply = try await TestHTTP.publish(
                                server,
                                token: service,
                                type: "deal.stage.updated",
                                company: company,
                                extra: ["n": index, "owner": company]
                            )
                            #expect(reply.status == 202)
                        }
                    }
                }
                try await group.waitForAll()
            }
            for (socket, company) in [(first, "123"), (second, "999")] {
                var numbers: [Int] = []
                for _ in 0..<count {
                    let data = try #require(try await nextEvent(socket)["data"] as? [String: Any])
                    #expect(data["owner"] as? String == company)
                    numbers.append(data["n"] as? Int ?? -1)
                }
                #expect(numbers == Array(0..<count), "company \(company) got its events in order")
                try await socket.send(json: ["type": "ping"])
                #expect(try await socket.next()["type"] as? String == "pong", "no stray event for \(company)")
                await socket.close()
            }
        }
    }

    @Test("cursor.update replays more than a thousand missed events in log order, then continues live")
    func replayThousandsInOrder() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            var events: [[String: Any]] = []
            for index in 0..<1_200 {
                events.append([
                    "event_type": index % 3 == 0 ? "activity.task.completed" : "deal.stage.updated", "data": ["company_id": "123", "n": index],
                ])
            }
            var firstCursor: Int?
            for chunk in stride(from: 0, to: events.count, by: 400) {
                let reply = try await TestHTTP.post(
                    server.http + "/api/realtime/publish/batch/",
                    token: service,
                    json: ["events": Array(events[chunk..<min(chunk + 400, events.count)])]
                )
                #expect(reply.status == 202)
                if firstCursor == nil { firstCursor = Int((reply.json["results"] as? [[String: Any]])?.first?["cursor"] as? String ?? "") }
            }
            let first = try #require(firstCursor)
            // An event of another company in the middle of the log is never replayed.
            _ = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "999", extra: ["n": -1])
            let socket = try await subscriber(server, topics: ["deal.stage.*"])
            try await socket.send(json: ["type": "cursor.update", "cursor": "0"])
            var numbers: [Int] = []
            while true {
                let message = try await socket.next()
                if message["type"] as? String == "cursor.resumed" {
                    let data = try #require(message["data"] as? [String: Any])
                    #expect(data["replayed"] as? Int == 800)
                    #expect(Int(data["cursor"] as? String ?? "") ?? 0 >= first + 1_199, "the cursor is past every event published")
                    break
                }
                let data = try #require((message["data"] as? [String: Any])?["data"] as? [String: Any])
                numbers.append(data["n"] as? Int ?? -1)
            }
            #expect(numbers == (0..<1_200).filter { $0 % 3 != 0 })
            _ = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": 5000])
            #expect((try await nextEvent(socket)["data"] as? [String: Any])?["n"] as? Int == 5000)
            await socket.close()
        }
    }

    @Test("the replay/live hand-over under concurrent publishing loses nothing, sends nothing twice and keeps order")
    func handOverUnderConcurrentPublishing() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            let total = 600
            for index in 0..<200 {
                _ = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": index])
            }
            let socket = try await subscriber(server)
            let publisher = Task {
                for index in 200..<total {
                    _ = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": index])
                }
            }
            // The replay starts while live events flow: once the first of them has arrived.
            let first = try await nextEvent(socket)
            try await socket.send(json: ["type": "cursor.update", "cursor": "0"])
            var seen: [Int] = [(first["data"] as? [String: Any])?["n"] as? Int ?? -1]
            var resumedAt: Int?
            while Set(seen).count < total {
                let message = try await socket.next()
                if message["type"] as? String == "cursor.resumed" {
                    resumedAt = seen.count
                    continue
                }
                guard message["type"] as? String == "event" else { continue }
                let data = try #require((message["data"] as? [String: Any])?["data"] as? [String: Any])
                seen.append(data["n"] as? Int ?? -1)
            }
            try await publisher.value
            // Anything still in flight arrives before the answer to a ping.
            try await socket.send(json: ["type": "ping"])
            while true {
                let message = try await socket.next()
                if message["type"] as? String == "pong" { break }
                if let n = ((message["data"] as? [String: Any])?["data"] as? [String: Any])?["n"] as? Int { seen.append(n) }
            }
            // Every event arrives exactly once: the replay skips those the connection was sent live before it.
            // From the replay's first event (0) on, they arrive in log order.
            #expect(seen.count == total && Set(seen) == Set(0..<total))
            let start = try #require(seen.firstIndex(of: 0))
            #expect(Array(seen[start...]) == seen[start...].sorted())
            #expect(resumedAt != nil && resumedAt! > start)
            await socket.close()
        }
    }

    @Test("a repeated idempotency key returns the original event, marked duplicate, and is delivered once")
    func idempotency() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            let socket = try await subscriber(server)
            let first = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": 1], key: "op-1")
            let again = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": 2], key: "op-1")
            let otherCompany = try await TestHTTP.publish(
                server,
                token: service,
                type: "deal.stage.updated",
                company: "999",
                extra: ["n": 3],
                key: "op-1"
            )
            #expect(first.status == 202 && again.status == 202)
            #expect(first.json["duplicate"] as? Bool == false)
            #expect(again.json["duplicate"] as? Bool == true)
            #expect(again.json["event_id"] as? String == first.json["event_id"] as? String)
            #expect(again.json["cursor"] as? String == first.json["cursor"] as? String)
            #expect(otherCompany.json["duplicate"] as? Bool == false, "keys are per company")
            let event = try await nextEvent(socket)
            #expect((event["metadata"] as? [String: Any])?["idempotency_key"] as? String == "op-1")
            try await socket.send(json: ["type": "ping"])
            #expect(try await socket.next()["type"] as? String == "pong", "the duplicate was not delivered again")
            await socket.close()
        }
    }

    @Test("an event_id is a valid cursor; an unknown one is cursor_expired")
    func eventIDCursor() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            var ids: [String] = []
            for index in 0..<5 {
                let reply = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": index])
                ids.append(reply.json["event_id"] as? String ?? "")
            }
            let socket = try await subscriber(server)
            try await socket.send(json: ["type": "cursor.update", "cursor": ids[2]])
            #expect((try await nextEvent(socket)["data"] as? [String: Any])?["n"] as? Int == 3)
            #expect((try await nextEvent(socket)["data"] as? [String: Any])?["n"] as? Int == 4)
            #expect((try await socket.next()["data"] as? [String: Any])?["replayed"] as? Int == 2)
            try await socket.send(json: ["type": "cursor.update", "cursor": "0190a0f0-0000-7000-8000-000000000000"])
            let expired = try await socket.next()
            #expect((expired["data"] as? [String: Any])?["code"] as? String == "cursor_expired")
            await socket.close()
        }
    }

    @Test("with GDPR_ENABLED=false events carry no gdpr_context")
    func gdprDisabled() async throws {
        let off: (inout ServerConfiguration) -> Void = { $0.gdprEnabled = false }
        try await withServer(off) { server in
            let socket = try await subscriber(server)
            _ = try await TestHTTP.publish(
                server,
                token: await Tokens.service(),
                type: "deal.stage.updated",
                company: "123",
                extra: ["contact_id": "c-1"]
            )
            let metadata = try #require(try await nextEvent(socket)["metadata"] as? [String: Any])
            #expect(metadata["gdpr_context"] == nil)
            #expect(metadata["region"] as? String == "us-east-1")
            await socket.close()
        }
    }

    @Test("metrics count deliveries, refused deliveries and events dropped for a slow consumer")
    func deliveryMetrics() async throws {
        try await withServer { server in
            func value(_ text: String, _ series: String) -> Double {
                text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            }
            let before = try await TestHTTP.get(server.http + "/metrics").text
            let socket = try await subscriber(server)
            for index in 0..<3 {
                _ = try await TestHTTP.publish(server, token: await Tokens.service(), type: "deal.stage.updated", company: "123", extra: ["n": index])
                _ = try await nextEvent(socket)
            }
            let allowed = #"policy_decisions_total{action="deliver",result="allow",reason="allowed"}"#
            func counted(_ after: String) -> Bool {
                value(after, "event_delivered_total") - value(before, "event_delivered_total") >= 3
                    && value(after, "event_published_total") - value(before, "event_published_total") >= 3
                    && value(after, allowed) - value(before, allowed) >= 3
            }
            // A fan-out counts its deliveries once they are queued: the client may read an event before that.
            let after = try await eventuallyValue("the deliveries are counted") { () async throws -> String? in
                let text = try await TestHTTP.get(server.http + "/metrics").text
                return counted(text) ? text : nil
            }
            // The suite runs one server at a time (`--no-parallel`), so the process-wide counters moved by exactly
            // this test's three events: deltas, never absolute values that depend on the tests before.
            #expect(value(after, "event_delivered_total") - value(before, "event_delivered_total") == 3)
            #expect(value(after, "event_published_total") - value(before, "event_published_total") == 3)
            #expect(value(after, allowed) - value(before, allowed) == 3)
            #expect(after.contains("delivery_latency_seconds_bucket"))
            await socket.close()
        }
    }

    @Test("an event_id of another company is not a cursor here (cursor_expired), so ids reveal nothing across tenants")
    func foreignEventIDCursor() async throws {
        try await withServer { server in
            let foreign = try await TestHTTP.publish(server, token: await Tokens.service(), type: "deal.stage.updated", company: "999")
            let id = try #require(foreign.json["event_id"] as? String)
            let socket = try await subscriber(server)
            try await socket.send(json: ["type": "cursor.update", "cursor": id])
            #expect((try await socket.next()["data"] as? [String: Any])?["code"] as? String == "cursor_expired")
            let poll = try await TestHTTP.get(
                server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=\(id)",
                token: await Tokens.hs256()
            )
            #expect(poll.status == 410)
            await socket.close()
        }
    }

    @Test("deliver limits: a connection past the plan's limit is closed with 4029; resuming by cursor catches up on everything")
    func deliverLimits() async throws {
        try await withServer { server in
            let socket = try await subscriber(server, company: "556")
            for n in 0..<4 {
                #expect(
                    try await TestHTTP.publish(server, token: await Tokens.service(), type: "deal.stage.updated", company: "556", extra: ["n": n])
                        .status == 202
                )
            }
            #expect(try await socket.waitForClose().code == 4029)
            let delivered = socket.drain().compactMap { text -> Int? in
                guard let data = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
                return ((data["data"] as? [String: Any])?["data"] as? [String: Any])?["n"] as? Int
            }
            #expect(delivered == [0, 1])
            let resumed = try await subscriber(server, company: "556")
            try await resumed.send(json: ["type": "cursor.update", "cursor": "0"])
            var replayed: [Int] = []
            while true {
                let message = try await resumed.next()
                if message["type"] as? String == "cursor.resumed" { break }
                if let n = ((message["data"] as? [String: Any])?["data"] as? [String: Any])?["n"] as? Int { replayed.append(n) }
            }
            #expect(replayed == [0, 1, 2, 3])
            await resumed.close()
        }
    }

    @Test("a connection holds at most 200 subscriptions; the rest are refused one by one")
    func subscriptionCap() async throws {
        try await withServer { server in
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await socket.next(type: "connection.established")
            for chunk in 0..<3 {
                let topics = (0..<100).map { "deal.stage.t\(chunk * 100 + $0)" }
                try await socket.send(json: ["type": "subscribe", "topics": topics])
            }
            var confirmed = 0
            var refused = 0
            while confirmed + refused < 300 {
                let message = try await socket.next()
                if message["type"] as? String == "subscription.confirmed" {
                    confirmed += ((message["data"] as? [String: Any])?["topics"] as? [String])?.count ?? 0
                } else if (message["data"] as? [String: Any])?["code"] as? String == "forbidden" {
                    refused += 1
                }
            }
            #expect(confirmed == 200 && refused == 100)
            await socket.close()
        }
    }
}
