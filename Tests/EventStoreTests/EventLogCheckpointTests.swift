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

    static func temporaryPath() throws -> (directory: String, path: String) {
        let directory = NSTemporaryDirectory() + "event-log-checkpoint-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (directory, directory + "/events.sqlite")
    }

    /// Waits until the checkpointer finished two more rounds: the second began after every commit so far,
    /// so the whole WAL is in the database file and the next commit starts the WAL over.
    static func waitForCheckpoints(_ log: SQLiteEventLog) async throws {
        let rounds = log.checkpointRounds
        try await waitUntil("two checkpointer rounds") { log.checkpointRounds >= rounds + 2 }
    }

    @Test("the writer never checkpoints and keeps the durability asked for (GRDB resets synchronous when it turns WAL on)")
    func writerSettings() async throws {
        for (durability, synchronous) in [(SQLiteEventLog.Durability.process, 1), (.fsync, 2)] {
            let (directory, path) = try Self.temporaryPath()
            let log = try SQLiteEventLog(path: path, durability: durability)
            let settings = try await log.writerSettings()
            #expect(settings.synchronous == synchronous, "\(durability)")
            #expect(settings.autocheckpointPages == 0)
            try await log.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test("commits never checkpoint; the log's own checkpointer copies the WAL into the database beside them")
    func checkpointerKeepsUp() async throws {
        let (directory, path) = try Self.temporaryPath()
        let log = try SQLiteEventLog(path: path, checkpointInterval: .milliseconds(20), checkpointAfterCommits: 1)
        // About 3,000 WAL pages in all: without checkpoints the WAL would hold every one of them (about 11 MB);
        // SQLite's own checkpoint would have run inside the commits past the 1,000th page. The writer pauses
        // until the checkpointer has run (a condition, not a schedule: a busy machine may starve it for a while).
        var largestWAL = 0
        for batch in 0..<200 {
            _ = try await log.append((0..<10).map { Self.event(batch * 10 + $0) })
            largestWAL = max(largestWAL, Self.walBytes(path))
            if batch % 10 == 9 { try await Self.waitForCheckpoints(log) }
        }
        try await Self.waitForCheckpoints(log)
        let state = try await log.checkpoint()
        #expect(state.checkpointed == state.walFrames, "every WAL frame is in the database file")
        #expect(largestWAL < 6 << 20, "the writer restarts the WAL once it is checkpointed (largest \(largestWAL) bytes)")
        #expect(log.checkpointCounts.failed == 0, "\(log.lastCheckpointFailure ?? "")")
        let page = try await log.read(after: 0, company: "123", limit: 5000)
        #expect(page.events.count == 2000)
        try await log.close()
        // Reopened, everything is there.
        let reopened = try SQLiteEventLog(path: path)
        #expect(try await reopened.head() == log.epochBase + 1999)
        try await reopened.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(
        "a round checkpoints only after checkpointAfterCommits appends (or checkpointAtLeastEvery): a paced writer does not restart the WAL at every commit"
    )
    func checkpointsWaitForAppends() async throws {
        let (directory, path) = try Self.temporaryPath()
        let log = try SQLiteEventLog(
            path: path,
            checkpointInterval: .milliseconds(5),
            checkpointAfterCommits: 5,
            checkpointAtLeastEvery: .seconds(3600)
        )
        for n in 0..<4 { _ = try await log.append([Self.event(n)]) }
        let rounds = log.checkpointRounds
        try await waitUntil("ten more rounds") { log.checkpointRounds >= rounds + 10 }
        #expect(log.checkpointsRun == 0, "four appends are fewer than five")
        _ = try await log.append([Self.event(4)])
        try await waitUntil("the fifth append is checkpointed") { log.checkpointsRun == 1 }
        let state = try await log.checkpoint()
        #expect(state.checkpointed == state.walFrames)
        try await log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test("under appends without a pause the WAL still starts over: a checkpoint between two commits once it is long")
    func sustainedAppends() async throws {
        let (directory, path) = try Self.temporaryPath()
        let log = try SQLiteEventLog(path: path, checkpointInterval: .milliseconds(10), checkpointAfterCommits: 1, walRestartFrames: 64)
        var largestWAL = 0
        for batch in 0..<300 {
            _ = try await log.append((0..<10).map { Self.event(batch * 10 + $0) })
            largestWAL = max(largestWAL, Self.walBytes(path))
            // Without a pause between commits, but the checkpointer must have had its turns: on a busy machine
            // it may not run at all for a while, and then no schedule bounds the WAL.
            if batch % 25 == 24 { try await Self.waitForCheckpoints(log) }
        }
        #expect(log.checkpointCounts.betweenCommits > 0, "the WAL reached 64 pages, so checkpoints ran between commits")
        #expect(log.checkpointCounts.failed == 0, "\(log.lastCheckpointFailure ?? "")")
        // 3,000 events (about 16 MB of WAL frames) in a WAL kept near its 64-page threshold and cut back to 1 MiB.
        #expect(largestWAL < 4 << 20, "largest WAL \(largestWAL) bytes")
        #expect(try await log.head() == log.epochBase + 2999)
        try await log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test("closing while checkpoints run is safe, and a checkpoint asked for after closing is an error, not a crash")
    func closeWhileCheckpointing() async throws {
        for _ in 0..<20 {
            let (directory, path) = try Self.temporaryPath()
            let log = try SQLiteEventLog(path: path, checkpointInterval: .milliseconds(1), checkpointAfterCommits: 1, walRestartFrames: 8)
            for batch in 0..<5 { _ = try await log.append((0..<10).map { Self.event(batch * 10 + $0) }) }
            try log.closeNow()
            await #expect(throws: (any Error).self) { try await log.checkpoint() }
            let reopened = try SQLiteEventLog(path: path)
            #expect(try await reopened.head() == log.epochBase + 49)
            try await reopened.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
