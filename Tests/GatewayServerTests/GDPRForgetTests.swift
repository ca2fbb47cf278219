import Foundation
import Testing

/// The right to be forgotten (SPEC §7) over real sockets and a real log.
@Suite("GDPR forget")
struct GDPRForgetTests {
    func publish(_ server: TestServer, contact: String, company: String = "123", extra: [String: Any] = [:]) async throws -> TestHTTP.Reply {
        try await TestHTTP.publish(
            server,
            token: await Tokens.service(),
            type: "deal.stage.updated",
            company: company,
            extra: ["contact_id": contact].merging(extra) { $1 }
        )
    }

    func forget(_ server: TestServer, _ body: [String: Any], token: String? = nil) async throws -> TestHTTP.Reply {
        let admin = await Tokens.hs256(company: "123", roles: ["admin"])
        return try await TestHTTP.post(server.http + "/api/realtime/gdpr/forget/", token: token ?? admin, json: body)
    }

    @Test("forget purges the subject's events, notifies the company's clients, refuses its publishes, survives a restart and is idempotent")
    func forgetSubject() async throws {
        let dataDir = TestServer.temporaryDirectory()
        try await withServer(dataDir: dataDir) { server in
            #expect(try await publish(server, contact: "contact-42").status == 202)
            #expect(try await publish(server, contact: "contact-42").status == 202)
            let other = try await publish(server, contact: "contact-7")
            #expect(try await publish(server, contact: "contact-42", company: "999").status == 202)

            let user = await Tokens.hs256(company: "123", roles: ["sales"])
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(user)")
            _ = try await socket.next(type: "connection.established")
            let bystander = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "555"))")
            _ = try await bystander.next(type: "connection.established")

            #expect(try await forget(server, ["data_subject_id": "contact-42"], token: user).status == 403)
            #expect(try await forget(server, ["data_subject_id": ""]).status == 400)
            #expect(try await forget(server, ["subject": "contact-42"]).status == 400)
            #expect(try await forget(server, ["data_subject_id": "contact-42", "company_id": "999"]).status == 403)

            let reply = try await forget(server, ["data_subject_id": "contact-42"])
            #expect(reply.status == 200)
            #expect(reply.json["purged"] as? Int == 2 && reply.json["scope"] as? String == "123")
            #expect(reply.json["already_forgotten"] as? Bool == false)

            let notice = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
            #expect(notice["event_type"] as? String == "gdpr.subject.forgotten")
            #expect((notice["data"] as? [String: Any])?["data_subject_id"] as? String == "contact-42")
            #expect(bystander.drain().isEmpty)

            // Neither poll nor replay returns the subject's events; the other subject's remain, and the notice
            // is in the history too (whatever the topics), so a client that was away learns of the erasure.
            let poll = try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=0", token: user)
            let polled = poll.json["events"] as? [[String: Any]] ?? []
            #expect(polled.map { $0["event_id"] as? String } == [other.json["event_id"] as? String, notice["event_id"] as? String])
            #expect(polled.last?["event_type"] as? String == "gdpr.subject.forgotten")
            // The notice's id is a cursor like any event's: a client that stored it resumes, not cursor_expired.
            try await socket.send(json: ["type": "cursor.update", "cursor": notice["event_id"] as? String ?? ""])
            _ = try await socket.next(type: "cursor.resumed")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")
            try await socket.send(json: ["type": "cursor.update", "cursor": "0"])
            let replayed = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
            #expect(replayed["event_id"] as? String == other.json["event_id"] as? String)

            // Another company's events of the same id are not this admin's to erase.
            let foreign = try await TestHTTP.get(
                server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=0",
                token: await Tokens.hs256(company: "999", roles: ["sales"])
            )
            #expect((foreign.json["events"] as? [Any])?.count == 1)

            let refused = try await publish(server, contact: "contact-42")
            #expect(refused.status == 403 && (refused.json["error"] as? [String: Any])?["code"] as? String == "subject_forgotten")
            let again = try await forget(server, ["data_subject_id": "contact-42"])
            #expect(again.json["purged"] as? Int == 0 && again.json["already_forgotten"] as? Bool == true)
            await socket.close()
            await bystander.close()
        }
        try await withServer(dataDir: dataDir) { server in
            #expect(try await publish(server, contact: "contact-42").status == 403)
            #expect(try await publish(server, contact: "contact-42", company: "999").status == 202)
            // A platform admin (no company) erases the subject everywhere.
            let platform = await Tokens.hs256(company: nil, roles: ["admin"])
            #expect(try await forget(server, ["data_subject_id": "contact-42"], token: platform).status == 400)
            let everywhere = try await forget(server, ["data_subject_id": "contact-42", "all_companies": true], token: platform)
            #expect(everywhere.json["scope"] as? String == "all" && everywhere.json["purged"] as? Int == 2)
            #expect(try await publish(server, contact: "contact-42", company: "999").status == 403)
        }
    }

    @Test("forget while a client is replaying: once an event of the subject has been skipped, none follows")
    func forgetDuringReplay() async throws {
        try await withServer { server in
            // Large events, so the replay stalls on the paused reader long before it ends.
            let padding = String(repeating: "x", count: 8000)
            let count = 2000
            var events: [[String: Any]] = []
            for index in 0..<count {
                events.append([
                    "event_type": "deal.stage.updated",
                    "data": ["company_id": "123", "contact_id": index % 2 == 0 ? "contact-x" : "contact-y", "n": index, "pad": padding],
                ])
            }
            for start in stride(from: 0, to: count, by: 100) {
                let batch = try await TestHTTP.post(
                    server.http + "/api/realtime/publish/batch/",
                    token: await Tokens.service(),
                    json: ["events": Array(events[start..<start + 100])]
                )
                #expect(batch.status == 202)
            }
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "123", roles: ["sales"]))")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")
            // The reader stops right after the replay's first event: the replay is under way when the erasure
            // comes, and stalls on the unread bytes long before its end.
            socket.pause(after: { text in
                (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["type"] as? String == "event"
            })
            try await socket.send(json: ["type": "cursor.update", "cursor": "0"])
            try await eventually("the replay's first event arrived") { socket.isPaused }
            let reply = try await forget(server, ["data_subject_id": "contact-x"])
            #expect(reply.status == 200)
            socket.pause(false)

            var received: [Int] = []
            while true {
                let message = try await socket.next()
                if message["type"] as? String == "cursor.resumed" { break }
                guard message["type"] as? String == "event", let data = message["data"] as? [String: Any] else { continue }
                if let n = (data["data"] as? [String: Any])?["n"] as? Int { received.append(n) }
            }
            // In order, nothing of contact-y lost, and contact-x stops for good at the first gap.
            #expect(received == received.sorted())
            #expect(received.filter { $0 % 2 == 1 } == Array(stride(from: 1, to: count, by: 2)))
            let firstSkip = received.indices.dropFirst().first { received[$0] % 2 == 1 && received[$0 - 1] % 2 == 1 }
            let skip = try #require(firstSkip, "the erasure never reached the running replay: \(received.count) events")
            #expect(received[skip...].allSatisfy { $0 % 2 == 1 })
            // Some of contact-x's events went out before the erasure: it did reach a replay under way.
            #expect(received.contains { $0 % 2 == 0 } && received.count < count, "\(received.count) events")
            await socket.close()
        }
    }
}
