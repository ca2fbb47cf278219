import EventBus
import EventStore
import Foundation
import Testing

@Suite("Backend set")
struct BackendSetTests {
    @Test("health asks every part for real, and names the part that fails; services list the log first")
    func health() async throws {
        let fixture = try SQLiteLogFixture()
        defer { fixture.remove() }
        let log = try SQLiteEventLog(path: fixture.path)
        let bus = MemoryEventBus()
        let set = BackendSet(kind: .memory, log: log, bus: bus, limits: MemoryRateLimitStore(clock: ManualClock()))
        #expect(await set.isHealthy())
        #expect(set.services.count == 3 && set.services.first is SQLiteEventLog)
        await bus.close()
        let afterBus = await set.health()
        #expect(afterBus.map(\.component) == ["log", "bus", "limits"])
        #expect(afterBus.map(\.health.isHealthy) == [true, false, true])
        try await log.close()
        #expect(await set.health().map(\.health.isHealthy) == [false, false, true])
        #expect(await !set.isHealthy())
    }
}
