import EventBus
import GatewayModel
import Synchronization
import Testing

/// Positions seen by a handler.
final class Positions: Sendable {
    let value = Mutex<[Int64]>([])
}

@Suite("Memory event bus")
struct MemoryEventBusTests {
    @Test("fan-out runs inside publish: when publish returns, every handler has run (no task hop, log order)")
    func deliveredWithinPublish() async throws {
        let bus = MemoryEventBus()
        let seen = Positions()
        try await bus.subscribe(["crm.events.>"]) { event in seen.value.withLock { $0.append(event.position) } }
        for position in Int64(1)...100 {
            let event = StoredEvent(
                position: position,
                eventID: "e",
                eventType: "t",
                companyID: "1",
                region: "r",
                dataSubjectID: nil,
                retentionDays: 1,
                createdAtMillis: 0,
                envelope: "{}"
            )
            try await bus.publish(channel: "crm.events.t", event: event)
            #expect(seen.value.withLock { $0.last } == position)
        }
        #expect(seen.value.withLock { $0 } == Array(1...100))
    }

    @Test("the backend kinds the composition root chooses from")
    func kinds() {
        #expect(BackendKind.allCases.map(\.rawValue) == ["memory", "redis", "nats", "kafka"])
        #expect(BackendKind(rawValue: "redis") == .redis)
    }
}
