import ArgumentParser
import Foundation
import GatewayModel
import GatewayServer
import GatewaySession
import JWTKit
import Logging

/// `serve`: runs the gateway (SPEC §1, §8). Flags override environment variables.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway.",
        discussion: """
            Configuration comes from the environment (EVENT_BUS_BACKEND, JWT_SECRET, POLICY_PATH, DATA_DIR, HOST, PORT, ...;
            see the README), and the flags below override it. Without --dev a JWT key must be configured.
            """
    )

    @Flag(help: "Embedded default for a first run: memory bus, SQLite log under ./data, an ephemeral secret and a printed token.")
    var dev = false

    @Option(help: "Listen address (HOST).")
    var host: String?

    @Option(help: "Listen port (PORT); 0 picks a free one.")
    var port: Int?

    @Option(help: "The region this node holds data for (NODE_REGION): it serves only companies that allow it. Without it, every company.")
    var region: String?

    @Option(name: .customLong("policy"), help: "Policy file or folder (POLICY_PATH).")
    var policyPath: String?

    @Option(name: .customLong("data-dir"), help: "Where the event log lives (DATA_DIR).")
    var dataDir: String?

    @Option(help: "memory, redis, nats or kafka (EVENT_BUS_BACKEND).")
    var backend: String?

    @Option(name: .customLong("max-connections"), help: "MAX_CONNECTIONS.")
    var maxConnections: Int?

    @Option(name: .customLong("log-format"), help: "json or text (LOG_FORMAT).")
    var logFormat: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (LOG_LEVEL).")
    var logLevel: String?

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        if let host { environment["HOST"] = host }
        if let port { environment["PORT"] = String(port) }
        if let region { environment["NODE_REGION"] = region }
        if let policyPath { environment["POLICY_PATH"] = policyPath }
        if let dataDir { environment["DATA_DIR"] = dataDir }
        if let backend { environment["EVENT_BUS_BACKEND"] = backend }
        if let maxConnections { environment["MAX_CONNECTIONS"] = String(maxConnections) }
        if let logFormat { environment["LOG_FORMAT"] = logFormat }
        if let logLevel { environment["LOG_LEVEL"] = logLevel }
        if dev && environment["LOG_FORMAT"] == nil { environment["LOG_FORMAT"] = "text" }
        var configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration(environment: environment)
        } catch {
            throw CLIFailure.usage(error.description)
        }
        configuration.dev = dev
        Self.bootstrapLogging(configuration)
        var logger = Logger(label: "realtime-gateway")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let application: GatewayApplication
        do {
            application = try await GatewayApplication(configuration: configuration, logger: logger)
        } catch {
            throw CLIFailure.usage(error.description)
        }
        let secret = application.developmentSecret
        let region = configuration.nodeRegion?.rawValue ?? "all"
        let log = logger
        try await application.run { port in
            if let secret { await Self.printDevelopmentBanner(configuration: application.configuration, port: port, secret: secret) }
            log.info("listening", metadata: [LogKey.event: "server.started", "port": "\(port)", LogKey.region: "\(region)"])
        }
    }

    static func bootstrapLogging(_ configuration: ServerConfiguration) {
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    static func printDevelopmentBanner(configuration: ServerConfiguration, port: Int, secret: String) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        func mint(user: String, company: String?, roles: [String]) async -> String {
            let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            let claims = GatewayClaims(
                user: user,
                companyID: company,
                roles: roles,
                issuedAt: now,
                expiresAt: now.addingTimeInterval(12 * 3600),
                issuer: configuration.jwtIssuer,
                audience: configuration.jwtAudience
            )
            return (try? await keys.sign(claims)) ?? ""
        }
        let user = await mint(user: "1", company: "123", roles: ["sales"])
        let service = await mint(user: "backend", company: nil, roles: ["service"])
        let admin = await mint(user: "ops", company: nil, roles: ["admin"])
        let base = "http://\(configuration.host == "0.0.0.0" ? "localhost" : configuration.host):\(port)"
        Output.line(
            """

            realtime-gateway --dev is running on \(base) (region \(configuration.nodeRegion?.rawValue ?? "all, no --region"), policies from \(configuration.policyPath), log in \(configuration.dataDir)/)
            Ephemeral JWT_SECRET (valid until this process stops): \(secret)

            A browser token (user 1, company 123, role sales):
              \(user)
            A publisher token (role service, any company):
              \(service)

            Subscribe (browser console on \(base)/api/realtime/health/):
              const ws = new WebSocket('\(base.replacingOccurrences(of: "http", with: "ws"))/ws?token=\(user)&company_id=123');
              ws.onmessage = (m) => console.log(JSON.parse(m.data));
              ws.onopen = () => ws.send(JSON.stringify({type: 'subscribe', topics: ['deal.stage.*']}));

            Publish:
              curl -s -X POST \(base)/api/realtime/publish/ -H 'Authorization: Bearer \(service)' -H 'Content-Type: application/json' \\
                -d '{"event_type":"deal.stage.updated","data":{"company_id":"123","deal_id":456,"old_stage":"prospecting","new_stage":"qualification"}}'

            Long-poll:
              curl -s '\(base)/api/realtime/poll/?topics=deal.stage.*&timeout=30&company_id=123' -H 'Authorization: Bearer \(user)'

            Operations dashboard (an admin token in the URL fragment, which the browser never sends to the server):
              \(base)/dashboard#token=\(admin)

            """
        )
    }
}
