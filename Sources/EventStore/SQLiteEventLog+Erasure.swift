public import EventBus
import GRDB
public import GatewayModel

/// Removing events: GDPR erasure (SPEC §7), retention (SPEC §6.6) and idempotency keys past the window.
extension SQLiteEventLog {
    public func forget(dataSubjectID: String, company: CompanyID?, atMillis: Int64) async throws -> ForgetOutcome {
        try await pool.write { db in
            let scope = company?.rawValue ?? ""
            try db.execute(
                sql: "INSERT OR IGNORE INTO forgotten_subjects (company_id, data_subject_id, forgotten_at) VALUES (?, ?, ?)",
                arguments: [scope, dataSubjectID, atMillis]
            )
            let already = db.changesCount == 0
            // The subject's events: those stored under it, and those that name it besides (`event_subjects`).
            let named = "(data_subject_id = ?1 OR position IN (SELECT position FROM event_subjects WHERE data_subject_id = ?1"
            let companies: [String]
            if let company {
                let scoped = named + " AND company_id = ?2)) AND company_id = ?2"
                let count =
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE " + scoped, arguments: [dataSubjectID, company.rawValue]) ?? 0
                companies = count > 0 ? [company.rawValue] : []
                try db.execute(sql: "DELETE FROM events WHERE " + scoped, arguments: [dataSubjectID, company.rawValue])
            } else {
                let anywhere = named + "))"
                companies = try String.fetchAll(
                    db,
                    sql: "SELECT DISTINCT company_id FROM events WHERE \(anywhere) ORDER BY company_id",
                    arguments: [dataSubjectID]
                )
                try db.execute(sql: "DELETE FROM events WHERE " + anywhere, arguments: [dataSubjectID])
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
}
