import GatewayModel
import GatewaySession
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// `GET /ws`: every upgrade is accepted, so that a bad token is answered with close code 4001 the browser
/// can see (SPEC §3). Then one task reads client messages into the ``Gateway`` while another waits for a
/// close request; frames themselves go straight to the channel (``ChannelFrameSink``).
struct WebSocketRoute {
    let gateway: Gateway
    let authenticator: Authenticator
    let maxMessageBytes: Int
    let outboxLimitBytes: Int

    func register(on router: Router<GatewayRequestContext>) {
        router.ws("/ws") { _, _ in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            try await run(
                inbound: inbound,
                outbound: outbound,
                request: context.request,
                channel: context.requestContext.channel,
                ip: context.requestContext.clientIP
            )
        }
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request, channel: any Channel, ip: String?) async throws {
        guard let token = HTTPRoutes.token(of: request) else {
            try? await outbound.close(.unknown(4001), reason: "missing token")
            return
        }
        let verified: Authenticator.Verified
        do {
            verified = try await authenticator.verify(token)
        } catch {
            try? await outbound.close(.unknown(4001), reason: String(error.description.prefix(32)))
            return
        }
        var principal = verified.principal
        principal.ip = ip
        // `?company_id=` (the reference client sends it) must agree with the token.
        if let asked = request.uri.queryParameters.get("company_id"), !asked.isEmpty, asked != principal.companyID?.rawValue {
            try? await outbound.close(.unknown(4003), reason: "company_id mismatch")
            return
        }
        let session: Session
        let sink = ChannelFrameSink(channel: channel, limitBytes: outboxLimitBytes)
        switch await gateway.open(principal: principal, expiresAtMillis: verified.expiresAtMillis, sink: sink) {
        case .failure(let refusal):
            try? await outbound.close(Self.code(refusal.code), reason: refusal.reason)
            return
        case .success(let opened): session = opened
        }
        defer { gateway.close(session) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let request = await session.outbox.closeRequested()
                await close(channel: channel, sink: sink, outbound: outbound, code: request.code, reason: request.reason)
            }
            group.addTask {
                do {
                    // Read until the client's close frame (or the end of the stream), also after the server
                    // asked to close: the reply to our close frame arrives here, and whatever the client sent
                    // before it is read, so the socket is not closed on unread bytes (which would reset the
                    // connection and could lose our close frame). Messages after a close request are dropped.
                    for try await message in inbound.messages(maxSize: maxMessageBytes) where !session.outbox.isClosing {
                        switch message {
                        case .text(let text): await gateway.handle(session, text: text)
                        case .binary: await gateway.handle(session, text: "")
                        }
                    }
                } catch {
                    // A frame was refused (too large, invalid UTF-8): swift-websocket closes with its code once
                    // this rethrows; release the close waiter without a close of our own.
                    session.outbox.close(code: Self.transportCloses, reason: "")
                    throw error
                }
                // The client closed, or answered our close.
                session.outbox.close(code: 1000, reason: "")
            }
            defer { group.cancelAll() }
            // The reader ends the connection; the closer only ends first when it had to cut the connection.
            try await group.next()
        }
    }

    /// Sends a close frame, then cuts the connection if the peer has not completed the close in time. A slow
    /// consumer is not reading, so its frame goes straight into the channel after what is queued, and the
    /// connection is cut two seconds later; other closes take the normal handshake, cut after five seconds.
    private func close(channel: any Channel, sink: ChannelFrameSink, outbound: WebSocketOutboundWriter, code: UInt16, reason: String) async {
        if code == Self.transportCloses { return }
        let deadline = ContinuousClock.now + .seconds(code == 1008 ? 2 : 5)
        if code == 1008 {
            sink.sendClose(code: code, reason: reason)
        } else {
            // The frame goes through swift-websocket's writer, which waits while the channel is full.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await outbound.close(Self.code(code), reason: reason) }
                group.addTask { try? await Task.sleep(until: deadline) }
                await group.next()
                group.cancelAll()
            }
        }
        // Cancelled once the reader has seen the client's close (or the end of the stream).
        guard (try? await Task.sleep(until: deadline)) != nil else { return }
        channel.close(promise: nil)
    }

    /// A close request meaning "the WebSocket layer is closing by itself".
    static let transportCloses: UInt16 = 0

    static func code(_ value: UInt16) -> WebSocketErrorCode {
        switch value {
        case 1000: .normalClosure
        case 1001: .goingAway
        default: .unknown(value)
        }
    }
}
