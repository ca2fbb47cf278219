import Foundation
import GatewayServer
import Testing

/// The HTTP limits (README "HTTP limits"), over raw sockets: each refusal is an answer with the SPEC's error
/// body, then the end of the connection.
@Suite("HTTP limits", .serialized)
struct HTTPLimitsTests {
    /// One-second deadlines, so that the tests wait for them rather than for the defaults.
    static let quickDeadlines: @Sendable (inout ServerConfiguration) -> Void = {
        $0.httpHeaderTimeoutSeconds = 1
        $0.httpBodyTimeoutSeconds = 1
        $0.httpKeepAliveTimeoutSeconds = 1
    }

    static let health = "GET /api/realtime/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    @Test("a silent socket, a slowloris client (a header line at a time) and an unfinished upgrade are answered 408 and closed")
    func headerDeadline() async throws {
        try await withServer(Self.quickDeadlines) { server in
            let silent = try await RawWebSocket(port: server.port).answer()
            #expect(silent.ended && silent.status == 408 && silent.errorCode == "request_timeout", "\(silent)")
            #expect(silent.header("connection") == "close")

            let slow = try RawWebSocket(port: server.port)
            async let answer = slow.answer()
            slow.send(bytes: Array("GET /api/realtime/health/ HTTP/1.1\r\n".utf8))
            for line in 0..<16 {
                try await Task.sleep(for: .milliseconds(250))
                slow.send(bytes: Array("X-Slow-\(line): x\r\n".utf8))
            }
            let slowAnswer = await answer
            #expect(slowAnswer.ended && slowAnswer.status == 408, "\(slowAnswer)")

            let upgrade = try RawWebSocket(port: server.port)
            upgrade.send(bytes: Array("GET /ws?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n".utf8))
            let upgradeAnswer = await upgrade.answer()
            #expect(upgradeAnswer.ended && upgradeAnswer.status == 408, "an unfinished upgrade: \(upgradeAnswer)")
        }
    }

    @Test("a body that stops coming is answered 408 and closed")
    func bodyDeadline() async throws {
        try await withServer(Self.quickDeadlines) { server in
            let request =
                "POST /api/realtime/publish/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(await Tokens.service())\r\n"
                + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"event"
            let answer = try await RawWebSocket.exchange(port: server.port, request)
            #expect(answer.ended && answer.status == 408 && answer.errorCode == "request_timeout", "\(answer)")
        }
    }

    @Test("an idle keep-alive connection is closed silently; the next request's header deadline starts with its first byte")
    func keepAlive() async throws {
        try await withServer(Self.quickDeadlines) { server in
            let idle = try RawWebSocket(port: server.port)
            idle.send(bytes: Array(Self.health.utf8))
            let idleAnswer = await idle.answer()
            #expect(idleAnswer.ended && idleAnswer.statuses == [200], "\(idleAnswer)")
        }
        let longKeepAlive: (inout ServerConfiguration) -> Void = {
            Self.quickDeadlines(&$0)
            $0.httpKeepAliveTimeoutSeconds = 600
        }
        try await withServer(longKeepAlive) { server in
            let socket = try RawWebSocket(port: server.port)
            socket.send(bytes: Array(Self.health.utf8))
            #expect(await socket.responses(1).statuses == [200])
            socket.send(bytes: Array("GET /api/realtime/health/ HTTP/1.1\r\n".utf8))
            let answer = await socket.answer()
            #expect(answer.ended && answer.statuses == [408], "\(answer)")
        }
    }

    @Test("a long poll outlives every deadline: they cover receiving a request, not producing its response")
    func longPoll() async throws {
        try await withServer(Self.quickDeadlines) { server in
            let socket = try RawWebSocket(port: server.port)
            let token = await Tokens.hs256()
            socket.send(
                bytes: Array(
                    "GET /api/realtime/poll/?topics=deal.stage.*&company_id=123&timeout=3 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
                        .utf8
                )
            )
            let answer = await socket.responses(1)
            #expect(answer.statuses == [200], "\(answer)")
            #expect(answer.responses.first.map { String(decoding: $0.body, as: UTF8.self).contains(#""cursor""#) } == true)
        }
    }

