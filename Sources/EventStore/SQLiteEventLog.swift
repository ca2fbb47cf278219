public import EventBus
import GRDB
public import GatewayModel
import ServiceLifecycle
import Synchronization

/// The embedded event log: one SQLite database in WAL mode under `DATA_DIR`, through GRDB.
///
/// Positions are `AUTOINCREMENT` row ids, so they increase in commit order and are never reused after a
/// purge. Appends are batched by the caller (one transaction per batch); reads run concurrently on WAL
/// snapshots. Durability is ``Durability``: an append that returned always survives a crash of the
/// process (`kill -9`); with `.fsync` it also survives power loss, at the cost of one fsync per batch.
///
/// The WAL is checkpointed beside the writer, not by it (``WALCheckpointer``): SQLite's automatic
/// checkpoint runs inside the commit that crosses 1,000 WAL pages and held that append for several
/// milliseconds, the p99 of the publish path.
///
/// A log created from nothing starts its positions at its epoch base, `createdAtMillis * 1000 + 1`,
/// recorded in `log_meta` (see ``EventLog``): a cursor of a wiped `DATA_DIR` resolves as expired here.
public final class SQLiteEventLog: EventLog {
    /// How far a returned append is guaranteed.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous = NORMAL` in WAL mode: committed to the WAL file before the append returns, so a
        /// process crash loses nothing; an OS crash or power loss may lose the last commits before a checkpoint.
        case process
        /// `synchronous = FULL`: the WAL is fsynced before the append returns.
        case fsync
    }

    let pool: DatabasePool
    private let checkpointer: WALCheckpointer
    /// How long an idempotency key is remembered, in milliseconds.
    let dedupWindowMillis: Int64
    /// Milliseconds since 1970; injected so tests can move time.
    let now: @Sendable () -> Int64
    /// Set by ``closeNow()``: health is unhealthy from then on.
    private let closed = Atomic<Bool>(false)
    /// The first position of this log's epoch: `createdAtMillis * 1000 + 1`, or 1 for a log created before epochs.
    public let epochBase: Int64

    static let millisPerDay: Int64 = 86_400_000

    /// Opens (creating when needed) the log at `path`.
    /// - Parameters:
    ///   - path: the database file, e.g. `data/events.sqlite`.
    ///   - durability: what a returned append survives.
    ///   - dedupWindowSeconds: how long an idempotency key is remembered (SPEC §5: 24 h).
    ///   - checkpointInterval: how often the checkpointer looks at the WAL (it checkpoints passively, beside the
    ///     writer).
    ///   - checkpointAfterCommits: the appends after which a round checkpoints.
    ///   - checkpointAtLeastEvery: how long a round waits to checkpoint fewer appends than that.
    ///   - walRestartFrames: the WAL length, in pages, at which a checkpoint runs between two commits so that
    ///     the WAL starts over (see ``WALCheckpointer``).
    ///   - now: the clock, in milliseconds since 1970.
    public init(
        path: String,
        durability: Durability = .process,
        dedupWindowSeconds: Int = 86_400,
        checkpointInterval: Duration = .milliseconds(200),
        checkpointAfterCommits: Int = 256,
        checkpointAtLeastEvery: Duration = .seconds(5),
        walRestartFrames: Int = 4096,
        now: @escaping @Sendable () -> Int64 = { Timestamp.nowMillis() }
    ) throws {
        var configuration = Configuration()
        configuration.label = "event-log"
        configuration.busyMode = .timeout(10)
        let synchronous = durability == .fsync ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Commits never checkpoint: the checkpointer below does, beside them.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            // A WAL that grew in a burst is cut back to this when it starts over.
            try db.execute(sql: "PRAGMA journal_size_limit = \(4 * walRestartFrames * 4096)")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB sets `synchronous = NORMAL` on the writer after `prepareDatabase` when it turns WAL on.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        self.dedupWindowMillis = Int64(dedupWindowSeconds) * 1000
        self.now = now
        try LogSchema.migrator(nowMillis: now()).migrate(pool)
        epochBase = try pool.read { db in try LogSchema.epochBase(db) }
        configuration.label = "event-log-checkpointer"
        checkpointer = try WALCheckpointer(
            path: path,
            configuration: configuration,
            writer: pool,
            interval: checkpointInterval,
            afterCommits: checkpointAfterCommits,
            atLeastEvery: checkpointAtLeastEvery,
            restartFrames: walRestartFrames
        )
    }

    /// Runs one passive checkpoint now; returns the WAL's frame count and how many of them are in the
    /// database file. For tests and diagnostics: the log checkpoints by itself.
    public func checkpoint() async throws -> (walFrames: Int, checkpointed: Int) { try await checkpointer.checkpoint() }

    /// How many checkpoints ran between two commits because the WAL had reached `walRestartFrames`, and how
    /// many failed (each is retried on the next round; a round that found another checkpoint running is not a
    /// failure). For tests and diagnostics.
    public var checkpointCounts: (betweenCommits: Int, failed: Int) { (checkpointer.writerCheckpoints.count, checkpointer.failures.count) }

    /// The last error of a failed checkpoint, if any. For tests and diagnostics.
    public var lastCheckpointFailure: String? { checkpointer.lastFailure.description }

    /// How many rounds the checkpointer finished (each a passive checkpoint, and one between two commits when
    /// the WAL is long). For tests, which wait for rounds instead of sleeping on a schedule.
    public var checkpointRounds: Int { checkpointer.rounds.count }

    /// How many of those rounds checkpointed (the others found too few appends since the last checkpoint).
    public var checkpointsRun: Int { checkpointer.checkpoints.count }

    /// The writer connection's settings: `synchronous` (1 NORMAL, 2 FULL) and `wal_autocheckpoint` in pages
    /// (0: commits never checkpoint). For tests and diagnostics.
    public func writerSettings() async throws -> (synchronous: Int, autocheckpointPages: Int) {
        try await pool.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1, try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? -1)
        }
    }

    public func append(_ events: [NewEvent]) async throws -> [AppendOutcome] {
        guard !events.isEmpty else { return [] }
        let now = now()
        let oldest = now - dedupWindowMillis
        defer { checkpointer.noteCommit() }
        return try await pool.write { db in
            var outcomes: [AppendOutcome] = []
            outcomes.reserveCapacity(events.count)
            let findKey = try db.cachedStatement(
                sql: "SELECT event_id, position FROM idempotency_keys WHERE company_id = ? AND key = ? AND created_at >= ?"
            )
            let insertEvent = try db.cachedStatement(
                sql: """
                    INSERT INTO events (event_id, event_type, company_id, region, data_subject_id, retention_days, created_at, envelope, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            let rememberKey = try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO idempotency_keys (company_id, key, event_id, position, created_at) VALUES (?, ?, ?, ?, ?)"
            )
            let rememberSubject = try db.cachedStatement(
                sql: "INSERT INTO event_subjects (position, company_id, data_subject_id) VALUES (?, ?, ?)"
            )
            let findForgotten = try db.cachedStatement(
                sql: "SELECT 1 FROM forgotten_subjects WHERE data_subject_id = ? AND company_id IN (?, '') LIMIT 1"
            )
            for new in events {
                var event = new.event
                let subjects = (event.dataSubjectID.map { [$0] } ?? []) + new.otherDataSubjectIDs
                if try subjects.contains(where: { try Row.fetchOne(findForgotten, arguments: [$0, event.companyID.rawValue]) != nil }) {
                    outcomes.append(.subjectForgotten)
                    continue
                }
                if let row = try Row.fetchOne(findKey, arguments: [event.companyID.rawValue, new.idempotencyKey, oldest]) {
                    outcomes.append(.duplicate(eventID: row[0], position: row[1]))
                    continue
                }
                try insertEvent.execute(arguments: [
                    event.eventID, event.eventType, event.companyID.rawValue, event.region.rawValue, event.dataSubjectID,
                    event.retentionDays, event.createdAtMillis, event.envelope,
                    event.createdAtMillis + Int64(event.retentionDays) * Self.millisPerDay,
                ])
                event.position = db.lastInsertedRowID
                for subject in Set(new.otherDataSubjectIDs) where subject != event.dataSubjectID {
                    try rememberSubject.execute(arguments: [event.position, event.companyID.rawValue, subject])
                }
                try rememberKey.execute(arguments: [event.companyID.rawValue, new.idempotencyKey, event.eventID, event.position, now])
                outcomes.append(.appended(event))
            }
            return outcomes
        }
    }

    public func read(after position: Int64, company: CompanyID?, limit: Int) async throws -> LogPage {
        try await pool.read { db in
            let head = try Self.head(db)
            let columns = "position, event_id, event_type, company_id, region, data_subject_id, retention_days, created_at, envelope"
            let rows: [Row]
            if let company {
                rows = try Row.fetchAll(
                    db,
                    sql: "SELECT \(columns) FROM events WHERE company_id = ? AND position > ? ORDER BY position LIMIT ?",
                    arguments: [company.rawValue, position, limit]
                )
            } else {
                rows = try Row.fetchAll(
                    db,
                    sql: "SELECT \(columns) FROM events WHERE position > ? ORDER BY position LIMIT ?",
                    arguments: [position, limit]
                )
            }
            return LogPage(head: head, events: rows.map(Self.event(from:)))
        }
    }

    private static func event(from row: Row) -> StoredEvent {
        StoredEvent(
            position: row[0],
            eventID: row[1],
            eventType: row[2],
            companyID: CompanyID(row[3]),
            region: Region(row[4]),
            dataSubjectID: row[5],
            retentionDays: row[6],
            createdAtMillis: row[7],
            envelope: row[8]
        )
    }

    /// Keeps the log open until graceful shutdown, then flushes and closes it. List it before the services
    /// that use it, so that it stops after them.
    public func run() async throws {
        try? await gracefulShutdown()
        try await close()
    }

    /// Reads this log's epoch from the database: unhealthy when that read fails or after ``close()``.
    public func health() async -> ComponentHealth {
        guard !closed.load(ordering: .acquiring) else { return .unhealthy("the event log is closed") }
        do {
            _ = try await pool.read { db in try LogSchema.epochBase(db) }
            return .healthy
        } catch {
            return .unhealthy("the event log cannot be read: \(error)")
        }
    }

    public func close() async throws {
        await checkpointer.stop()
        try closeNow()
    }

    /// Closes the database at once (checkpointing the WAL); the pool is closed even if the checkpointer's
    /// connection fails to.
    public func closeNow() throws {
        closed.store(true, ordering: .releasing)
        do {
            try checkpointer.closeNow()
        } catch {
            try pool.close()
            throw error
        }
        try pool.close()
    }
}
