import Foundation
import GatewayServer
import GatewaySession
import Testing

/// The WebSocket stage's framing rules (RFC 6455), driven over a raw socket: fragmented messages are
/// assembled, and every protocol breach gets its close code.
@Suite("WebSocket framing", .serialized)
struct WebSocketFramingTests {
    /// A raw client with a valid token.
    func connected(_ server: TestServer) async throws -> RawWebSocket {
        try RawWebSocket(port: server.port, path: "/ws?token=\(await Tokens.hs256())")
    }

    @Test("a text message in three fragments, with a ping between them, is one message")
    func fragments() async throws {
        try await withServer { server in
            let socket = try await connected(server)
            socket.send(text: #"{"type":"#, fin: false)
            socket.send(opcode: 0x9, payload: Array("hi".utf8))  // a control frame may come between fragments
            socket.send(text: #""pi"#, opcode: 0x0, fin: false)
            socket.send(text: #"ng"}"#, opcode: 0x0, fin: true)
            // Messages sent while the token is being verified wait for the session; a close right away would
            // drop them, so the client closes once the message has been answered.
            let answered = try await socket.readUntilText(containing: #""type":"pong""#)
            socket.send(opcode: 0x8, payload: [0x03, 0xE8])
            let (rest, ended) = await socket.readUntilClosedOffPool()
            let bytes = answered + rest
            #expect(ended)
            let types = RawWebSocket.texts(in: bytes).compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["type"] as? String
            }
            #expect(types == ["connection.established", "pong"])
            // The client's close (1000) is answered with 1000.
            #expect(RawWebSocket.closeCode(in: bytes) == 1000)
        }
    }

    @Test(
        "protocol breaches get their close codes",
        arguments: [
            ("unmasked frame", UInt16(1002)),
            ("continuation without a message", 1002),
            ("invalid UTF-8", 1007),
            ("fragments over the limit", 1009),
            ("frame over the limit", 1009),
            ("unknown opcode", 1002),
            ("reserved bit set", 1002),
        ]
    )
    func breaches(name: String, code: UInt16) async throws {
        let small: (inout ServerConfiguration) -> Void = { $0.maxMessageBytes = 4096 }
        try await withServer(small) { server in
            let socket = try await connected(server)
            switch name {
            case "unmasked frame": socket.send(opcode: 0x1, masked: false, payload: Array(#"{"type":"ping"}"#.utf8))
            case "continuation without a message": socket.send(text: "x", opcode: 0x0)
            case "invalid UTF-8": socket.send(opcode: 0x1, payload: [0x7B, 0xC3, 0x28, 0x7D])
            case "fragments over the limit":
                socket.send(text: String(repeating: "x", count: 3000), fin: false)
                socket.send(text: String(repeating: "x", count: 3000), opcode: 0x0, fin: true)
            case "frame over the limit": socket.send(text: String(repeating: "x", count: 8000))
            case "reserved bit set": socket.send(opcode: 0x1, reservedBits: 0x40, payload: Array(#"{"type":"ping"}"#.utf8))
            default: socket.send(opcode: 0x3, payload: [])
            }
            let (bytes, ended) = await socket.readUntilClosedOffPool(answersClose: true)
            #expect(ended, "\(name): the server ended the connection")
            #expect(RawWebSocket.closeCode(in: bytes) == code, "\(name)")
            // Nothing is left behind.
            #expect(try await connectionsLeft(server) == 0, "\(name)")
        }
    }

    @Test("a binary message is answered 'binary frames are not supported' (invalid_message) and counts toward 4008 like any invalid message")
    func binaryMessages() async throws {
        try await withServer { server in
            let socket = try await connected(server)
            socket.send(opcode: 0x2, payload: Array(#"{"type":"ping"}"#.utf8))
            socket.send(text: #"{"type":"ping"}"#)
            let answered = try await socket.readUntilText(containing: #""type":"pong""#)
            let errors = RawWebSocket.texts(in: answered).compactMap { text -> [String: Any]? in
                let message = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                return message?["type"] as? String == "error" ? message?["data"] as? [String: Any] : nil
            }
            #expect(errors.count == 1)
            #expect(errors.first?["code"] as? String == "invalid_message")
            #expect((errors.first?["message"] as? String)?.contains("binary frames are not supported") == true, "\(errors)")
            // Ten invalid messages in a row close the connection with 4008, binary or not.
            for _ in 0..<10 { socket.send(opcode: 0x2, payload: [0x00, 0xFF]) }
            let (rest, ended) = await socket.readUntilClosedOffPool(answersClose: true)
            #expect(ended)
            #expect(RawWebSocket.closeCode(in: answered + rest) == 4008)
        }
    }

    @Test("a client that drops the TCP connection without a close frame is released at once, not at the next ping")
    func droppedWithoutClose() async throws {
        // No ping or idle timeout within the test's patience: only the FIN can release the connection.
        let noPings: (inout ServerConfiguration) -> Void = {
            $0.pingIntervalSeconds = 3600
            $0.idleTimeoutSeconds = 7200
        }
        try await withServer(noPings) { server in
            let socket = try await connected(server)
            try await eventually("the session is admitted") { server.gateway.activeConnections == 1 }
            socket.shutdownWriting()
            let (_, ended) = await socket.readUntilClosedOffPool()
            #expect(ended)
            #expect(try await connectionsLeft(server) == 0)
        }
    }

    @Test("an upgrade asked for on a reused keep-alive connection is redirected to a new one; a plain GET /ws is told to upgrade")
    func upgradeOnKeepAlive() async throws {
        try await withServer { server in
            let socket = try RawWebSocket(port: server.port)
            let upgrade =
                "GET /ws?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            socket.send(raw: "GET /api/realtime/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + upgrade)
            let (bytes, ended) = await socket.readUntilClosedOffPool()
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(ended, "the connection is closed after the redirect")
            #expect(text.hasPrefix("HTTP/1.1 200"))
            #expect(text.contains("HTTP/1.1 307"))
            #expect(text.lowercased().contains("location: /ws?token=x"))
            let plain = try await TestHTTP.get(server.http + "/ws")
            #expect(plain.status == 426)
            #expect((plain.json["error"] as? [String: Any])?["code"] as? String == "upgrade_required")
        }
    }

    @Test("nothing follows the close frame: a flooding client's pongs stop at the 4029 close")
    func nothingAfterClose() async throws {
        try await withServer { server in
            for round in 0..<5 {
                let socket = try RawWebSocket(port: server.port, path: "/ws?token=\(await Tokens.hs256(user: "after-close-\(round)"))")
                let established = try await socket.readUntilText(containing: #""type":"connection.established""#)
                for _ in 0..<300 { socket.send(text: #"{"type":"ping"}"#) }
                let (rest, ended) = await socket.readUntilClosedOffPool(answersClose: true)
                let bytes = established + rest
                let frames = RawWebSocket.frames(in: bytes)
                #expect(ended, "round \(round)")
                #expect(frames.last?.opcode == 0x8, "round \(round): the close frame is the last frame")
                #expect(RawWebSocket.closeCode(in: bytes) == 4029, "round \(round)")
            }
        }
    }

    @Test("one ping timer serves many connections: frozen ones are closed (1001), answering ones live, closed ones leave it")
    func sharedPinger() async throws {
        try await withServer(quickPings) { server in
            var answering: [TestSocket] = []
            for _ in 0..<4 {
                let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
                _ = try await socket.next(type: "connection.established")
                answering.append(socket)
            }
            let frozenWithToken = try await (0..<3).asyncMap { _ in try RawWebSocket(port: server.port, path: "/ws?token=\(await Tokens.hs256())") }
            // Two answering clients leave; the pinger must keep serving the rest.
            await answering[0].close()
            await answering[2].close()
            // Each is closed by the pinger (its reason says so), whatever the time it took.
            for socket in frozenWithToken {
                let (bytes, ended) = await socket.readUntilClosedOffPool()
                let close = RawWebSocket.closeFrame(in: bytes)
                #expect(ended && close?.code == 1001 && close?.reason == "ping timeout", "\(String(describing: close))")
            }
            for socket in [answering[1], answering[3]] {
                try await socket.send(json: ["type": "ping"])
                #expect(try await socket.next(type: "pong")["type"] as? String == "pong")
                await socket.close()
            }
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
