import EventBus
import Foundation
import GRDB
import GatewayModel
import Testing

@testable import EventStore

@Suite("Event log schema")
struct LogSchemaTests {
    @Test("a log that assigned positions before epochs is migrated with base 1: its cursors keep resuming")
    func migratedLogKeepsBaseOne() async throws {
        let fixture = try SQLiteLogFixture()
        defer { fixture.remove() }
        let old = try DatabaseQueue(path: fixture.path)
        try LogSchema.migrator(nowMillis: 0).migrate(old, upTo: "v3: forgotten subjects")
        try await old.write { db in
            for n in 1...2 {
                try db.execute(
                    sql: """
                        INSERT INTO events (event_id, event_type, company_id, region, retention_days, created_at, envelope, expires_at)
                        VALUES (?, 't', '1', 'r', 365, 0, '{}', ?)
                        """,
                    arguments: ["0190a0f0-0000-7000-8000-00000000000\(n)", Int64.max / 2]
                )
            }
        }
        try old.close()
        let log = try SQLiteEventLog(path: fixture.path, now: { 1_764_806_400_000 })
        #expect(log.epochBase == 1)
        #expect(try await log.head() == 2)
        #expect(try await log.resolve(cursor: "1", company: "1") == .after(1))
        #expect(try await log.resolve(cursor: "3", company: "1") == .expired)
        #expect(try await log.append([Events.new(3, company: "1")]).first?.appended?.position == 3)
        try await log.close()
    }

    @Test("a log created from nothing starts at createdAtMillis * 1000 + 1, and keeps its base when reopened")
    func newLogBase() async throws {
        let fixture = try SQLiteLogFixture()
        defer { fixture.remove() }
        let log = try SQLiteEventLog(path: fixture.path, now: { 1_764_806_400_000 })
        #expect(log.epochBase == 1_764_806_400_000_001)
        #expect(try await log.head() == 1_764_806_400_000_000)
        #expect(try await log.append([Events.new(1)]).first?.appended?.position == 1_764_806_400_000_001)
        try await log.close()
        let reopened = try SQLiteEventLog(path: fixture.path, now: { 1_900_000_000_000 })
        #expect(reopened.epochBase == 1_764_806_400_000_001)
        try await reopened.close()
    }
}
