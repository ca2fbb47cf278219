import EventBus
import EventStore
import Foundation
import Logging
import RedisBackend

/// The one place backends are chosen: builds the ``BackendSet`` (event log, bus, rate-limit store) that
/// `EVENT_BUS_BACKEND` names. A new backend joins here with one case (centrifuge's `SetBroker`, envoy
/// ratelimit's `createLimiter`), and in the conformance suite with one factory.
enum Backends {
    /// Builds the set for `configuration.backend`.
    /// - Throws: ``ConfigurationProblem`` when the backend is not in this build or its parts cannot be opened.
    static func make(_ configuration: ServerConfiguration, logger: Logger) throws(ConfigurationProblem) -> BackendSet {
        switch configuration.backend {
        case .memory:
            let log: SQLiteEventLog
            do {
                try FileManager.default.createDirectory(atPath: configuration.dataDir, withIntermediateDirectories: true)
                log = try SQLiteEventLog(
                    path: (configuration.dataDir as NSString).appendingPathComponent("events.sqlite"),
                    durability: configuration.eventLogDurability
                )
            } catch {
                throw ConfigurationProblem("cannot open the event log under DATA_DIR=\(configuration.dataDir): \(error)")
            }
            return BackendSet(kind: .memory, log: log, bus: MemoryEventBus(), limits: MemoryRateLimitStore(clock: ContinuousClock()))
        case .kafka:
            throw ConfigurationProblem("EVENT_BUS_BACKEND=kafka is not available in this build; use memory, redis or nats")
        case .redis:
            let url = try redisURL(configuration)
            let log = RedisEventLog(
                url: url,
                channelPrefix: configuration.channelPrefix,
                connections: configuration.redisConnections,
                waitReplicas: configuration.redisWaitReplicas,
                waitTimeoutMillis: configuration.redisWaitTimeoutMillis
            )
            let history = RedisEventBus.History(log: log, channelPrefix: configuration.channelPrefix) { log.observe($0) }
            let bus = RedisEventBus(url: url, history: history, logger: logger)
            let limits = RedisRateLimitStore(url: url, namespace: RedisEventLog.namespace(channelPrefix: configuration.channelPrefix))
            return BackendSet(kind: .redis, log: log, bus: bus, limits: limits)
        case .nats:
            throw ConfigurationProblem("EVENT_BUS_BACKEND=nats is not available in this build yet; use memory or redis")
        }
    }

    /// `REDIS_URL`, parsed, with the `REDIS_TLS_*` settings for `rediss://`.
    static func redisURL(_ configuration: ServerConfiguration) throws(ConfigurationProblem) -> RedisURL {
        var url: RedisURL
        do {
            url = try RedisURL(configuration.redisURL)
        } catch {
            throw ConfigurationProblem("REDIS_URL: \(error.description)")
        }
        guard url.tls != nil else {
            // TLS files with a plain URL are a mistake that would send the password in clear: say so.
            if let first = configuration.redisTLS.givenSettings.first {
                throw ConfigurationProblem("\(first) is set but REDIS_URL is redis:// (no TLS): use rediss:// or unset \(first)")
            }
            return url
        }
        url.tls = configuration.redisTLS
        return url
    }
}

extension RedisTLS {
    /// The names of the `REDIS_TLS_*` settings that are given.
    fileprivate var givenSettings: [String] {
        let settings = [
            ("REDIS_TLS_CA_FILE", caFile), ("REDIS_TLS_CERT_FILE", certificateFile), ("REDIS_TLS_KEY_FILE", keyFile),
            ("REDIS_TLS_SERVER_NAME", serverName),
        ]
        return settings.compactMap { $0.1 == nil ? nil : $0.0 }
    }
}
