public import EventBus
import EventStore
import Foundation
import GatewayModel
public import GatewaySession
import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import PolicyEnforcement
import PolicyLanguage
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Builds and runs the gateway from a ``ServerConfiguration``: loads and compiles the policy, opens the
/// event log, wires the bus, the rate-limit store, the authenticator and the routes, and runs them all
/// as one service group (SIGTERM/SIGINT: stop accepting, close sockets with 1001, drain the log writer).
public struct GatewayApplication: Sendable {
    /// The core, for tests and the dev banner.
    public let gateway: Gateway
    /// The configuration after defaults and `--dev`.
    public let configuration: ServerConfiguration
    /// The development secret `--dev` generated, when it did.
    public let developmentSecret: String?
    private let authenticator: Authenticator
    private let metrics: MetricsEndpoint
    private let logger: Logger
    /// The event log, the bus and the rate-limit store, built from `EVENT_BUS_BACKEND`.
    public let backends: BackendSet
    private let running = RunningGroup()
    /// Keeps the active policy in step with `POLICY_PATH`.
    let reloader: PolicyReloader

    /// Prepares everything that can fail before the port opens.
    /// - Throws: ``ConfigurationProblem`` for anything the operator must fix.
    public init(configuration: ServerConfiguration, logger: Logger) async throws(ConfigurationProblem) {
        var configuration = configuration
        try configuration.validate()
        var secret: String?
        if configuration.dev && configuration.jwtSecret == nil && configuration.jwtPublicKeyFile == nil && configuration.jwtJWKSFile == nil {
            secret = (0..<48).map { _ in String("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".randomElement()!) }.joined()
            configuration.jwtSecret = secret
        }
        self.developmentSecret = secret
        self.configuration = configuration
        self.logger = logger
        // Before anything creates a metric: swift-metrics binds each one to the factory of the moment,
        // and metrics made before the bootstrap would never reach `/metrics`.
        metrics = MetricsEndpoint()

        let compiler = PolicyCompiler(configuration: .init(defaultRegion: configuration.region, defaultRetentionDays: configuration.retentionDays))
        let (policy, sources) = try Self.compilePolicy(configuration, compiler: compiler)
        do {
            authenticator = try await Authenticator(
                keys: try Self.keySource(configuration),
                issuer: configuration.jwtIssuer,
                audience: configuration.jwtAudience
            )
        } catch let error as ConfigurationProblem {
            throw error
        } catch {
            throw ConfigurationProblem("\(error)")
        }
        backends = try Backends.make(configuration, logger: logger)
        var node = PolicyGate.Configuration(region: configuration.region, nodeRegion: configuration.nodeRegion)
        node.channelPrefix = configuration.channelPrefix
        node.gdprEnabled = configuration.gdprEnabled
        node.auditAllowedDecisions = configuration.auditAllowedDecisions
        let gate = PolicyGate(
            configuration: node,
            policy: policy,
            backends: backends,
            logger: logger
        )
        // A shared backend may still be starting (a Redis restarting beside the gateway): ask again for a while.
        let patience = ContinuousClock.now + .seconds(configuration.backend == .memory ? 0 : configuration.backendStartTimeoutSeconds)
        while true {
            do {
                try await gate.loadForgottenSubjects()
                break
            } catch {
                if ContinuousClock.now < patience {
                    try? await Task.sleep(for: .milliseconds(250))
                    continue
                }
                let place =
                    configuration.backend == .memory ? "under DATA_DIR=\(configuration.dataDir)" : "at REDIS_URL (\(configuration.redisURLForLogs))"
                throw ConfigurationProblem("cannot read the forgotten data subjects from the event log \(place): \(error)")
            }
        }
        var sessions = Gateway.Configuration()
        sessions.maxConnections = configuration.maxConnections
        sessions.memoryBudgetBytes = configuration.memoryBudgetBytes
        sessions.replayReservationBytes = Gateway.Configuration.replayReservation(outboxLimitBytes: configuration.outboxLimitBytes)
        // The fan-out queues a round's frames in the loop writers without draining; this starts the drains.
        sessions.startQueuedWrites = { LoopWriter.startAll() }
        sessions.waitForStartedWrites = { limit in await LoopWriter.waitUntilWritten(atMost: limit) }
        gateway = Gateway(configuration: sessions, gate: gate, authenticator: authenticator, logger: logger)
        reloader = PolicyReloader(path: configuration.policyPath, compiler: compiler, gateway: gateway, sources: sources, logger: logger)
    }

    private static func compilePolicy(
        _ configuration: ServerConfiguration,
        compiler: PolicyCompiler
    ) throws(ConfigurationProblem) -> (CompiledPolicy, [PolicySource]) {
        let sources: [PolicySource]
        do {
            sources = try PolicyLoader.load([configuration.policyPath])
        } catch {
            throw ConfigurationProblem("POLICY_PATH: \(error.description)")
        }
        do {
            return (try compiler.compile(sources), sources)
        } catch {
            throw ConfigurationProblem("the policy at \(configuration.policyPath) is invalid:\n" + DiagnosticFormatter.text(error.errors))
        }
    }

