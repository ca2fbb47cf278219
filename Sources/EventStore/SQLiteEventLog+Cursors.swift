public import EventBus
import GRDB
public import GatewayModel

/// Cursors: the head, and what a client's cursor resolves to in this log's epoch.
extension SQLiteEventLog {
    public func head() async throws -> Int64 {
        try await pool.read { db in try Self.head(db) }
    }

    /// The highest position ever assigned (`sqlite_sequence` survives purges of the newest rows).
    static func head(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0
    }

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
        let text = CursorText(cursor)
        if case .position(let position) = text {
            return try await pool.read { db in
                // Events of this company after the cursor were removed by retention: the client cannot resume.
                if try Self.isExpired(db, position, company) { return .expired }
                // "0" is the start of the retained history. A position of an older epoch (a wiped or recreated
                // log) lies below this log's base; one past the head is another log's, or forged: neither may
                // resume silently past events this log does not have.
                let head = try Self.head(db)
                guard position == 0 || (position >= epochBase - 1 && position <= head) else { return .expired }
                return .after(position)
            }
        }
        guard text == .eventID else { return .malformed }
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
}
