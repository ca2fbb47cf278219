import GatewayModel
import GatewaySession
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// `GET /ws`: every upgrade is accepted, so that a bad token is answered with close code 4001 the browser
/// can see (SPEC §3). Then one task reads client messages into the ``Gateway`` while another drains the
/// connection's ``Outbox`` to the socket.
struct WebSocketRoute {
    let gateway: Gateway
    let authenticator: Authenticator
    let maxMessageBytes: Int

    func register(on router: Router<GatewayRequestContext>) {
        router.ws("/ws") { _, _ in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            await run(inbound: inbound, outbound: outbound, request: context.request, ip: context.requestContext.clientIP)
        }
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request, ip: String?) async {
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
        switch await gateway.open(principal: principal, expiresAtMillis: verified.expiresAtMillis) {
        case .failure(let refusal):
            try? await outbound.close(Self.code(refusal.code), reason: refusal.reason)
            return
        case .success(let opened): session = opened
        }
        defer { gateway.close(session) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await write(session.outbox, to: outbound) }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: maxMessageBytes) {
                        switch message {
                        case .text(let text): await gateway.handle(session, text: text)
                        case .binary: await gateway.handle(session, text: "")
                        }
                    }
                } catch {
                    // Oversized or malformed frames end the stream; WSCore has sent the close code.
                }
                session.outbox.close(code: 1000, reason: "")
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Drains the outbox until it asks to close.
    private func write(_ outbox: Outbox, to outbound: WebSocketOutboundWriter) async {
        while true {
            switch await outbox.next() {
            case .frames(let frames):
                for frame in frames {
                    do {
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
                    } catch {
                        return
                    }
                }
            case .close(let code, let reason):
                try? await outbound.close(Self.code(code), reason: reason)
                return
            }
        }
    }

    static func code(_ value: UInt16) -> WebSocketErrorCode {
        switch value {
        case 1000: .normalClosure
        case 1001: .goingAway
        default: .unknown(value)
        }
    }
}
