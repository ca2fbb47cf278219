public import Hummingbird
public import NIOCore

/// The request context of every HTTP route: Hummingbird's core storage, the peer's address (for
/// `ip`-scoped rate limits) and the connection's channel. (WebSockets are served below Hummingbird's
/// router, by ``GatewayChildChannel``.)
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The connection's channel.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The peer's IP address as text.
    public var clientIP: String? { remoteAddress?.ipAddress }
}