    @Test("headers over HTTP_MAX_HEADER_BYTES or HTTP_MAX_HEADER_COUNT are answered 431 and closed; just under them are served")
    func headerLimits() async throws {
        try await withServer { server in
            let large = "GET /api/realtime/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: \(String(repeating: "p", count: 40_000))\r\n\r\n"
            let largeAnswer = try await RawWebSocket.exchange(port: server.port, large)
            #expect(largeAnswer.ended && largeAnswer.status == 431 && largeAnswer.errorCode == "headers_too_large", "\(largeAnswer)")

            let split = (0..<8).map { "X-Part-\($0): \(String(repeating: "q", count: 4_500))\r\n" }.joined()
            let splitAnswer = try await RawWebSocket.exchange(port: server.port, "GET /api/realtime/health/ HTTP/1.1\r\nHost: x\r\n\(split)\r\n")
            #expect(splitAnswer.ended && splitAnswer.status == 431, "36 KB in fields of 4.5 KB: \(splitAnswer)")

            let many = (0..<100).map { "X-H\($0): v\r\n" }.joined()
            let manyAnswer = try await RawWebSocket.exchange(port: server.port, "GET /api/realtime/health/ HTTP/1.1\r\nHost: x\r\n\(many)\r\n")
            #expect(manyAnswer.ended && manyAnswer.status == 431, "101 fields: \(manyAnswer)")

            let fine = (0..<98).map { "X-H\($0): \(String(repeating: "v", count: 200))\r\n" }.joined()
            let fineSocket = try RawWebSocket(port: server.port)
            fineSocket.send(bytes: Array("GET /api/realtime/health/ HTTP/1.1\r\nHost: x\r\n\(fine)\r\n".utf8))
            #expect(await fineSocket.responses(1).statuses == [200], "99 fields, about 21 KB")
        }
    }

