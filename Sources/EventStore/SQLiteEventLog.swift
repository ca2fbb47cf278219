public import EventBus
import GRDB
public import GatewayModel

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
public final class SQLiteEventLog: EventLog {
    /// How far a returned append is guaranteed.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous = NORMAL` in WAL mode: committed to the WAL file before the append returns, so a
        /// process crash loses nothing; an OS crash or power loss may lose the last commits before a checkpoint.
        case process
        /// `synchronous = FULL`: the WAL is fsynced before the append returns.
        case fsync
    }

    private let pool: DatabasePool
    private let checkpointer: WALCheckpointer
    /// How long an idempotency key is remembered, in milliseconds.
    private let dedupWindowMillis: Int64
    /// Milliseconds since 1970; injected so tests can move time.
    private let now: @Sendable () -> Int64

    /// Opens (creating when needed) the log at `path`.
    /// - Parameters:
    ///   - path: the database file, e.g. `data/events.sqlite`.
    ///   - durability: what a returned append survives.
    ///   - dedupWindowSeconds: how long an idempotency key is remembered (SPEC §5: 24 h).
    ///   - checkpointInterval: how often the WAL is checkpointed (passively, beside the writer).
    ///   - walRestartFrames: the WAL length, in pages, at which a checkpoint runs between two commits so that
    ///     the WAL starts over (see ``WALCheckpointer``).
    ///   - now: the clock, in milliseconds since 1970.
    public init(
        path: String,
        durability: Durability = .process,
        dedupWindowSeconds: Int = 86_400,
        checkpointInterval: Duration = .milliseconds(200),
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
        try Self.migrator.migrate(pool)
        configuration.label = "event-log-checkpointer"
        checkpointer = try WALCheckpointer(
            path: path,
            configuration: configuration,
            writer: pool,
            interval: checkpointInterval,
            restartFrames: walRestartFrames
        )
    }

    /// Runs one passive checkpoint now; returns the WAL's frame count and how many of them are in the
    /// database file. For tests and diagnostics: the log checkpoints by itself.
    public func checkpoint() async throws -> (walFrames: Int, checkpointed: Int) { try await checkpointer.checkpoint() }

    /// How many checkpoints ran between two commits because the WAL had reached `walRestartFrames`, and how
    /// many failed (each is retried on the next round). For tests and diagnostics.
    public var checkpointCounts: (betweenCommits: Int, failed: Int) { (checkpointer.writerCheckpoints.count, checkpointer.failures.count) }

    /// The writer connection's settings: `synchronous` (1 NORMAL, 2 FULL) and `wal_autocheckpoint` in pages
    /// (0: commits never checkpoint). For tests and diagnostics.
    public func writerSettings() async throws -> (synchronous: Int, autocheckpointPages: Int) {
        try await pool.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1, try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? -1)
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        event_id TEXT NOT NULL UNIQUE,
                        event_type TEXT NOT NULL,
                        company_id TEXT NOT NULL,
                        region TEXT NOT NULL,
                        data_subject_id TEXT,
                        retention_days INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        envelope TEXT NOT NULL
                    );
                    CREATE INDEX events_by_company ON events(company_id, position);
                    CREATE INDEX events_by_subject ON events(data_subject_id) WHERE data_subject_id IS NOT NULL;
                    CREATE TABLE idempotency_keys (
                        company_id TEXT NOT NULL,
                        key TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (company_id, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX idempotency_by_age ON idempotency_keys(created_at);
                    """
            )
        }
        migrator.registerMigration("v2: retention") { db in
            // Each event's own expiry (created_at + retention_days), indexed so the sweeper reads the
            // oldest first; and per company the newest position retention has removed, so a cursor
            // from before it is answered with `cursor_expired` instead of a silent gap.
            try db.execute(
                sql: """
                    ALTER TABLE events ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
                    UPDATE events SET expires_at = created_at + retention_days * 86400000;
                    CREATE INDEX events_by_expiry ON events(expires_at);
                    CREATE TABLE retention_watermarks (
                        company_id TEXT PRIMARY KEY,
                        position INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v3: forgotten subjects") { db in
            // '' stands for every company (a platform admin's erasure).
            try db.execute(
                sql: """
                    CREATE TABLE forgotten_subjects (
                        company_id TEXT NOT NULL,
                        data_subject_id TEXT NOT NULL,
                        forgotten_at INTEGER NOT NULL,
                        PRIMARY KEY (company_id, data_subject_id)
                    ) WITHOUT ROWID;
                    """
            )
        }
        return migrator
    }

    public func append(_ events: [NewEvent]) async throws -> [AppendOutcome] {
        guard !events.isEmpty else { return [] }
        let now = now()
        let oldest = now - dedupWindowMillis
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
            let findForgotten = try db.cachedStatement(
                sql: "SELECT 1 FROM forgotten_subjects WHERE data_subject_id = ? AND company_id IN (?, '') LIMIT 1"
            )
            for new in events {
                var event = new.event
                if let subject = event.dataSubjectID, try Row.fetchOne(findForgotten, arguments: [subject, event.companyID.rawValue]) != nil {
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

    public func head() async throws -> Int64 {
        try await pool.read { db in try Self.head(db) }
    }

    /// The highest position ever assigned (`sqlite_sequence` survives purges of the newest rows).
    private static func head(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0
    }

    static let millisPerDay: Int64 = 86_400_000

    /// Whether a cursor at `position` of `company` is older than the company's retained history: below the
    /// newest event of the company that retention removed while it lay before every event still kept.
    /// Events removed later in the history (past their own, shorter retention while older events are kept)
    /// are owed to nobody: a cursor inside the retained history resumes, skipping only those.
    private static func isExpired(_ db: Database, _ position: Int64, _ company: CompanyID) throws -> Bool {
        let start =
            try Int64.fetchOne(db, sql: "SELECT position FROM retention_watermarks WHERE company_id = ?", arguments: [company.rawValue]) ?? 0
        return position < start
    }

    public func resolve(cursor: String, company: CompanyID) async throws -> CursorPosition {
        if let position = Int64(cursor), position >= 0, String(position) == cursor {
            return try await pool.read { db in
                // Events of this company after the cursor were removed by retention: the client cannot resume.
                if try Self.isExpired(db, position, company) { return .expired }
                let head = try Self.head(db)
                // A cursor past the head (another deployment's, or a forged one) resumes at the head.
                return .after(min(position, head))
            }
        }
        guard cursor.utf8.count == 36, cursor.utf8.allSatisfy({ $0 == 0x2D || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            return .malformed
        }
        return try await pool.read { db in
            guard
                let position = try Int64.fetchOne(
                    db,
                    sql: "SELECT position FROM events WHERE event_id = ? AND company_id = ?",
                    arguments: [cursor, company.rawValue]
                )
            else {
                return .expired
            }
            return try Self.isExpired(db, position, company) ? .expired : .after(position)
        }
    }

    public func forget(dataSubjectID: String, company: CompanyID?, atMillis: Int64) async throws -> ForgetOutcome {
        try await pool.write { db in
            let scope = company?.rawValue ?? ""
            try db.execute(
                sql: "INSERT OR IGNORE INTO forgotten_subjects (company_id, data_subject_id, forgotten_at) VALUES (?, ?, ?)",
                arguments: [scope, dataSubjectID, atMillis]
            )
            let already = db.changesCount == 0
            let companies: [String]
            if let company {
                let count =
                    try Int.fetchOne(
                        db,
                        sql: "SELECT count(*) FROM events WHERE data_subject_id = ? AND company_id = ?",
                        arguments: [dataSubjectID, company.rawValue]
                    ) ?? 0
                companies = count > 0 ? [company.rawValue] : []
                try db.execute(sql: "DELETE FROM events WHERE data_subject_id = ? AND company_id = ?", arguments: [dataSubjectID, company.rawValue])
            } else {
                companies = try String.fetchAll(
                    db,
                    sql: "SELECT DISTINCT company_id FROM events WHERE data_subject_id = ? ORDER BY company_id",
                    arguments: [dataSubjectID]
                )
                try db.execute(sql: "DELETE FROM events WHERE data_subject_id = ?", arguments: [dataSubjectID])
            }
            return ForgetOutcome(purged: db.changesCount, companies: companies.map { CompanyID($0) }, alreadyForgotten: already)
        }
    }

    public func forgottenSubjects() async throws -> [ForgottenSubject] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT company_id, data_subject_id FROM forgotten_subjects").map { row in
                let company: String = row[0]
                return ForgottenSubject(dataSubjectID: row[1], company: company.isEmpty ? nil : CompanyID(company))
            }
        }
    }

    public func purgeExpired(nowMillis: Int64, limit: Int) async throws -> Int {
        try await pool.write { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT position, company_id FROM events WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
                arguments: [nowMillis, limit]
            )
            guard !rows.isEmpty else { return 0 }
            var removed: [String: [Int64]] = [:]
            let delete = try db.cachedStatement(sql: "DELETE FROM events WHERE position = ?")
            for row in rows {
                let position: Int64 = row[0]
                let company: String = row[1]
                try delete.execute(arguments: [position])
                removed[company, default: []].append(position)
            }
            // The retained history of a company starts after the newest removed event that lay before every
            // event still kept.
            var newest: [String: Int64] = [:]
            let oldestKept = try db.cachedStatement(sql: "SELECT min(position) FROM events WHERE company_id = ?")
            for (company, positions) in removed {
                let kept = try Int64.fetchOne(oldestKept, arguments: [company]) ?? Int64.max
                if let start = positions.filter({ $0 < kept }).max() { newest[company] = start }
            }
            let remember = try db.cachedStatement(
                sql: """
                    INSERT INTO retention_watermarks (company_id, position) VALUES (?, ?)
                    ON CONFLICT(company_id) DO UPDATE SET position = max(position, excluded.position)
                    """
            )
            for (company, position) in newest { try remember.execute(arguments: [company, position]) }
            return rows.count
        }
    }

    @discardableResult
    public func expireIdempotencyKeys() async throws -> Int {
        let oldest = now() - dedupWindowMillis
        return try await pool.write { db in
            try db.execute(sql: "DELETE FROM idempotency_keys WHERE created_at < ?", arguments: [oldest])
            return db.changesCount
        }
    }

    public func close() async throws {
        await checkpointer.stop()
        try closeNow()
    }

    /// Closes the database at once (checkpointing the WAL); the pool is closed even if the checkpointer's
    /// connection fails to.
    public func closeNow() throws {
        do {
            try checkpointer.closeNow()
        } catch {
            try pool.close()
            throw error
        }
        try pool.close()
    }
}
