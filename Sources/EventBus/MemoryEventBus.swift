public import GatewayModel
import ServiceLifecycle
import Synchronization

/// The in-process bus of the embedded default: a publish awaits the handlers of matching subscriptions
/// in turn, inside the publishing task (no task hop per event), so events reach the fan-out in the order
/// they were published, which is log order.
public final class MemoryEventBus: EventBusBackend {
    private struct Subscription {
        var channels: Set<String>
        var handler: @Sendable (StoredEvent) async -> Void
    }

    private let subscriptions = Mutex<[Subscription]>([])
    private let closed = Atomic<Bool>(false)

    /// An empty bus.
    public init() {}

    public func publish(channel: String, event: StoredEvent) async throws {
        guard !closed.load(ordering: .acquiring) else { throw EventBusError.closed }
        let handlers = subscriptions.withLock { subscriptions in
            subscriptions.filter { $0.channels.contains { Self.channel($0, covers: channel) } }.map(\.handler)
        }
        for handler in handlers { await handler(event) }
    }

    public func subscribe(_ channels: [String], handler: @escaping @Sendable (StoredEvent) async -> Void) async throws {
        guard !closed.load(ordering: .acquiring) else { throw EventBusError.closed }
        subscriptions.withLock { $0.append(Subscription(channels: Set(channels), handler: handler)) }
    }

    public func unsubscribe(_ channels: [String]) async throws {
        let removed = Set(channels)
        subscriptions.withLock { subscriptions in
            for index in subscriptions.indices { subscriptions[index].channels.subtract(removed) }
            subscriptions.removeAll { $0.channels.isEmpty }
        }
    }

    public func close() async {
        closed.store(true, ordering: .releasing)
        subscriptions.withLock { $0.removeAll() }
    }

    /// Serves until graceful shutdown, then closes the bus.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Healthy until ``close()``.
    public func health() async -> ComponentHealth {
        closed.load(ordering: .acquiring) ? .unhealthy("the event bus is closed") : .healthy
    }
}

/// Why a bus call failed.
public enum EventBusError: Error, Sendable, CustomStringConvertible {
    /// The bus was closed.
    case closed

    public var description: String {
        switch self {
        case .closed: "the event bus is closed"
        }
    }
}
