public import EventBus
public import EventStore
import Foundation
public import GatewayModel
import RedisBackend

/// Everything `serve` is configured with (SPEC §8): environment variables with the reference's names,
/// overridden by command-line flags. Parsing validates every value and names the variable at fault.
public struct ServerConfiguration: Sendable {
    /// `LOG_FORMAT`.
    public enum LogFormat: String, Sendable {
        case json, text
    }

    /// `EVENT_BUS_BACKEND`: which family of backends serves the log, the bus and the limits.
    public var backend: BackendKind = .memory
    public var channelPrefix = "crm.events"
    public var redisURL = "redis://127.0.0.1:6379"
    /// `REDIS_TLS_CA_FILE`, `REDIS_TLS_CERT_FILE`, `REDIS_TLS_KEY_FILE`, `REDIS_TLS_SERVER_NAME` (not in the
    /// reference): how a `rediss://` connection verifies Redis and shows itself.
    var redisTLS = RedisTLS()
    /// `REDIS_CONNECTIONS` (not in the reference): connections of the event log's pool (each pipelines).
    public var redisConnections = 4
    /// `REDIS_WAIT_REPLICAS` (not in the reference): replicas that must have an event before its 202 (`WAIT`).
    public var redisWaitReplicas = 0
    /// `REDIS_WAIT_TIMEOUT_MS` (not in the reference): how long a publish waits for them before it answers 503.
    public var redisWaitTimeoutMillis = 1_000
    /// `BACKEND_START_TIMEOUT` (not in the reference): seconds a node waits at start for a shared backend
    /// (Redis) to answer before it exits 2.
    public var backendStartTimeoutSeconds = 10
    public var natsURL = "nats://127.0.0.1:4222"
    /// `DEFAULT_REGION`: the region events are tagged with when neither the policy nor the tenant names one.
    public var region: Region = "us-east-1"
    /// `--region` (or `NODE_REGION`): the region this node holds data for; `nil` serves every company (SPEC §6.5).
    public var nodeRegion: Region?
    public var gdprEnabled = true
    /// `POLICY_AUDIT_ALLOWED`: log allowed decisions too, not only refusals.
    public var auditAllowedDecisions = false
    public var retentionDays = 365
    public var jwtSecret: String?
    public var jwtPublicKeyFile: String?
    public var jwtJWKSFile: String?
    public var jwtIssuer: String?
    public var jwtAudience: String?
    public var policyPath = "policies"
    public var dataDir = "data"
    public var host = "127.0.0.1"
    public var port = 8000
    public var maxConnections = 10_000
    public var idleTimeoutSeconds = 60
    /// `POLICY_WATCH_INTERVAL`: seconds between checks of the policy files for changes; 0 turns the watcher off
    /// (SIGHUP and the reload endpoint still reload).
    public var policyWatchIntervalSeconds = 1
    public var pingIntervalSeconds = 30
    public var maxMessageBytes = 1 << 20
    /// `HTTP_HEADER_TIMEOUT` (not in the reference): seconds for a request's headers to arrive; then 408 and close.
    public var httpHeaderTimeoutSeconds = 10
    /// `HTTP_BODY_TIMEOUT` (not in the reference): seconds for a request's body to arrive once its headers have; then 408.
    public var httpBodyTimeoutSeconds = 30
    /// `HTTP_KEEPALIVE_TIMEOUT` (not in the reference): seconds an idle keep-alive connection stays open.
    public var httpKeepAliveTimeoutSeconds = 75
    /// `HTTP_MAX_HEADER_BYTES` (not in the reference): the request target plus all header names and values; over it, 431.
    public var httpMaxHeaderBytes = 32 * 1024
    /// `HTTP_MAX_HEADER_COUNT` (not in the reference): header fields per request; over it, 431.
    public var httpMaxHeaderCount = 100
    /// `MAX_OPEN_SOCKETS` (not in the reference): client sockets open at once, upgraded or not; `nil` is
    /// `MAX_CONNECTIONS + 1024`. Lowered at start to what `RLIMIT_NOFILE` allows (see ``SocketBudget``).
    public var maxOpenSockets: Int?
    /// `SOCKET_FD_RESERVE` (not in the reference): descriptors of `RLIMIT_NOFILE` kept for everything but client
    /// sockets (the event log and its readers, policy files, event loops) when `MAX_OPEN_SOCKETS` is fitted to it.
    public var socketDescriptorReserve = 128
    /// `OUTBOX_LIMIT_BYTES` (not in the reference): bytes queued for one connection before it is dropped as a slow consumer.
    public var outboxLimitBytes = 4 << 20
    /// `MEMORY_BUDGET_BYTES` (not in the reference): what all replays and long-poll answers together may hold;
    /// beyond it new ones wait and are then refused (close 1013 / 503).
    public var memoryBudgetBytes = 256 << 20
    /// `EVENT_LOG_DURABILITY` (not in the reference): `process` (default) or `fsync`.
    public var eventLogDurability: SQLiteEventLog.Durability = .process
    public var logFormat: LogFormat = .json
    public var logLevel = "info"
    /// `--dev`: embedded defaults, an ephemeral secret, a printed token.
    public var dev = false

