import GRDB

/// The embedded log's schema, as GRDB migrations applied in order when a log is opened.
enum LogSchema {
    /// Every migration; `nowMillis` dates a log created from nothing (its epoch, see ``epochBase(_:)``).
    static func migrator(nowMillis: Int64) -> DatabaseMigrator {
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
        migrator.registerMigration("v4: epoch") { db in
            // The epoch lives in the position space: a log created from nothing starts its positions at
            // createdAtMillis * 1000 + 1, so a cursor of an older, wiped log lies below this one's base
            // and resolves as expired. A log that already assigned positions keeps base 1.
            try db.execute(
                sql: """
                    CREATE TABLE log_meta (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        epoch_base INTEGER NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    """
            )
            let assigned = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'")
            let base = assigned == nil ? nowMillis * 1000 + 1 : 1
            try db.execute(sql: "INSERT INTO log_meta (id, epoch_base, created_at) VALUES (1, ?, ?)", arguments: [base, nowMillis])
            if assigned == nil {
                // AUTOINCREMENT continues after the sequence: the first event gets `base`.
                try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", arguments: [base - 1])
            }
        }
        migrator.registerMigration("v5: other subjects") { db in
            // The subjects an event names besides its `data_subject_id` (a publisher's `gdpr_context` and the
            // topic's `data_subject` field can name two people): a forget of either purges the event.
            try db.execute(
                sql: """
                    CREATE TABLE event_subjects (
                        position INTEGER NOT NULL REFERENCES events(position) ON DELETE CASCADE,
                        company_id TEXT NOT NULL,
                        data_subject_id TEXT NOT NULL
                    );
                    CREATE INDEX event_subjects_by_subject ON event_subjects(data_subject_id, company_id);
                    CREATE INDEX event_subjects_by_position ON event_subjects(position);
                    """
            )
        }
        return migrator
    }

    /// The first position of this log's epoch (1 for a log created before epochs).
    static func epochBase(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT epoch_base FROM log_meta WHERE id = 1") ?? 1
    }
}
