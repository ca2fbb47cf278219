import Foundation
import NIOHTTP1
import Testing

/// Erasure that cannot be dodged: every place an event names its data subject is checked, numeric ids keep
/// their digits, ids that identify no one are refused, and a repeated erasure tells no one twice.
@Suite("GDPR subjects")
struct GDPRSubjectTests {
    func publish(_ server: TestServer, _ body: String, batch: Bool = false) async throws -> TestHTTP.Reply {
        let path = batch ? "/api/realtime/publish/batch/" : "/api/realtime/publish/"
        return try await TestHTTP.request(.POST, server.http + path, token: await Tokens.service(), body: body)
    }

    func forget(_ server: TestServer, _ subject: String) async throws -> TestHTTP.Reply {
        let admin = await Tokens.hs256(company: "123", roles: ["admin"])
        return try await TestHTTP.post(server.http + "/api/realtime/gdpr/forget/", token: admin, json: ["data_subject_id": subject])
    }

    func code(_ reply: TestHTTP.Reply) -> String? { (reply.json["error"] as? [String: Any])?["code"] as? String }

    @Test("a forgotten subject in the data is refused even when gdpr_context names someone else, in single and batch publishes")
    func publisherContextDoesNotHideTheSubject() async throws {
        try await withServer { server in
            #expect(try await forget(server, "c-del").status == 200)
            let plain = #"{"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":"c-del"}}"#
            let masked = #"""
                {"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":"c-del"},"gdpr_context":{"data_subject_id":"someone-else"}}
                """#
            let named = #"""
                {"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":"c-ok"},"gdpr_context":{"data_subject_id":"c-del"}}
                """#
            for body in [plain, masked, named] {
                let reply = try await publish(server, body)
                #expect(reply.status == 403 && code(reply) == "subject_forgotten", "\(body)")
            }
            let batch = try await publish(server, #"{"events":[\#(masked),\#(plain)]}"#, batch: true)
            let results = try #require(batch.json["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? Int } == [403, 403])
            // Nothing of c-del was stored.
            let user = await Tokens.hs256()
            let poll = try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=0", token: user)
            let events = poll.json["events"] as? [[String: Any]] ?? []
            #expect(events.allSatisfy { $0["event_type"] as? String == "gdpr.subject.forgotten" }, "\(events)")
        }
    }

    @Test("an event that names two subjects (gdpr_context and the data) is purged when either is forgotten")
    func eitherSubjectPurges() async throws {
        try await withServer { server in
            let twoNames = #"""
                {"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":"c-in-data"},"gdpr_context":{"data_subject_id":"c-in-context"}}
                """#
            #expect(try await publish(server, twoNames).status == 202)
            #expect(try await publish(server, twoNames.replacingOccurrences(of: "c-in-", with: "d-in-")).status == 202)
            // Stored under the publisher's subject; forgetting the one in the data still purges it.
            let byData = try await forget(server, "c-in-data")
            #expect(byData.status == 200 && byData.json["purged"] as? Int == 1, "\(byData.text)")
            let byContext = try await forget(server, "d-in-context")
            #expect(byContext.status == 200 && byContext.json["purged"] as? Int == 1, "\(byContext.text)")
            let user = await Tokens.hs256()
            let poll = try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=0", token: user)
            let events = poll.json["events"] as? [[String: Any]] ?? []
            #expect(events.allSatisfy { $0["event_type"] as? String == "gdpr.subject.forgotten" }, "\(events)")
        }
    }

    @Test("a numeric subject id of any size keeps its digits, so forgetting it purges its events and refuses later ones")
    func bigIntegerSubject() async throws {
        try await withServer { server in
            let body = #"{"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":1234567890123456789}}"#
            let first = try await publish(server, body)
            #expect(first.status == 202)
            let forgotten = try await forget(server, "1234567890123456789")
            #expect(forgotten.status == 200 && forgotten.json["purged"] as? Int == 1, "\(forgotten.text)")
            let again = try await publish(server, body)
            #expect(again.status == 403 && code(again) == "subject_forgotten")
            // The string spelling names the same subject.
            let spelled = try await publish(
                server,
                #"{"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":"1234567890123456789"}}"#
            )
            #expect(spelled.status == 403)
        }
    }

    @Test("a subject id that identifies no one (a fraction, an exponent, a boolean, an object) is refused with gdpr_invalid")
    func unusableSubjects() async throws {
        try await withServer { server in
            for value in ["7.5", "7.0", "1e3", "true", #"{"id":1}"#, #"["x"]"#, "\"\""] {
                let reply = try await publish(server, #"{"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":\#(value)}}"#)
                #expect(reply.status == 400 && code(reply) == "gdpr_invalid", "contact_id \(value): \(reply.text)")
                let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("data.contact_id"), "\(message)")
            }
            for value in ["7.5", "1e3"] {
                let body = #"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"gdpr_context":{"data_subject_id":\#(value)}}"#
                let reply = try await publish(server, body)
                #expect(reply.status == 400 && code(reply) == "gdpr_invalid", "gdpr_context.data_subject_id \(value): \(reply.text)")
            }
            // No subject at all (the field missing or null) is an event about no one: accepted.
            for data in [#"{"company_id":"123"}"#, #"{"company_id":"123","contact_id":null}"#] {
                #expect(try await publish(server, #"{"event_type":"deal.stage.updated","data":\#(data)}"#).status == 202)
            }
        }
    }

    @Test("a repeated forget answers already_forgotten and stores and sends no second notice")
    func repeatedForget() async throws {
        try await withServer { server in
            _ = try await publish(server, #"{"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":"c-twice"}}"#)
            let socket = try await subscriber(server)
            let first = try await forget(server, "c-twice")
            #expect(first.json["already_forgotten"] as? Bool == false && first.json["purged"] as? Int == 1)
            #expect((try await socket.next(type: "event")["data"] as? [String: Any])?["event_type"] as? String == "gdpr.subject.forgotten")
            let second = try await forget(server, "c-twice")
            #expect(second.status == 200)
            #expect(second.json["already_forgotten"] as? Bool == true && second.json["purged"] as? Int == 0)
            // The next event the socket gets is the one published after the second forget, not a notice.
            _ = try await publish(server, #"{"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":"c-other"}}"#)
            let next = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
            #expect(next["event_type"] as? String == "deal.stage.updated")
            let poll = try await TestHTTP.get(
                server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=0",
                token: await Tokens.hs256()
            )
            let notices = (poll.json["events"] as? [[String: Any]] ?? []).filter { $0["event_type"] as? String == "gdpr.subject.forgotten" }
            #expect(notices.count == 1)
            await socket.close()
        }
    }
}
