import Foundation
import GatewayModel
import GatewayServer
import GatewaySession
import GatewayTesting
import Logging
import Synchronization

/// A gateway running in this process on a free loopback port, with its own data directory and the
/// suite's policy. Stop it with ``stop()``; the data directory survives for restart tests.
final class TestServer: Sendable {
    static let secret = "integration-test-secret-0123456789abcdef"
    static let policy = RepositoryPaths.root + "/Tests/GatewayServerTests/Fixtures/policy.yaml"

    let port: Int
    let dataDir: String
    let gateway: Gateway
    let application: GatewayApplication
    private let task: Task<Void, any Error>

    var http: String { "http://127.0.0.1:\(port)" }
    var ws: String { "ws://127.0.0.1:\(port)" }

    private init(port: Int, dataDir: String, application: GatewayApplication, task: Task<Void, any Error>) {
        self.port = port
        self.dataDir = dataDir
        self.application = application
        self.gateway = application.gateway
        self.task = task
    }

    /// Starts a server; `configure` adjusts the configuration first.
    static func start(dataDir: String? = nil, _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.jwtSecret = secret
        configuration.policyPath = policy
        configuration.dataDir = dataDir ?? temporaryDirectory()
        configuration.logLevel = "warning"
        // Most suites run as a node of us-east-1 (started with `--region us-east-1`), so that
        // residency refusals are part of what they see; `nodeRegion = nil` serves every company.
        configuration.nodeRegion = "us-east-1"
        configure(&configuration)
        var logger = Logger(label: "test-gateway")
        logger.logLevel = .warning
        let application = try await GatewayApplication(configuration: configuration, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task {
            try await application.run { port in continuation.yield(port) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("server did not start") }
        return TestServer(port: port, dataDir: configuration.dataDir, application: application, task: task)
    }

    /// Stops the server (graceful shutdown) and waits for it.
    func stop() async {
        await application.shutdown()
        _ = await task.result
    }

    /// The value of the metric `name` (a series without labels) on `/metrics`; 0 when it is not there yet.
    /// Metrics are per process: compare with a value read before, in tests that run one at a time.
    func metric(_ name: String) async throws -> Double {
        let text = try await TestHTTP.get(http + "/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "gateway-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` against a fresh server and stops the server afterwards, also when `body` throws.
func withServer(
    dataDir: String? = nil,
    _ configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(dataDir: dataDir, configure)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

/// Opens a socket for `company` with `roles`, subscribed to `topics` (confirmed before it returns).
func subscriber(
    _ server: TestServer,
    company: String = "123",
    roles: [String] = ["sales"],
    topics: [String] = ["deal.stage.*"]
) async throws
    -> TestSocket
{
    let socket = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: company, roles: roles))")
    _ = try await socket.next(type: "connection.established")
    try await socket.send(json: ["type": "subscribe", "topics": topics])
    _ = try await socket.next(type: "subscription.confirmed")
    return socket
}

/// Pings every two seconds, closing peers that have not answered by the next ping (a loaded machine still
/// answers in time; a frozen peer never does).
let quickPings: @Sendable (inout ServerConfiguration) -> Void = {
    $0.pingIntervalSeconds = 2
    $0.idleTimeoutSeconds = 4
}

/// Waits (at most ``patience``) until the server holds no connection; returns how many it still holds.
func connectionsLeft(_ server: TestServer) async throws -> Int {
    try? await eventually("the server holds no connection") { server.gateway.activeConnections == 0 }
    return server.gateway.activeConnections
}
