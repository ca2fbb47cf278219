public import ServiceLifecycle

/// The three backend parts below the policy, built together by the composition root for one ``BackendKind``.
///
/// ```swift
/// let backends = BackendSet(kind: .memory, log: log, bus: MemoryEventBus(), limits: MemoryRateLimitStore(clock: ContinuousClock()))
/// let group = ServiceGroup(services: backends.services + [gateway, server], logger: logger)
/// ```
public struct BackendSet: Sendable {
    /// The family the parts belong to.
    public var kind: BackendKind
    /// The durable history: positions, cursors, replay, retention and erasure.
    public var log: any EventLog
    /// How events already in the log reach every node's fan-out.
    public var bus: any EventBusBackend
    /// Where rate-limit counters live.
    public var limits: any RateLimitStore

    /// Creates a set from parts already built.
    /// - Parameters:
    ///   - kind: the family the parts belong to.
    ///   - log: the event log.
    ///   - bus: the event bus.
    ///   - limits: the rate-limit store.
    public init(kind: BackendKind, log: any EventLog, bus: any EventBusBackend, limits: any RateLimitStore) {
        self.kind = kind
        self.log = log
        self.bus = bus
        self.limits = limits
    }

    /// The parts as services in `ServiceGroup` order (log, bus, limits): they stop in reverse, the log last.
    public var services: [any Service] { [log, bus, limits] }

    /// Every part's health, asked concurrently, named `log`, `bus` and `limits`.
    public func health() async -> [(component: String, health: ComponentHealth)] {
        async let log = self.log.health()
        async let bus = self.bus.health()
        async let limits = self.limits.health()
        return await [("log", log), ("bus", bus), ("limits", limits)]
    }

    /// Whether every part is healthy.
    public func isHealthy() async -> Bool { await health().allSatisfy { $0.health.isHealthy } }
}
