import Foundation
import GatewayServer
import Testing

/// Limits on connections: connect rate limits, slow consumers and connections that stop answering.
@Suite("Connection limits", .serialized)
struct ConnectionLimitsTests {
    @Test("connects over the policy's connect limit are closed with 4029")
    func connectRateLimit() async throws {
        try await withServer { server in
            let token = await Tokens.hs256(user: "connect-limit", company: "555")
            var open: [TestSocket] = []
            for _ in 0..<2 {
                let socket = try await TestSocket(url: server.ws + "/ws?token=\(token)")
                _ = try await socket.next(type: "connection.established")
                open.append(socket)
            }
            let close = try await RawWebSocket.refusal(port: server.port, path: "/ws?token=\(token)")
            #expect(close.code == 4029)
            #expect(close.reason.hasPrefix("rate limited"))
            for socket in open { await socket.close() }
        }
    }

    @Test("a client that stops reading is dropped as a slow consumer (1008) while a reading client gets everything")
    func slowConsumer() async throws {
        let small: (inout ServerConfiguration) -> Void = {
            $0.outboxLimitBytes = 256 << 10
            $0.maxMessageBytes = 4 << 20
            $0.pingIntervalSeconds = 3600
            $0.idleTimeoutSeconds = 7200
        }
        try await withServer(small) { server in
            let token = await Tokens.hs256()
            func subscribed() async throws -> TestSocket {
                let socket = try await TestSocket(url: server.ws + "/ws?token=\(token)")
                _ = try await socket.next(type: "connection.established")
                try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
                _ = try await socket.next(type: "subscription.confirmed")
                return socket
            }
            let slow = try await subscribed()
            let fast = try await subscribed()
            slow.pause(true)
            let service = await Tokens.service()
            let padding = String(repeating: "p", count: 100_000)
            // Batches of two events (200 KB, within the 256 KiB limit) to a client that reads each batch
            // before the next is published; the paused client falls 20 MB behind, far past its kernel buffers.
            let count = 200
            var received = 0
            for start in stride(from: 0, to: count, by: 2) {
                let events = (start..<start + 2).map {
                    ["event_type": "deal.stage.updated", "data": ["company_id": "123", "n": $0, "pad": padding]]
                }
                let reply = try await TestHTTP.post(server.http + "/api/realtime/publish/batch/", token: service, json: ["events": events])
                #expect(reply.status == 202)
                while received < start + 2 {
                    _ = try await fast.next(type: "event", timeout: .seconds(30))
                    received += 1
                }
            }
            #expect(received == count)
            slow.pause(false)
            let close = try await slow.waitForClose(timeout: .seconds(30))
            #expect(close.code == 1008)
            #expect(close.reason == "slow consumer")
            let metrics = try await TestHTTP.get(server.http + "/metrics").text
            let dropped = metrics.split(separator: "\n").first { $0.hasPrefix("event_dropped_total ") }
            #expect((dropped.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0) > 0)
            await fast.close()
        }
    }

    @Test("a connection that answers no pings is closed after the ping interval")
    func unansweredPings() async throws {
        try await withServer(quickPings) { server in
            let answering = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await answering.next(type: "connection.established")
            let frozen = try RawWebSocket(port: server.port, path: "/ws?token=\(await Tokens.hs256())")
            let started = Date()
            let (bytes, ended) = await frozen.readUntilClosedOffPool(timeout: 10)
            #expect(ended, "the server closed the frozen connection")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(RawWebSocket.closeCode(in: bytes) == 1001)
            // The client that answers pings (WSClient does so automatically) is still there.
            try await answering.send(json: ["type": "ping"])
            #expect(try await answering.next(type: "pong")["type"] as? String == "pong")
            await answering.close()
        }
    }

    /// Repeated: the client is still sending when the close frame goes out, and closing the socket on
    /// unread bytes would reset the connection and could lose the close frame (seen as 1006).
    @Test("a connection flooding messages is closed with 4029, never reset before the close frame")
    func messageFlood() async throws {
        try await withServer { server in
            for round in 0..<20 {
                let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(user: "flood-\(round)"))")
                _ = try await socket.next(type: "connection.established")
                for _ in 0..<400 { try? await socket.send(#"{"type":"ping"}"#) }
                let close = try await socket.waitForClose()
                #expect(close.code == 4029, "round \(round)")
                #expect(close.reason == "message rate exceeded", "round \(round)")
            }
        }
    }
}
