public import Hummingbird
public import HummingbirdWebSocket
public import NIOCore

/// The request context of every route: Hummingbird's core storage, the WebSocket upgrade slot, the
/// peer's address (for `ip`-scoped rate limits) and the connection's channel.
public struct GatewayRequestContext: RequestContext, WebSocketRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    public let remoteAddress: SocketAddress?
    /// The connection's channel (for a WebSocket, the channel that is upgraded).
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The peer's IP address as text.
    public var clientIP: String? { remoteAddress?.ipAddress }
}
