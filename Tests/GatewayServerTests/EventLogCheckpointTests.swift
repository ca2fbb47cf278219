import EventBus
import EventStore
import Foundation
import GatewayModel
import Testing

@Suite("Event log checkpoints")
struct EventLogCheckpointTests {
    static func event(_ index: Int) -> NewEvent {
        let id = "01900000-0000-7000-8000-\(String(format: "%012d", index))"
        let stored = StoredEvent(
            position: 0,
            eventID: id,
            eventType: "deal.stage.updated",
            companyID: "123",
            region: "us-east-1",
            dataSubjectID: "c-\(index % 50)",
            retentionDays: 365,
            createdAtMillis: Timestamp.nowMillis(),
            envelope: #"{"event_id":"\#(id)","data":{"deal_id":\#(index),"padding":"\#(String(repeating: "x", count: 300))"}}"#
        )
        return NewEvent(event: stored, idempotencyKey: id)
    }

    static func walBytes(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int) ?? 0
    }

    @Test("commits never checkpoint; the log's own checkpointer copies the WAL into the database beside them")
    func checkpointerKeepsUp() async throws {
        let directory = TestServer.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/events.sqlite"
        let log = try SQLiteEventLog(path: path, checkpointInterval: .milliseconds(20))
        #expect(try await log.writerAutocheckpointPages() == 0)
        // About 3,000 WAL pages in all: without checkpoints the WAL would hold every one of them (12 MB);
        // SQLite's own checkpoint would have run inside the commits past the 1,000th page.
        var largestWAL = 0
        for batch in 0..<200 {
            _ = try await log.append((0..<10).map { Self.event(batch * 10 + $0) })
            largestWAL = max(largestWAL, Self.walBytes(path))
            try await Task.sleep(for: .milliseconds(2))
        }
        try await Task.sleep(for: .milliseconds(100))
        let state = try await log.checkpoint()
        #expect(state.checkpointed == state.walFrames, "every WAL frame is in the database file")
        #expect(largestWAL < 8 << 20, "the writer restarts the WAL once it is checkpointed (largest \(largestWAL) bytes)")
        let page = try await log.read(after: 0, company: "123", limit: 5000)
        #expect(page.events.count == 2000)
        try await log.close()
        // Reopened, everything is there.
        let reopened = try SQLiteEventLog(path: path)
        #expect(try await reopened.head() == 2000)
        try await reopened.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
