import Foundation
import GatewayServer
import GatewaySession
import Testing

/// The WebSocket protocol of SPEC §3 over real sockets: every message type, error code and close code.
@Suite("WebSocket protocol", .serialized)
struct WebSocketProtocolTests {
    @Test("connection.established carries user, company, server time, connection id, region and policy version")
    func established() async throws {
        try await withServer { server in
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(user: "42"))&company_id=123")
            let hello = try await socket.next()
            #expect(hello["type"] as? String == "connection.established")
            let data = try #require(hello["data"] as? [String: Any])
            #expect(data["user_id"] as? Int == 42)
            #expect(data["company_id"] as? String == "123")
            #expect(data["region"] as? String == "us-east-1")
            #expect((data["policy_version"] as? String)?.count == 12)
            #expect((data["connection_id"] as? String)?.count == 36)
            let time = try #require(data["server_time"] as? String)
            #expect(time.hasSuffix("Z") && time.count == 24)
            await socket.close()
        }
    }

    @Test("a subscribe confirms allowed topics and answers each refused one with its own error")
    func partialSubscribe() async throws {
        try await withServer { server in
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*", "nope.never", "account.status.changed", "Bad..Topic"]])
            var errors: [String: String] = [:]
            var confirmed: [String] = []
            for _ in 0..<4 {
                let message = try await socket.next()
                let data = message["data"] as? [String: Any] ?? [:]
                if message["type"] as? String == "error" {
                    errors[data["topic"] as? String ?? ""] = data["code"] as? String
                    #expect(data["timestamp"] is String)
                } else {
                    #expect(message["type"] as? String == "subscription.confirmed")
                    confirmed = data["topics"] as? [String] ?? []
                }
            }
            #expect(confirmed == ["deal.stage.*"])
            #expect(errors == ["nope.never": "invalid_topic", "account.status.changed": "forbidden", "Bad..Topic": "invalid_topic"])

            // Nothing accepted: errors only, no confirmation (the pong comes next).
            try await socket.send(json: ["type": "subscribe", "topics": ["nope.never"]])
            #expect(try await socket.next()["type"] as? String == "error")
            try await socket.send(json: ["type": "ping"])
            #expect(try await socket.next()["type"] as? String == "pong")
            await socket.close()
        }
    }

    @Test("unsubscribe is confirmed and stops delivery; ping is answered with pong")
    func unsubscribeAndPing() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")
            _ = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": 1])
            let event = try await socket.next(type: "event")
            #expect((event["data"] as? [String: Any])?["event_type"] as? String == "deal.stage.updated")
            try await socket.send(json: ["type": "unsubscribe", "topics": ["deal.stage.*"]])
            let confirmation = try await socket.next()
            #expect(confirmation["type"] as? String == "unsubscription.confirmed")
            #expect((confirmation["data"] as? [String: Any])?["topics"] as? [String] == ["deal.stage.*"])
            _ = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": 2])
            try await socket.send(json: ["type": "ping"])
            let pong = try await socket.next()
            #expect(pong["type"] as? String == "pong")
            #expect((pong["data"] as? [String: Any])?["timestamp"] is String)
            await socket.close()
        }
    }

    @Test("malformed messages get an error and the connection lives on")
    func malformedMessages() async throws {
        try await withServer { server in
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await socket.next(type: "connection.established")
            let cases: [(String, String)] = [
                ("not json", "invalid_message"),
                ("[1,2]", "invalid_message"),
                (#"{"topics":["deal.stage.*"]}"#, "invalid_message"),
                (#"{"type":7}"#, "invalid_message"),
                (#"{"type":"subscribe","topics":"deal.stage.*"}"#, "invalid_message"),
                (#"{"type":"subscribe","topics":[1]}"#, "invalid_message"),
                (#"{"type":"subscribe","topics":[]}"#, "invalid_message"),
                (#"{"type":"cursor.update","cursor":{}}"#, "invalid_message"),
                (#"{"type":"cursor.update","cursor":"not-a-cursor"}"#, "invalid_message"),
                (#"{"type":"teleport"}"#, "unknown_type"),
                ("{\"type\":\"subscribe\",\"topics\":[\"\u{0}\"]}", "invalid_message"),  // a raw control character is not JSON
                (#"{"type":"subscribe","topics":["\u0000.x"]}"#, "invalid_topic"),
            ]
            for (frame, code) in cases {
                try await socket.send(frame)
                let reply = try await socket.next()
                #expect(reply["type"] as? String == "error", "\(frame)")
                #expect((reply["data"] as? [String: Any])?["code"] as? String == code, "\(frame)")
                // A valid message resets the strike count, so this suite never reaches 4008.
                try await socket.send(json: ["type": "ping"])
                #expect(try await socket.next()["type"] as? String == "pong")
            }
            await socket.close()
        }
    }

    @Test("ten invalid messages in a row close the connection with 4008")
    func tooManyInvalidMessages() async throws {
        try await withServer { server in
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await socket.next(type: "connection.established")
            for _ in 0..<10 { try await socket.send("garbage") }
            #expect(try await socket.waitForClose().code == 4008)
        }
    }

    @Test("bad tokens of every kind are answered by completing the upgrade and closing with 4001")
    func badTokens() async throws {
        try await withServer { server in
            let cases: [(String, String)] = [
                ("missing", ""),
                ("garbage", "token=not.a.token"),
                ("wrong secret", "token=" + (await Tokens.hs256(secret: "another-secret-that-is-long-enough-0123456789"))),
                ("expired", "token=" + (await Tokens.hs256(expiresIn: -10))),
                ("not yet valid", "token=" + (await Tokens.hs256(notBefore: Date().addingTimeInterval(600)))),
                ("alg none", "token=" + Tokens.unsigned()),
                ("algorithm confusion", "token=" + (await Tokens.confused())),
                ("truncated", "token=" + String((await Tokens.hs256()).dropLast(5))),
            ]
            for (name, query) in cases {
                let close = try await RawWebSocket.refusal(port: server.port, path: "/ws?" + query)
                #expect(close.code == 4001, "\(name): \(close)")
                #expect(close.reason.utf8.count <= 32 && !close.reason.contains("eyJ"), "\(name)")
            }
        }
    }

    @Test("a valid token for a disabled company, a foreign region or another company_id is closed with 4003")
    func forbiddenCompanies() async throws {
        try await withServer { server in
            #expect(try await RawWebSocket.refusal(port: server.port, path: "/ws?token=\(await Tokens.hs256(company: "789"))").code == 4003)
            let close = try await RawWebSocket.refusal(port: server.port, path: "/ws?token=\(await Tokens.hs256(company: "456"))")
            #expect(close.code == 4003)
            #expect(close.reason.contains("eu-west-1"))
            let mismatch = try await RawWebSocket.refusal(port: server.port, path: "/ws?token=\(await Tokens.hs256(company: "123"))&company_id=999")
            #expect(mismatch.code == 4003)
        }
    }

    @Test("a node started without --region serves every company, and reports DEFAULT_REGION")
    func nodeWithoutRegion() async throws {
        let everyRegion: (inout ServerConfiguration) -> Void = { $0.nodeRegion = nil }
        try await withServer(everyRegion) { server in
            let european = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "456"))")
            let established = try await european.next(type: "connection.established")
            #expect((established["data"] as? [String: Any])?["region"] as? String == "us-east-1")
            let service = await Tokens.hs256(company: nil, roles: ["service"])
            #expect(try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "456").status == 202)
            await european.close()
        }
    }

    @Test("the token may come in the Authorization header")
    func authorizationHeader() async throws {
        try await withServer { server in
            let socket = try await TestSocket(url: server.ws + "/ws", headers: [("Authorization", "Bearer \(await Tokens.hs256())")])
            #expect(try await socket.next()["type"] as? String == "connection.established")
            await socket.close()
        }
    }

    @Test("a frame over MAX_MESSAGE_BYTES is closed with 1009")
    func oversizedFrame() async throws {
        let smallFrames: (inout ServerConfiguration) -> Void = { $0.maxMessageBytes = 4096 }
        try await withServer(smallFrames) { server in
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(#"{"type":"ping","pad":""# + String(repeating: "x", count: 8000) + #""}"#)
            let tooBig = try await socket.waitForClose()
            #expect(tooBig.code == 1009, "\(tooBig)")
            // The server side is released too: no session or connection slot is left behind.
            #expect(try await connectionsLeft(server) == 0)
        }
    }

    @Test("connections over MAX_CONNECTIONS are closed with 1013")
    func connectionLimit() async throws {
        let twoConnections: (inout ServerConfiguration) -> Void = { $0.maxConnections = 2 }
        try await withServer(twoConnections) { server in
            let token = await Tokens.hs256()
            let first = try await TestSocket(url: server.ws + "/ws?token=\(token)")
            let second = try await TestSocket(url: server.ws + "/ws?token=\(token)")
            _ = try await first.next(type: "connection.established")
            _ = try await second.next(type: "connection.established")
            #expect(try await RawWebSocket.refusal(port: server.port, path: "/ws?token=\(token)").code == 1013)
            await first.close()
            // A slot freed is a slot available again.
            try await eventually("the server freed the closed connection's slot") { server.gateway.activeConnections == 1 }
            let fourth = try await TestSocket(url: server.ws + "/ws?token=\(token)")
            #expect(try await fourth.next()["type"] as? String == "connection.established")
            await second.close()
            await fourth.close()
        }
    }

    @Test("a token that expires on a live connection closes it with 4001; auth.refresh extends it")
    func expiryAndRefresh() async throws {
        try await withServer { server in
            // Two connections with short tokens; the second token expires no earlier than the first (both have
            // time to connect and refresh on a loaded machine). Only the first is refreshed.
            let refreshed = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(expiresIn: 8))")
            let short = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(expiresIn: 8))")
            _ = try await refreshed.next(type: "connection.established")
            _ = try await short.next(type: "connection.established")
            try await refreshed.send(json: ["type": "auth.refresh", "token": await Tokens.hs256(expiresIn: 3600)])
            #expect(try await refreshed.next()["type"] as? String == "auth.refreshed")
            let close = try await short.waitForClose()
            #expect(close.code == 4001)
            // The server has acted on the expiry of a token that expired no earlier than the refreshed
            // connection's first one: that connection lives on.
            try await refreshed.send(json: ["type": "ping"])
            #expect(try await refreshed.next(type: "pong")["type"] as? String == "pong")

            // A token of another user is refused and ends the connection.
            try await refreshed.send(json: ["type": "auth.refresh", "token": await Tokens.hs256(user: "2")])
            #expect(try await refreshed.waitForClose().code == 4001)
        }
    }

    @Test("a rate-limited subscribe is refused whole with rate_limited and retry_after")
    func rateLimitedSubscribe() async throws {
        try await withServer { server in
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "555"))")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
            _ = try await socket.next(type: "subscription.confirmed")
            try await socket.send(json: ["type": "subscribe", "topics": ["activity.*"]])
            let refusal = try await socket.next()
            let data = try #require(refusal["data"] as? [String: Any])
            #expect(refusal["type"] as? String == "error")
            #expect(data["code"] as? String == "rate_limited")
            #expect((data["retry_after"] as? Double ?? 0) > 1)
            await socket.close()
        }
    }
}
