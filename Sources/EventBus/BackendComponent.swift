public import ServiceLifecycle

/// One part of a ``BackendSet`` (the log, the bus or the limits): a lifecycle service that reports its health.
///
/// Guarantees: `run()` keeps the part usable until graceful shutdown and then releases it (the log
/// flushes and closes); the composition root lists the parts before their users in the `ServiceGroup`,
/// so they stop after them. `health()` performs a real round trip (a read, a ping), never a cached flag
/// alone, and reports `.unhealthy` once the part is closed.
public protocol BackendComponent: Service {
    /// The part's health now, from a real request to it.
    func health() async -> ComponentHealth
}