    private static func keySource(_ configuration: ServerConfiguration) throws -> Authenticator.KeySource {
        if let secret = configuration.jwtSecret { return .hmac(secret: secret) }
        if let path = configuration.jwtPublicKeyFile {
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationProblem("JWT_PUBLIC_KEY_FILE=\(path) cannot be read")
            }
            return .publicKeyPEM(pem)
        }
        if let path = configuration.jwtJWKSFile {
            guard let json = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationProblem("JWT_JWKS_FILE=\(path) cannot be read")
            }
            return .jwks(json: json)
        }
        throw ConfigurationProblem("no JWT key configured")
    }

    /// Runs until SIGTERM/SIGINT (or until the task is cancelled). `onRunning` receives the bound port.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router(context: GatewayRequestContext.self)
        let routes = HTTPRoutes(
            gateway: gateway,
            authenticator: authenticator,
            reloader: reloader,
            metrics: metrics,
            maxBodyBytes: configuration.maxMessageBytes
        )
        routes.register(on: router)
        let ping = max(1, min(configuration.pingIntervalSeconds, max(1, configuration.idleTimeoutSeconds / 2)))
        let webSocket = WebSocketConnectionHandler.Settings(
            gateway: gateway,
            authenticator: authenticator,
            maxMessageBytes: configuration.maxMessageBytes,
            outboxLimitBytes: configuration.outboxLimitBytes,
            pingInterval: .seconds(Int64(ping))
        )
        let limits = httpLimits()
        let sockets = socketBudget()
        // Idle keep-alive connections are closed by HTTPRequestGuard (HTTP_KEEPALIVE_TIMEOUT), not by Hummingbird.
        let server = HTTPServerBuilder { responder in
            GatewayChildChannel(responder: responder, http: HTTP1Channel.Configuration(), webSocket: webSocket, limits: limits, sockets: sockets)
        }
        let logger = self.logger
        let app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "realtime-gateway"),
            onServerRunning: { channel in
                try? await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler(logger: logger), position: .first)
                }.get()
                await onRunning(channel.localAddress?.port ?? 0)
            },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(
                // Shut down in reverse order: the core first (sockets closed with 1001, publishes drained),
                // then the HTTP server.
                // The backend parts first, so they stop last: the log closes after every user of it.
                services: backends.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [
                    .init(service: app),
                    .init(service: CoreService(gateway: gateway)),
                    .init(service: PolicyReloadService(reloader: reloader, intervalSeconds: configuration.policyWatchIntervalSeconds)),
                    .init(service: DashboardService(gateway: gateway, reloader: reloader)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        running.group.withLock { $0 = group }
        // The fan-out listens before the port opens: a client admitted at head H must get every event after H.
        do {
            try await gateway.subscribeToBus()
        } catch {
            try? await backends.log.close()
            throw error
        }
        do {
            try await group.run()
        } catch {
            try? await backends.log.close()
            throw error
        }
    }

    /// The HTTP limits of the configuration.
    private func httpLimits() -> HTTPLimits {
        var limits = HTTPLimits()
        limits.headerTimeout = .seconds(Int64(configuration.httpHeaderTimeoutSeconds))
        limits.bodyTimeout = .seconds(Int64(configuration.httpBodyTimeoutSeconds))
        limits.keepAliveTimeout = .seconds(Int64(configuration.httpKeepAliveTimeoutSeconds))
        limits.maxHeaderBytes = configuration.httpMaxHeaderBytes
        limits.maxHeaderCount = configuration.httpMaxHeaderCount
        limits.maxBodyBytes = configuration.maxMessageBytes
        return limits
    }

    /// The socket budget: `MAX_OPEN_SOCKETS` (default `MAX_CONNECTIONS + 1024`), with the soft descriptor limit
    /// raised to fit it where the hard limit allows, else lowered to fit the descriptor limit (with a warning).
    private func socketBudget() -> SocketBudget {
        let requested = configuration.maxOpenSockets ?? (configuration.maxConnections + 1024)
        let reserve = configuration.socketDescriptorReserve
        let descriptors = SocketBudget.raiseDescriptorLimit(to: requested + reserve)
        let limit = SocketBudget.effectiveLimit(requested: requested, descriptors: descriptors, reserve: reserve)
        if limit < requested {
            logger.warning(
                "MAX_OPEN_SOCKETS lowered to fit the descriptor limit (RLIMIT_NOFILE)",
                metadata: [
                    LogKey.event: "server.socket_limit_lowered", LogKey.requested: "\(requested)", LogKey.limit: "\(limit)",
                    LogKey.descriptorLimit: "\(descriptors ?? 0)",
                ]
            )
        }
        return SocketBudget(limit: limit)
    }

    /// Starts a graceful shutdown, as SIGTERM does: stop accepting, close sockets with 1001, drain, close the log.
    public func shutdown() async {
        await running.group.withLock { $0 }?.triggerGracefulShutdown()
    }
}

/// The running service group, so ``GatewayApplication/shutdown()`` can reach it.
final class RunningGroup: Sendable {
    let group = Mutex<ServiceGroup?>(nil)
}

/// The gateway core as a lifecycle service: runs the pipeline and timers; on graceful shutdown wakes
/// waiting polls, closes every connection with 1001 and drains queued publishes.
struct CoreService: Service {
    let gateway: Gateway

    func run() async throws {
        let (shutdown, requested) = AsyncStream<Void>.makeStream()
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await gateway.run() }
                group.addTask {
                    for await _ in shutdown { break }
                    await gateway.shutdown()
                }
                // The pipeline returns once it has drained after shutdown; then stop the timers too.
                try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            requested.yield()
        }
    }
}

/// Reloads the policy on file changes and on SIGHUP until graceful shutdown.
struct PolicyReloadService: Service {
    let reloader: PolicyReloader
    let intervalSeconds: Int

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if intervalSeconds > 0 { group.addTask { await reloader.watch(interval: .seconds(intervalSeconds)) } }
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) { await reloader.reload(trigger: .signal) }
                }
                await group.waitForAll()
            }
        }
    }
}

/// Feeds `/dashboard`: one snapshot a second to the admin connections that asked for it.
struct DashboardService: Service {
    let gateway: Gateway
    let reloader: PolicyReloader

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                gateway.pushDashboard(policy: HTTPRoutes.statusJSON(await reloader.status))
            }
        }
    }
}