    @Test("conflicting or invalid lengths are answered 400 and closed")
    func lengths() async throws {
        try await withServer { server in
            let start = "POST /api/realtime/publish/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            let cases = [
                "Content-Length and Transfer-Encoding": "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                "Transfer-Encoding and Content-Length": "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                "two different lengths": "Content-Length: 5\r\nContent-Length: 6\r\n",
                "the same length twice": "Content-Length: 5\r\nContent-Length: 5\r\n",
                "a negative length": "Content-Length: -1\r\n",
                "a non-numeric length": "Content-Length: abc\r\n",
                "a list of lengths": "Content-Length: 5, 5\r\n",
            ]
            for (name, headers) in cases {
                let answer = try await RawWebSocket.exchange(port: server.port, start + headers + "\r\n{}{}{}")
                #expect(answer.ended && answer.status == 400 && answer.errorCode == "malformed_request", "\(name): \(answer)")
            }
        }
    }

    @Test("a Content-Length over MAX_MESSAGE_BYTES is answered 413 at once, before any body; so is a longer chunked body")
    func bodyLimit() async throws {
        let small: (inout ServerConfiguration) -> Void = { $0.maxMessageBytes = 2048 }
        try await withServer(small) { server in
            let declared =
                "POST /api/realtime/publish/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
            let answer = try await RawWebSocket.exchange(port: server.port, declared)
            #expect(answer.ended && answer.status == 413 && answer.errorCode == "payload_too_large", "\(answer)")

            let chunk = String(repeating: "x", count: 3000)
            let chunked =
                "POST /api/realtime/publish/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n"
            let chunkedAnswer = try await RawWebSocket.exchange(port: server.port, chunked)
            #expect(chunkedAnswer.ended && chunkedAnswer.status == 413, "\(chunkedAnswer)")
        }
    }

    @Test("non-HTTP bytes (a TLS ClientHello, an SSH banner, binary noise) are answered 400 and closed")
    func notHTTP() async throws {
        try await withServer { server in
            // The start of a TLS 1.2 ClientHello record: handshake (0x16), version 3.1, length, ClientHello (0x01).
            let clientHello: [UInt8] =
                [0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03] + (0..<32).map { UInt8($0) } + [0x00, 0x00, 0x02, 0x13, 0x01]
            for (name, bytes) in [
                ("TLS ClientHello", clientHello), ("SSH banner", Array("SSH-2.0-OpenSSH_9.6\r\n".utf8)), ("noise", [0, 1, 2, 255, 13, 10, 13, 10]),
            ] {
                let answer = try await RawWebSocket.exchange(port: server.port, bytes)
                #expect(answer.ended && answer.status == 400 && answer.errorCode == "malformed_request", "\(name): \(answer)")
            }
        }
    }

    @Test("HTTP/1.0 without keep-alive is closed after its response; with keep-alive the connection serves the next request")
    func http10() async throws {
        try await withServer { server in
            let plain = try await RawWebSocket.exchange(port: server.port, "GET /api/realtime/health/ HTTP/1.0\r\n\r\n")
            #expect(plain.ended && plain.statuses == [200], "\(plain)")
            #expect(plain.header("connection")?.lowercased() == "close")

            let keptAlive = "GET /api/realtime/health/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            let both = try await RawWebSocket.exchange(port: server.port, keptAlive + "GET /api/realtime/health/ HTTP/1.0\r\n\r\n")
            #expect(both.ended && both.statuses == [200, 200], "\(both)")
        }
    }

    @Test("a WebSocket upgrade with a wrong version is 426 with Sec-WebSocket-Version: 13, without a key 400; both closed")
    func webSocketHandshake() async throws {
        try await withServer { server in
            let token = await Tokens.hs256()
            let start = "GET /ws?token=\(token) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            let version8 = try await RawWebSocket.exchange(
                port: server.port,
                start + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
            )
            #expect(version8.ended && version8.status == 426 && version8.header("sec-websocket-version") == "13", "\(version8)")
            #expect(version8.errorCode == "upgrade_required")
            let noVersion = try await RawWebSocket.exchange(port: server.port, start + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            #expect(noVersion.ended && noVersion.status == 426, "\(noVersion)")
            let noKey = try await RawWebSocket.exchange(port: server.port, start + "Sec-WebSocket-Version: 13\r\n\r\n")
            #expect(noKey.ended && noKey.status == 400 && noKey.errorCode == "malformed_request", "\(noKey)")
            // The well-formed handshake still upgrades.
            let good = try await RawWebSocket(port: server.port, path: "/ws?token=\(token)").readUntilText(containing: "connection.established")
            #expect(String(decoding: good, as: UTF8.self).hasPrefix("HTTP/1.1 101"))
        }
    }

    @Test("sockets over MAX_OPEN_SOCKETS, upgraded or not, are answered 503 and closed at once; a released one makes room")
    func socketLimit() async throws {
        let fourSockets: (inout ServerConfiguration) -> Void = { $0.maxOpenSockets = 4 }
        try await withServer(fourSockets) { server in
            let token = await Tokens.hs256()
            let webSocket = try RawWebSocket(port: server.port, path: "/ws?token=\(token)")
            _ = try await webSocket.readUntilText(containing: "connection.established")
            var open: [RawWebSocket] = []
            for _ in 0..<3 {
                // Each served a request, so each is counted: none of them is the one refused below.
                let socket = try RawWebSocket(port: server.port)
                socket.send(bytes: Array(Self.health.utf8))
                #expect(await socket.responses(1).statuses == [200])
                open.append(socket)
            }
            let refused = try await RawWebSocket(port: server.port).answer()
            #expect(refused.ended && refused.status == 503 && refused.errorCode == "unavailable", "\(refused)")
            open.removeAll()
            let served = try await eventuallyValue("a socket is served once one closed") { () async throws -> RawAnswer? in
                let socket = try RawWebSocket(port: server.port)
                socket.send(bytes: Array(Self.health.utf8))
                let answer = await socket.responses(1)
                return answer.status == 200 ? answer : nil
            }
            #expect(served.status == 200)
            _ = webSocket
        }
    }
}