    /// Defaults.
    public init() {}

    /// Reads the environment. Unset variables keep their defaults.
    /// - Throws: `ConfigurationProblem` naming the variable and the accepted values.
    public init(environment: [String: String]) throws(ConfigurationProblem) {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(ConfigurationProblem) -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                throw ConfigurationProblem("\(name)=\(text.prefix(40)) is not an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        if let text = value("EVENT_BUS_BACKEND") {
            guard let backend = BackendKind(rawValue: text.lowercased()) else {
                throw ConfigurationProblem("EVENT_BUS_BACKEND=\(text.prefix(40)) is not one of memory, redis, nats, kafka")
            }
            self.backend = backend
        }
        if let text = value("EVENT_BUS_CHANNEL_PREFIX") { channelPrefix = text }
        if let text = value("REDIS_URL") { redisURL = text }
        if let text = value("REDIS_TLS_CA_FILE") { redisTLS.caFile = text }
        if let text = value("REDIS_TLS_CERT_FILE") { redisTLS.certificateFile = text }
        if let text = value("REDIS_TLS_KEY_FILE") { redisTLS.keyFile = text }
        if let text = value("REDIS_TLS_SERVER_NAME") { redisTLS.serverName = text }
        if let count = try integer("REDIS_CONNECTIONS", 1...64) { redisConnections = count }
        if let seconds = try integer("BACKEND_START_TIMEOUT", 0...3_600) { backendStartTimeoutSeconds = seconds }
        if let count = try integer("REDIS_WAIT_REPLICAS", 0...16) { redisWaitReplicas = count }
        if let millis = try integer("REDIS_WAIT_TIMEOUT_MS", 1...60_000) { redisWaitTimeoutMillis = millis }
        if let text = value("NATS_URL") { natsURL = text }
        if let text = value("DEFAULT_REGION") { region = Region(text) }
        if let text = value("NODE_REGION") { nodeRegion = Region(text) }
        if let text = value("POLICY_AUDIT_ALLOWED") {
            switch text.lowercased() {
            case "true", "1", "yes", "on": auditAllowedDecisions = true
            case "false", "0", "no", "off": auditAllowedDecisions = false
            default: throw ConfigurationProblem("POLICY_AUDIT_ALLOWED=\(text.prefix(40)) is not true or false")
            }
        }
        if let text = value("GDPR_ENABLED") {
            switch text.lowercased() {
            case "true", "1", "yes", "on": gdprEnabled = true
            case "false", "0", "no", "off": gdprEnabled = false
            default: throw ConfigurationProblem("GDPR_ENABLED=\(text.prefix(40)) is not true or false")
            }
        }
        if let days = try integer("GDPR_RETENTION_DAYS", 1...36_500) { retentionDays = days }
        jwtSecret = environment["JWT_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        jwtPublicKeyFile = value("JWT_PUBLIC_KEY_FILE")
        jwtJWKSFile = value("JWT_JWKS_FILE")
        jwtIssuer = value("JWT_ISSUER")
        jwtAudience = value("JWT_AUDIENCE")
        if let text = value("POLICY_PATH") { policyPath = text }
        if let text = value("DATA_DIR") { dataDir = text }
        if let text = value("HOST") { host = text }
        if let port = try integer("PORT", 0...65_535) { self.port = port }
        if let count = try integer("MAX_CONNECTIONS", 1...10_000_000) { maxConnections = count }
        if let seconds = try integer("IDLE_TIMEOUT", 1...86_400) { idleTimeoutSeconds = seconds }
        if let seconds = try integer("POLICY_WATCH_INTERVAL", 0...3_600) { policyWatchIntervalSeconds = seconds }
        if let seconds = try integer("PING_INTERVAL", 1...86_400) { pingIntervalSeconds = seconds }
        if let bytes = try integer("MAX_MESSAGE_BYTES", 1024...(64 << 20)) { maxMessageBytes = bytes }
        if let bytes = try integer("OUTBOX_LIMIT_BYTES", 4096...(1 << 30)) { outboxLimitBytes = bytes }
        if let bytes = try integer("MEMORY_BUDGET_BYTES", (1 << 20)...(1 << 40)) { memoryBudgetBytes = bytes }
        if let seconds = try integer("HTTP_HEADER_TIMEOUT", 1...3_600) { httpHeaderTimeoutSeconds = seconds }
        if let seconds = try integer("HTTP_BODY_TIMEOUT", 1...3_600) { httpBodyTimeoutSeconds = seconds }
        if let seconds = try integer("HTTP_KEEPALIVE_TIMEOUT", 1...86_400) { httpKeepAliveTimeoutSeconds = seconds }
        if let bytes = try integer("HTTP_MAX_HEADER_BYTES", 1024...(1 << 20)) { httpMaxHeaderBytes = bytes }
        if let count = try integer("HTTP_MAX_HEADER_COUNT", 8...10_000) { httpMaxHeaderCount = count }
        if let count = try integer("MAX_OPEN_SOCKETS", 1...10_000_000) { maxOpenSockets = count }
        if let count = try integer("SOCKET_FD_RESERVE", 0...1_000_000) { socketDescriptorReserve = count }
        if let text = value("EVENT_LOG_DURABILITY") {
            guard let durability = SQLiteEventLog.Durability(rawValue: text.lowercased()) else {
                throw ConfigurationProblem("EVENT_LOG_DURABILITY=\(text.prefix(40)) is not process or fsync")
            }
            eventLogDurability = durability
        }
        if let text = value("LOG_FORMAT") {
            guard let format = LogFormat(rawValue: text.lowercased()) else {
                throw ConfigurationProblem("LOG_FORMAT=\(text.prefix(40)) is not json or text")
            }
            logFormat = format
        }
        if let text = value("LOG_LEVEL") { logLevel = text.lowercased() }
    }

    /// `REDIS_URL` without its password.
    public var redisURLForLogs: String { (try? Backends.redisURL(self).description) ?? "unparsable" }

    /// Checks what the flags and the environment together must satisfy.
    public func validate() throws(ConfigurationProblem) {
        if let nodeRegion, !Region.isWellFormed(nodeRegion.rawValue) {
            throw ConfigurationProblem(
                "--region/NODE_REGION '\(nodeRegion.rawValue.prefix(64))' is not a region name (lower-case letters, digits and dashes)"
            )
        }
        guard Region.isWellFormed(region.rawValue) else {
            throw ConfigurationProblem("region '\(region.rawValue.prefix(64))' is not a region name (lower-case letters, digits and dashes)")
        }
        let keySources = [jwtSecret != nil, jwtPublicKeyFile != nil, jwtJWKSFile != nil].filter { $0 }.count
        if keySources > 1 { throw ConfigurationProblem("set only one of JWT_SECRET, JWT_PUBLIC_KEY_FILE and JWT_JWKS_FILE") }
        if keySources == 0 && !dev {
            throw ConfigurationProblem(
                "no JWT key configured: set JWT_SECRET (HS256, at least 32 bytes), JWT_PUBLIC_KEY_FILE (RS256/ES256 PEM) or JWT_JWKS_FILE, or run `serve --dev`"
            )
        }
        if let secret = jwtSecret, secret.utf8.count < 32 {
            throw ConfigurationProblem("JWT_SECRET is \(secret.utf8.count) bytes; HS256 needs at least 32")
        }
        switch backend {
        case .memory: break
        case .kafka: throw ConfigurationProblem("EVENT_BUS_BACKEND=kafka is not available in this build; use memory, redis or nats")
        case .redis:
            let url = try Backends.redisURL(self)
            do { try url.tls?.check() } catch { throw ConfigurationProblem("REDIS_URL: \(error.description)") }
        case .nats: throw ConfigurationProblem("EVENT_BUS_BACKEND=nats is not available in this build yet; use memory or redis")
        }
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard levels.contains(logLevel) else {
            throw ConfigurationProblem("LOG_LEVEL=\(logLevel.prefix(40)) is not one of \(levels.joined(separator: ", "))")
        }
    }
}

/// A configuration value that cannot work (exit 2).
public struct ConfigurationProblem: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public let description: String
    /// Creates a problem.
    public init(_ description: String) { self.description = description }
}
