import GatewayModel
import Hummingbird
import NIOCore

extension HTTPRoutes {
    /// `GET /ws` reaching the HTTP routes: the upgrade happens only on a connection's first request (see
    /// ``GatewayChildChannel``). An upgrade asked for on a reused keep-alive connection (Safari does this) is
    /// answered with a redirect to the same address and the connection closed, so the browser upgrades on a
    /// new one; a plain request is told to upgrade (426).
    func webSocketOverHTTP(_ request: Request, _ context: GatewayRequestContext) -> Response {
        guard request.headers[.upgrade]?.lowercased() == "websocket" else {
            var response = JSONResponse.error(.upgradeRequired, message: "GET /ws is a WebSocket endpoint: send an upgrade")
            response.headers[.upgrade] = "websocket"
            return response
        }
        // Hummingbird closes a connection asked to quiesce once the response in progress is written.
        let channel = context.channel
        channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        return Response(status: .temporaryRedirect, headers: [.location: request.uri.description, .connection: "close"])
    }
}
