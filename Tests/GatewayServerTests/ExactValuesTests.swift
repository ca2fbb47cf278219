import Foundation
import GatewayServer
import NIOHTTP1
import Testing

/// Values reach subscribers as the publisher sent them (the issue's 64-bit ids): checked on the raw
/// frame text, never through a `Double` decode, over live WebSocket delivery, replay and long-polling,
/// both verbatim (a `pii_reader`) and through the redacted re-encoding (`sales`).
@Suite("Exact values", .serialized)
struct ExactValuesTests {
    /// Exactly the body from the issue.
    static let issueBody =
        #"{"event_type":"deal.stage.updated","data":{"company_id":"123","deal_id":9007199254740993,"sent_ns":1796376701990666000}}"#

    /// Escapes, floats, a negative beyond 64 bits and a PII field (redacted for `sales`).
    static let richBody = #"""
        {"event_type":"deal.stage.updated","data":{"company_id":"123","deal_id":9007199254740993,"sent_ns":1796376701990666000,\#
        "small":0.1,"tiny":1e-7,"exp":1E+3,"neg":-18446744073709551617,"zero":-0,\#
        "note":"line\nquote\" tab\t sep\u2028 pair\ud83d\ude00 raw😀 back\\ slash\/ nul\u0000",\#
        "contact_email":"ada@example.com"}}
        """#

    /// What `note` decodes to.
    static let note = "line\nquote\" tab\t sep\u{2028} pair😀 raw😀 back\\ slash/ nul\u{0}"

    /// The fragments every delivered copy of the issue's event carries, byte for byte.
    static let issueFragments = [#""deal_id":9007199254740993"#, #""sent_ns":1796376701990666000"#]
    /// The further fragments of the rich event.
    static let richFragments = issueFragments + [#""small":0.1"#, #""tiny":1e-7"#, #""exp":1E+3"#, #""neg":-18446744073709551617"#, #""zero":-0"#]

    func publish(_ server: TestServer, _ body: String) async throws {
        let reply = try await TestHTTP.request(.POST, server.http + "/api/realtime/publish/", token: await Tokens.service(), body: body)
        #expect(reply.status == 202, "\(reply.text)")
    }

    /// The raw text of the next `event` frame.
    func nextEventText(_ socket: TestSocket) async throws -> String {
        while true {
            let text = try await socket.nextText()
            if text.hasPrefix(#"{"type":"event""#) { return text }
        }
    }

    /// The `data` object of an event's envelope, decoded (for strings only).
    func data(ofEnvelopeIn text: String, frame: Bool) throws -> [String: Any] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let envelope = try #require((frame ? object["data"] : object) as? [String: Any])
        return try #require(envelope["data"] as? [String: Any])
    }

    /// Checks one copy of the issue's event and one of the rich event.
    func check(issue: String, rich: String, redacted: Bool, _ path: String) throws {
        for fragment in Self.issueFragments { #expect(issue.contains(fragment), "\(path): \(fragment) in \(issue)") }
        for fragment in Self.richFragments { #expect(rich.contains(fragment), "\(path): \(fragment) in \(rich)") }
        for text in [issue, rich] {
            #expect(!text.contains("9007199254740992"), "\(path): the id was not rounded")
            #expect(!text.contains("e+18") && !text.contains("E+18"), "\(path): no integer turned into a float")
        }
        let email = redacted ? "[redacted]" : "ada@example.com"
        #expect(rich.contains(#""contact_email":"\#(email)""#), "\(path)")
    }

    @Test("the issue's body and escaped strings and floats arrive unchanged: live, replayed from cursor 0, and polled")
    func unchangedEverywhere() async throws {
        try await withServer { server in
            let sales = try await subscriber(server)
            let reader = try await subscriber(server, roles: ["sales", "pii_reader"])
            try await publish(server, Self.issueBody)
            try await publish(server, Self.richBody)

            for (socket, redacted) in [(sales, true), (reader, false)] {
                let issue = try await nextEventText(socket)
                let rich = try await nextEventText(socket)
                try check(issue: issue, rich: rich, redacted: redacted, "live (redacted: \(redacted))")
                #expect(try data(ofEnvelopeIn: rich, frame: true)["note"] as? String == Self.note)
                await socket.close()
            }

            let replaying = try await subscriber(server)
            try await replaying.send(json: ["type": "cursor.update", "cursor": "0"])
            let replayedIssue = try await nextEventText(replaying)
            let replayedRich = try await nextEventText(replaying)
            _ = try await replaying.next(type: "cursor.resumed")
            try check(issue: replayedIssue, rich: replayedRich, redacted: true, "replay")
            #expect(try data(ofEnvelopeIn: replayedRich, frame: true)["note"] as? String == Self.note)
            await replaying.close()

            for roles in [["sales"], ["sales", "pii_reader"]] {
                let poll = try await TestHTTP.get(
                    server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=0",
                    token: await Tokens.hs256(company: "123", roles: roles)
                )
                #expect(poll.status == 200)
                let events = try #require(poll.json["events"] as? [[String: Any]])
                #expect(events.count == 2)
                // Both envelopes are in one answer: the issue's fragments appear once in each.
                try check(issue: poll.text, rich: poll.text, redacted: roles.count == 1, "poll \(roles)")
                for fragment in Self.issueFragments {
                    #expect(poll.text.components(separatedBy: fragment).count == 3, "poll \(roles): \(fragment) twice")
                }
                #expect((events.last?["data"] as? [String: Any])?["note"] as? String == Self.note)
            }
        }
    }

    @Test("a data subject taken from a big integer keeps its digits in metadata.gdpr_context.data_subject_id")
    func bigIntegerDataSubject() async throws {
        try await withServer { server in
            let socket = try await subscriber(server, roles: ["sales", "pii_reader"])
            let fromData = #"{"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":12345678901234567890123}}"#
            let fromPublisher = #"""
                {"event_type":"deal.stage.updated","data":{"company_id":123},"gdpr_context":{"data_subject_id":9007199254740993}}
                """#
            try await publish(server, fromData)
            try await publish(server, fromPublisher)
            let first = try await nextEventText(socket)
            let second = try await nextEventText(socket)
            #expect(first.contains(#""data_subject_id":"12345678901234567890123""#), "\(first)")
            #expect(first.contains(#""contact_id":12345678901234567890123"#), "\(first)")
            #expect(second.contains(#""data_subject_id":"9007199254740993""#), "\(second)")
            #expect(second.contains(#""company_id":"123""#), "a numeric company id names the same company as its string")
            await socket.close()

            let fraction = #"{"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":7.5}}"#
            let reply = try await TestHTTP.request(.POST, server.http + "/api/realtime/publish/", token: await Tokens.service(), body: fraction)
            // A fraction identifies no one: the event is refused rather than stored without its subject (issue 11).
            #expect(reply.status == 400 && reply.text.contains("gdpr_invalid"), "\(reply.text)")
        }
    }
}
