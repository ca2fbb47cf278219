import GatewayModel
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Each accepted connection: HTTP/1.1 answered by Hummingbird's responder, or, for `GET /ws` with an
/// upgrade, a WebSocket served by a ``WebSocketConnectionHandler`` in the channel's pipeline. Once upgraded
/// the connection holds no Swift task (``handle(value:logger:)`` returns at once), so an idle WebSocket
/// costs its channel, the handler and its session, a few kilobytes.
///
/// ``FlushCoalescingHandler`` sits at the head of every pipeline, so it survives the upgrade.
/// ``HTTPRequestGuard`` sits right after NIO's request decoder and holds each request to ``HTTPLimits``
/// until the connection upgrades. Every socket counts against ``SocketBudget`` until it closes.
struct GatewayChildChannel: HTTPChannelHandler {
    enum Upgrade: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade request for another path, or a malformed one: answered with 400.
        case refusedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case webSocket
    }

    struct Value: ServerChildChannelValue {
        let upgrade: EventLoopFuture<Upgrade>
        let channel: any Channel
    }

    let responder: Responder
    let http: HTTP1Channel.Configuration
    let webSocket: WebSocketConnectionHandler.Settings
    let limits: HTTPLimits
    let sockets: SocketBudget

    /// A socket over ``SocketBudget``, answered 503 and closed.
    struct SocketLimitReached: Error {}

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard sockets.admit() else {
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(SocketLimitRefusal())
                return Value(upgrade: channel.eventLoop.makeFailedFuture(SocketLimitReached()), channel: channel)
            }
        }
        let sockets = self.sockets
        channel.closeFuture.whenComplete { _ in sockets.release() }
        let limits = self.limits
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(FlushCoalescingHandler(), position: .first)
            // Before the first read: NIO keeps the first receive buffer for the connection's lifetime.
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: DoublingRecvAllocator())
            let attempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let settings = webSocket
            let upgrader = NIOTypedWebSocketServerUpgrader<Upgrade>(
                maxFrameSize: settings.maxMessageBytes,
                // Codec errors are answered by WebSocketConnectionHandler, which lets the client answer too.
                enableAutomaticErrorHandling: false,
                shouldUpgrade: { channel, head in
                    attempted.value = true
                    let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                    let isGateway = head.method == .GET && (path == "/ws" || path == "/ws/")
                    return channel.eventLoop.makeSucceededFuture(isGateway ? HTTPHeaders() : nil)
                },
                upgradePipelineHandler: { channel, head in
                    channel.eventLoop.makeCompletedFuture {
                        // WebSocket frames flow from now on: the HTTP limits are done with.
                        let requestGuard = try channel.pipeline.syncOperations.handler(type: HTTPRequestGuard.self)
                        channel.pipeline.syncOperations.removeHandler(requestGuard, promise: nil)
                        let opening = WebSocketConnectionHandler.Opening(head: head, ip: channel.remoteAddress?.ipAddress)
                        try channel.pipeline.syncOperations.addHandler(WebSocketConnectionHandler(settings: settings, opening: opening))
                        return .webSocket
                    }
                }
            )
            let http = self.http
            let configuration = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(http.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http.idleTimeout.map { Duration($0) }, logger: logger)
                        )
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        return attempted.value ? .refusedUpgrade(asyncChannel) : .http(asyncChannel)
                    }
                }
            )
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration<Upgrade>(upgradeConfiguration: configuration)
            pipeline.enablePipelining = false  // requests are taken one at a time by NIOAsyncChannel
            pipeline.enableErrorHandling = false  // Hummingbird answers errors
            pipeline.enableResponseHeaderValidation = false  // swift-http-types validates
            // The request line's target and every header name and value count against one budget (so does any
            // single field); over it, or over the field count, the decoder fails and the guard answers 431.
            pipeline.decoderConfiguration.maxHeaderFieldSize = limits.maxHeaderBytes
            pipeline.decoderConfiguration.maxHeaderListSize = limits.maxHeaderBytes
            pipeline.decoderConfiguration.maxHeaderFieldCount = limits.maxHeaderCount
            let upgrade = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(HTTPRequestGuard(limits: limits), position: .after(decoder))
            return Value(upgrade: upgrade, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgrade.get() {
            case .http(let channel): await handleHTTP(asyncChannel: channel, logger: logger)
            case .refusedUpgrade(let channel): await refuse(channel, logger: logger)
            case .webSocket: return  // served by the pipeline from now on
            }
        } catch {
            logger.trace("connection ended before a request", metadata: [LogKey.error: "\(error)"])
        }
    }

    /// Answers a refused upgrade with 400 and closes.
    private func refuse(_ channel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        do {
            try await channel.executeThenClose { _, outbound in
                let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                try await outbound.write(contentsOf: [.head(head), .end(nil)])
            }
        } catch {
            logger.trace("could not answer a refused upgrade", metadata: [LogKey.error: "\(error)"])
        }
    }
}
