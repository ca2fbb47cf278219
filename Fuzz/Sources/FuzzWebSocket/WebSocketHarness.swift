import Dispatch
import Foundation
import GatewayModel
import GatewaySession
import JWTKit
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
import Synchronization

@testable import GatewayServer

/// The smallest real gateway the server tests build (the integration suite's policy, an HS256 secret,
/// a scratch data directory, no listening socket), shared by every fuzz input, and one testing event loop
/// (the handler's ping and write helpers are per event loop).
final class WebSocketHarness: Sendable {
    static let shared = WebSocketHarness.make()

    static let secret = "fuzz-websocket-secret-0123456789abcdef"
    /// The largest frame the decoder accepts, small so that the fuzzer reaches the limit.
    static let maxMessageBytes = 4096

    let loop = NIOAsyncTestingEventLoop()
    let settings: WebSocketConnectionHandler.Settings
    let token: String

    private init(settings: WebSocketConnectionHandler.Settings, token: String) {
        self.settings = settings
        self.token = token
    }

    /// Feeds `bytes` to a freshly admitted connection and closes it.
    func run(_ bytes: [UInt8]) async {
        let channel = NIOAsyncTestingChannel(loop: loop)
        let settings = self.settings
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws?token=\(token)&company_id=123")
        do {
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
            try await loop.executeInContext {
                let opening = WebSocketConnectionHandler.Opening(head: head, ip: "127.0.0.1")
                try channel.pipeline.syncOperations.addHandlers(
                    WebSocketFrameEncoder(),
                    ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: Self.maxMessageBytes)),
                    WebSocketConnectionHandler(settings: settings, opening: opening)
                )
            }
            // connection.established (or a close frame) says the admission is over.
            _ = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            try await channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {
            // Errors the pipeline passed on: the handler decided what to answer.
        }
        for _ in 0..<4 { await Task.yield() }
        _ = try? await channel.finish(acceptAlreadyClosed: true)
    }

    private static func make() -> WebSocketHarness {
        let made = DispatchSemaphore(value: 0)
        let box = Mutex<WebSocketHarness?>(nil)
        Task {
            let harness = await build()
            box.withLock { $0 = harness }
            made.signal()
        }
        made.wait()
        return box.withLock { $0 }!
    }

    private static func build() async -> WebSocketHarness {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.jwtSecret = secret
        configuration.policyPath =
            URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().appendingPathComponent("../../../Tests/GatewayServerTests/Fixtures/policy.yaml").standardized.path
        configuration.dataDir = NSTemporaryDirectory() + "fuzz-websocket-" + UUID().uuidString
        configuration.maxMessageBytes = maxMessageBytes
        try? FileManager.default.createDirectory(atPath: configuration.dataDir, withIntermediateDirectories: true)
        var logger = Logger(label: "fuzz-websocket")
        logger.logLevel = .critical
        do {
            let application = try await GatewayApplication(configuration: configuration, logger: logger)
            let authenticator = try await Authenticator(keys: .hmac(secret: secret))
            let settings = WebSocketConnectionHandler.Settings(
                gateway: application.gateway,
                authenticator: authenticator,
                maxMessageBytes: maxMessageBytes,
                outboxLimitBytes: 1 << 20,
                pingInterval: .seconds(30)
            )
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            let now = Date()
            let claims = GatewayClaims(
                user: "fuzz",
                companyID: "123",
                roles: ["sales"],
                issuedAt: now,
                expiresAt: now.addingTimeInterval(30 * 86_400)
            )
            return WebSocketHarness(settings: settings, token: try await keys.sign(claims))
        } catch {
            fatalError("cannot build the fuzzing gateway: \(error)")
        }
    }
}
