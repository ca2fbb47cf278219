import EventBus
import GatewayModel
import ServiceLifecycle
import Testing

/// Every guarantee of the `EventLog` protocol, run against each backend in ``Backends/logs``.
@Suite("EventLog conformance")
struct EventLogConformanceTests {
    static let start: Int64 = 1_700_000_000_000

    /// Opens a log of `factory` in a fresh place, runs `body`, then closes and removes it.
    static func withLog(
        _ factory: LogFactory,
        dedupWindowSeconds: Int = 86_400,
        _ body: (any LogFixture, any EventLog, ManualMillis) async throws -> Void
    ) async throws {
        let fixture = try factory.make()
        defer { fixture.remove() }
        let clock = ManualMillis(start)
        let log = try await fixture.open(dedupWindowSeconds: dedupWindowSeconds, now: clock)
        do {
            try await body(fixture, log, clock)
        } catch {
            try? await log.close()
            throw error
        }
        try? await log.close()
    }

    @Test("positions strictly increase in commit order; reads return log order, by company, with the head", arguments: Backends.logs)
    func ordering(_ factory: LogFactory) async throws {
        try await Self.withLog(factory) { _, log, _ in
            var positions: [Int64] = []
            for batch in 0..<5 {
                let outcomes = try await log.append((0..<4).map { Events.new(batch * 4 + $0, company: $0 % 2 == 0 ? "1" : "2") })
                positions += outcomes.compactMap(\.appended?.position)
            }
            #expect(positions.count == 20)
            #expect(zip(positions, positions.dropFirst()).allSatisfy { $0 < $1 })
            #expect(try await log.head() == positions.last)
            let all = try await log.read(after: 0, company: nil, limit: 100)
            #expect(all.events.map(\.position) == positions && all.head == positions.last)
            let one = try await log.read(after: 0, company: "1", limit: 100)
            #expect(one.events.allSatisfy { $0.companyID == "1" } && one.events.count == 10)
            #expect(one.events.map(\.eventID) == all.events.filter { $0.companyID == "1" }.map(\.eventID))
            let page = try await log.read(after: positions[4], company: nil, limit: 3)
            #expect(page.events.map(\.position) == Array(positions[5..<8]))
            // An event comes back as appended.
            let first = try #require(all.events.first)
            #expect(first.envelope.contains(first.eventID) && first.eventType == "deal.stage.updated" && first.region == "us-east-1")
        }
    }

    @Test("a position is never reused: not after erasing the newest events, not after reopening", arguments: Backends.logs)
    func positionsNeverReused(_ factory: LogFactory) async throws {
        try await Self.withLog(factory) { fixture, log, clock in
            _ = try await log.append([Events.new(1)])
            let newest = try #require(try await log.append([Events.new(2, subject: "s-1"), Events.new(3, subject: "s-1")]).last?.appended)
            let erased = try await log.forget(dataSubjectID: "s-1", company: "123", atMillis: clock.now)
            #expect(erased.purged == 2)
            #expect(try await log.head() == newest.position, "the head is the newest position ever assigned")
            let next = try #require(try await log.append([Events.new(4)]).first?.appended)
            #expect(next.position > newest.position)
            try await log.close()
            let reopened = try await fixture.open(dedupWindowSeconds: 86_400, now: clock)
            #expect(try await reopened.head() == next.position)
            let afterReopen = try #require(try await reopened.append([Events.new(5)]).first?.appended)
            #expect(afterReopen.position > next.position)
            try await reopened.close()
        }
    }

    @Test("cursors: a position, or an event_id of the same company; another company's id is unknown", arguments: Backends.logs)
    func eventIDCursors(_ factory: LogFactory) async throws {
        try await Self.withLog(factory) { _, log, _ in
            let events = try await log.append([Events.new(1, company: "1"), Events.new(2, company: "2")]).compactMap(\.appended)
            #expect(try await log.resolve(cursor: events[0].eventID, company: "1") == .after(events[0].position))
            #expect(try await log.resolve(cursor: events[0].eventID, company: "2") == .expired)
            #expect(try await log.resolve(cursor: "0190a0f0-0000-7000-8000-000000000000", company: "1") == .expired)
            #expect(try await log.resolve(cursor: events[1].cursor, company: "1") == .after(events[1].position))
            for malformed in ["garbage", "-1", "01", "1.5", "", "0190A0F0-0000-7000-8000-000000000000"] {
                #expect(try await log.resolve(cursor: malformed, company: "1") == .malformed, "\(malformed)")
            }
        }
    }

    @Test("idempotency: a duplicate within the window returns the original id and position; past the window it is new", arguments: Backends.logs)
    func idempotencyWindow(_ factory: LogFactory) async throws {
        try await Self.withLog(factory, dedupWindowSeconds: 60) { _, log, clock in
            let original = try #require(try await log.append([Events.new(1, key: "k")]).first?.appended)
            let again = try await log.append([Events.new(2, key: "k"), Events.new(3, company: "9", key: "k")])
            #expect(again[0] == .duplicate(eventID: original.eventID, position: original.position))
            #expect(again[1].appended != nil, "keys are per company")
            // In one batch, the second use of a key is a duplicate of the first.
            let batch = try await log.append([Events.new(4, key: "b"), Events.new(5, key: "b")])
            let first = try #require(batch[0].appended)
            #expect(batch[1] == .duplicate(eventID: first.eventID, position: first.position))
            clock.advance(byMillis: 59_000)
            #expect(try await log.append([Events.new(6, key: "k")])[0] == .duplicate(eventID: original.eventID, position: original.position))
            clock.advance(byMillis: 2_000)
            _ = try await log.expireIdempotencyKeys()
            let fresh = try #require(try await log.append([Events.new(7, key: "k")]).first?.appended)
            #expect(fresh.position > first.position && fresh.eventID != original.eventID)
        }
    }

    @Test("health is a real read, and is unhealthy after close; run() closes the log when cancelled", arguments: Backends.logs)
    func health(_ factory: LogFactory) async throws {
        try await Self.withLog(factory) { fixture, log, clock in
            #expect(await log.health() == .healthy)
            try await log.close()
            #expect(await !log.health().isHealthy)
            let running = try await fixture.open(dedupWindowSeconds: 86_400, now: clock)
            #expect(await running.health() == .healthy)
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await running.run() }
                group.cancelAll()
            }
            #expect(await !running.health().isHealthy)
        }
    }
}
