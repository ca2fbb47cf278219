import EventBus
import GatewayModel
import ServiceLifecycle
import Synchronization
import Testing

/// Every guarantee of the `EventBusBackend` protocol, run against each backend in ``Backends/buses``.
@Suite("EventBusBackend conformance")
struct EventBusConformanceTests {
    /// What one subscription received.
    final class Received: Sendable {
        let events = Mutex<[StoredEvent]>([])
        var count: Int { events.withLock { $0.count } }
        var positions: [Int64] { events.withLock { $0.map(\.position) } }
        func add(_ event: StoredEvent) { events.withLock { $0.append(event) } }
    }

    /// How many handler calls run at once.
    final class Gauge: Sendable {
        let inHandler = Atomic<Int>(0)
        let overlapped = Atomic<Bool>(false)
    }

    static func event(_ position: Int64, type: String = "deal.stage.updated") -> StoredEvent {
        var event = Events.new(Int(position), type: type).event
        event.position = position
        return event
    }

    @Test("one publisher's events reach a subscription in publish order, with the positions the log gave them", arguments: Backends.buses)
    func order(_ factory: BusFactory) async throws {
        let bus = try await factory.make()
        let received = Received()
        try await bus.subscribe(["crm.events.>"]) { received.add($0) }
        let positions = (0..<1000).map { 1_700_000_000_000_001 + Int64($0) * 7 }
        for position in positions { try await bus.publish(channel: "crm.events.deal.stage.updated", event: Self.event(position)) }
        try await waitUntil("every event delivered") { received.count >= positions.count }
        #expect(received.positions == positions)
        #expect(received.events.withLock { $0[3] } == Self.event(positions[3]), "delivered unchanged")
        await bus.close()
    }

    @Test("channels: `.>` covers every channel under the prefix, exact names only themselves; unsubscribe stops delivery", arguments: Backends.buses)
    func channels(_ factory: BusFactory) async throws {
        let bus = try await factory.make()
        let wildcard = Received()
        let exact = Received()
        try await bus.subscribe(["crm.events.>"]) { wildcard.add($0) }
        try await bus.subscribe(["crm.events.deal.created"]) { exact.add($0) }
        try await bus.publish(channel: "crm.events.deal.created", event: Self.event(1))
        try await bus.publish(channel: "crm.events.deal.stage.updated", event: Self.event(2))
        try await bus.publish(channel: "other.deal.created", event: Self.event(3))
        try await waitUntil("both delivered") { wildcard.count >= 2 && exact.count >= 1 }
        try await bus.unsubscribe(["crm.events.>"])
        try await bus.publish(channel: "crm.events.deal.created", event: Self.event(4))
        try await waitUntil("the exact subscription still delivers") { exact.count >= 2 }
        #expect(wildcard.positions == [1, 2])
        #expect(exact.positions == [1, 4])
        await bus.close()
    }

    @Test("backpressure: a handler is awaited; the next event reaches it only after it returned", arguments: Backends.buses)
    func backpressure(_ factory: BusFactory) async throws {
        let bus = try await factory.make()
        let gauge = Gauge()
        let received = Received()
        try await bus.subscribe(["crm.events.>"]) { event in
            if gauge.inHandler.add(1, ordering: .acquiringAndReleasing).newValue > 1 { gauge.overlapped.store(true, ordering: .releasing) }
            try? await Task.sleep(for: .milliseconds(1))
            received.add(event)
            gauge.inHandler.subtract(1, ordering: .acquiringAndReleasing)
        }
        for position in 1...50 { try await bus.publish(channel: "crm.events.deal.created", event: Self.event(Int64(position))) }
        try await waitUntil("every event delivered") { received.count >= 50 }
        let overlapped = gauge.overlapped.load(ordering: .acquiring)
        #expect(!overlapped)
        #expect(received.positions == Array(1...50))
        await bus.close()
    }

    @Test("after close: publish and subscribe throw, health is unhealthy; run() closes the bus when cancelled", arguments: Backends.buses)
    func closed(_ factory: BusFactory) async throws {
        let bus = try await factory.make()
        #expect(await bus.health() == .healthy)
        await bus.close()
        #expect(await !bus.health().isHealthy)
        await #expect(throws: EventBusError.self) { try await bus.publish(channel: "crm.events.x", event: Self.event(1)) }
        await #expect(throws: EventBusError.self) { try await bus.subscribe(["crm.events.>"]) { _ in } }
        let running = try await factory.make()
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await running.run() }
            group.cancelAll()
        }
        #expect(await !running.health().isHealthy)
    }
}
