import EventBus
import EventStore
import Foundation

/// The one place backends are chosen: builds the ``BackendSet`` (event log, bus, rate-limit store) that
/// `EVENT_BUS_BACKEND` names. A new backend joins here with one case (centrifuge's `SetBroker`, envoy
/// ratelimit's `createLimiter`), and in the conformance suite with one factory.
enum Backends {
    /// Builds the set for `configuration.backend`.
    /// - Throws: ``ConfigurationProblem`` when the backend is not in this build or its parts cannot be opened.
    static func make(_ configuration: ServerConfiguration) throws(ConfigurationProblem) -> BackendSet {
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
        case .redis, .nats:
            throw ConfigurationProblem("EVENT_BUS_BACKEND=\(configuration.backend.rawValue) is not available in this build yet; use memory")
        }
    }
}
