import Foundation
import GatewayServer
import GatewaySession
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

    /// A small outbox, and no ping or idle timeout that could end a paused connection first.
    static let smallOutbox: @Sendable (inout ServerConfiguration) -> Void = {
        $0.outboxLimitBytes = 256 << 10
        $0.maxMessageBytes = 4 << 20
        $0.pingIntervalSeconds = 3600
        $0.idleTimeoutSeconds = 7200
    }

    /// A subscribed socket.
    func subscribed(_ server: TestServer) async throws -> TestSocket {
        let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
        _ = try await socket.next(type: "connection.established")
        try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
        _ = try await socket.next(type: "subscription.confirmed")
        return socket
    }

    /// Publishes batches of two 100 KB events (200 KB, within the 256 KiB limit) starting at `first`, each read
    /// by `reader` before the next is published, until `stop` holds after a batch or `count` events went out.
    /// A paused client falls behind by everything published, far past its kernel buffers. Returns the count.
    func publishInBatches(
        _ server: TestServer,
        from first: Int = 0,
        count: Int,
        to reader: TestSocket,
        until stop: () async throws -> Bool = { false }
    ) async throws -> Int {
        let service = await Tokens.service()
        let padding = String(repeating: "p", count: 100_000)
        var received = first
        for start in stride(from: first, to: first + count, by: 2) {
            let events = (start..<start + 2).map {
                ["event_type": "deal.stage.updated", "data": ["company_id": "123", "n": $0, "pad": padding]]
            }
            let reply = try await TestHTTP.post(server.http + "/api/realtime/publish/batch/", token: service, json: ["events": events])
            #expect(reply.status == 202)
            while received < start + 2 {
                _ = try await reader.next(type: "event")
                received += 1
            }
            if try await stop() { break }
        }
        return received - first
    }

    /// A client that never reads cannot be told why it is dropped: its close frame queues behind bytes it never
    /// reads, and the server, which must not hold a dead reader's buffers, cuts the connection after a short wait.
    /// What holds whatever the machine's speed: the server lets go of it, and the reading client misses nothing.
    @Test("a client that stops reading is dropped as a slow consumer while a reading client gets everything")
    func slowConsumer() async throws {
        try await withServer(Self.smallOutbox) { server in
            let slow = try await subscribed(server)
            let fast = try await subscribed(server)
            let droppedBefore = try await server.metric("event_dropped_total")
            let disconnectedBefore = try await server.metric("websocket_disconnected_total")
            slow.pause(true)
            #expect(try await publishInBatches(server, count: 200, to: fast) == 200)
            // The server side: the slow consumer's session is gone (the reading one remains), counted as a
            // disconnect, and the events it could not take were counted as dropped.
            try await eventually("the server let go of the slow consumer") {
                let disconnected = try await server.metric("websocket_disconnected_total")
                return server.gateway.activeConnections == 1 && disconnected == disconnectedBefore + 1
            }
            #expect(try await server.metric("event_dropped_total") > droppedBefore)
            // The client side: once it reads again, the connection has ended. The close frame reaches it only if
            // it got into the socket before the cut (1008); otherwise the client sees no close frame (1006).
            slow.pause(false)
            let close = try await slow.waitForClose()
            #expect(close.code == 1006 || (close.code == 1008 && close.reason == "slow consumer"), "\(close)")
            // The reading client is still served.
            try await fast.send(json: ["type": "ping"])
            _ = try await fast.next(type: "pong")
            await fast.close()
        }
    }

    /// The server waits for a slow consumer to read for a short while, and as long as it keeps reading towards
    /// the close frame: a client that reads again as soon as it is dropped gets 1008 "slow consumer".
    @Test("a slow consumer that reads again is told why it was dropped: 1008 slow consumer")
    func slowConsumerReadsAgain() async throws {
        try await withServer(Self.smallOutbox) { server in
            let slow = try await subscribed(server)
            let fast = try await subscribed(server)
            let droppedBefore = try await server.metric("event_dropped_total")
            slow.pause(true)
            let published = try await publishInBatches(server, count: 600, to: fast) {
                try await server.metric("event_dropped_total") > droppedBefore
            }
            // The slow consumer resumes reading right after the server dropped an event for it (closing it).
            slow.pause(false)
            #expect(try await server.metric("event_dropped_total") > droppedBefore, "no event dropped after \(published) events")
            let close = try await slow.waitForClose()
            #expect(close.code == 1008, "\(close)")
            #expect(close.reason == "slow consumer")
            try await eventually("the server let go of the slow consumer") { server.gateway.activeConnections == 1 }
            await fast.close()
        }
    }

    @Test("a connection that answers no pings is closed after the ping interval")
    func unansweredPings() async throws {
        try await withServer(quickPings) { server in
            let answering = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256())")
            _ = try await answering.next(type: "connection.established")
            let frozen = try RawWebSocket(port: server.port, path: "/ws?token=\(await Tokens.hs256())")
            // Closed by the pinger (its reason says so), not by anything else, whatever the time it took.
            let (bytes, ended) = await frozen.readUntilClosedOffPool()
            #expect(ended, "the server closed the frozen connection")
            let close = RawWebSocket.closeFrame(in: bytes)
            #expect(close?.code == 1001 && close?.reason == "ping timeout", "\(String(describing: close))")
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
