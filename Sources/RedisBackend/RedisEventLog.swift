public import EventBus
public import GatewayModel
import ServiceLifecycle
import Synchronization

/// The event log in Redis, shared by every node on one Redis (SPEC §5): history in Redis Streams,
/// positions from one counter, and each append — forgotten-subject check, idempotency check, stores and
/// the `PUBLISH` that announces it to every node — in one Lua script (``LogScripts``), so no event is
/// stored without being announced or announced without being stored.
///
/// Durability is Redis': with `appendonly yes` and `appendfsync always` an append that returned survives
/// `kill -9` of redis-server. A Redis that lost its data (no persistence, `FLUSHALL`) starts a new epoch
/// above every old position, so old cursors resolve as expired, never as a silent gap.
public final class RedisEventLog: EventLog {
    let client: RedisClient
    /// The key namespace, `rg:{<channel prefix>}:`.
    let namespace: [UInt8]
    /// Events are announced on `<channelPrefix>.<event type>`.
    public let channelPrefix: String
    /// The Redis channel events are announced on starts with this (`rg:<db>:<channel prefix>`).
    let redisChannelPrefix: String
    let dedupWindowMillis: Int64
    let now: @Sendable () -> Int64
    private let closed = Atomic<Bool>(false)
    /// The highest position this node has seen (appended, read or delivered): appends never go below it, so
    /// a Redis that lost its newest writes (`everysec`, a failover) never gives a position out twice.
    private let highWater = Atomic<Int64>(0)
    private let undecodable = Atomic<Int>(0)
    /// Events removed per erasure script call; an erasure of more runs in several calls (it is recorded
    /// as forgotten in the first, so no new event of the subject is stored meanwhile).
    let forgetBatch: Int
    /// Replicas that must have an append before it is acknowledged (`WAIT`); 0 waits for none.
    let waitReplicas: Int
    /// How long an append waits for them before it fails as unavailable.
    let waitTimeoutMillis: Int

    /// Opens the log (connections are made on first use).
    /// - Parameters:
    ///   - url: the Redis server.
    ///   - channelPrefix: `EVENT_BUS_CHANNEL_PREFIX`; also names the key namespace.
    ///   - connections: connections in the pool.
    ///   - dedupWindowSeconds: the idempotency window.
    ///   - now: the clock for the idempotency window, in ms since 1970.
    public init(
        url: RedisURL,
        channelPrefix: String,
        connections: Int = 4,
        dedupWindowSeconds: Int = 86_400,
        forgetBatch: Int = 1_000,
        waitReplicas: Int = 0,
        waitTimeoutMillis: Int = 1_000,
        now: @escaping @Sendable () -> Int64 = { Timestamp.nowMillis() }
    ) {
        var settings = RedisConnection.Settings(url: url)
        settings.scripts = LogScripts.all
        client = RedisClient(settings: settings, count: connections, name: "redis-log")
        namespace = Array(Self.namespace(channelPrefix: channelPrefix).utf8)
        self.channelPrefix = channelPrefix
        redisChannelPrefix = RedisEventBus.redisChannel(channelPrefix, database: url.database)
        dedupWindowMillis = Int64(dedupWindowSeconds) * 1000
        self.forgetBatch = max(1, forgetBatch)
        self.waitReplicas = max(0, waitReplicas)
        self.waitTimeoutMillis = max(1, waitTimeoutMillis)
        self.now = now
    }

    /// Notes a position this node has seen (the bus calls it for every event it delivers).
    public func observe(_ position: Int64) { highWater.max(position, ordering: .relaxed) }

    /// Stream entries skipped because this build could not decode them (a newer wire version, damage).
    public var undecodableEntries: Int { undecodable.load(ordering: .relaxed) }

    /// The key namespace of a channel prefix: every key of the log starts with it (one hash slot).
    public static func namespace(channelPrefix: String) -> String { "rg:{\(channelPrefix)}:" }

    /// The script announces each append with `PUBLISH`: the pipeline must not publish it again.
    public var announcesAppends: Bool { true }

    private func run(_ script: RedisScript, _ arguments: [[UInt8]]) async throws -> RedisReply {
        guard !closed.load(ordering: .acquiring) else { throw RedisError.closed }
        return try await client.run(script, keys: [namespace], arguments: arguments)
    }

    public func append(_ events: [NewEvent]) async throws -> [AppendOutcome] {
        guard !events.isEmpty else { return [] }
        var arguments: [[UInt8]] = [
            Array(String(now()).utf8), Array(String(dedupWindowMillis).utf8), Array(redisChannelPrefix.utf8),
            Array(String(highWater.load(ordering: .relaxed)).utf8), Array(String(events.count).utf8),
        ]
        arguments.reserveCapacity(4 + events.count * 10)
        for new in events {
            var event = new.event
            event.position = 0
            let others = Array(Set(new.otherDataSubjectIDs).subtracting([event.dataSubjectID].compactMap { $0 })).sorted()
            arguments.append(event.encoded())
            arguments.append(Array(event.eventID.utf8))
            arguments.append(Array(event.eventType.utf8))
            arguments.append(Array(event.companyID.rawValue.utf8))
            arguments.append(event.dataSubjectID == nil ? [UInt8(ascii: "0")] : [UInt8(ascii: "1")])
            arguments.append(Array((event.dataSubjectID ?? "").utf8))
            arguments.append(Array(String(event.retentionDays).utf8))
            arguments.append(Array(String(event.createdAtMillis).utf8))
            arguments.append(Array(new.idempotencyKey.utf8))
            arguments.append(Array(String(others.count).utf8))
            arguments += others.map { Array($0.utf8) }
        }
        guard !closed.load(ordering: .acquiring) else { throw RedisError.closed }
        // With replicas to wait for, `WAIT` follows the script on the same connection: the append is
        // acknowledged only once that many replicas have it, so a failover to one of them loses nothing.
        let wait: RedisCommand? =
            waitReplicas > 0 ? [Array("WAIT".utf8), Array(String(waitReplicas).utf8), Array(String(waitTimeoutMillis).utf8)] : nil
        let (reply, waited) = try await client.connection.run(LogScripts.append, keys: [namespace], arguments: arguments, then: wait)
        if let waited {
            let copies = try waited.checked().int64 ?? 0
            guard copies >= Int64(waitReplicas) else {
                throw RedisError.unavailable("only \(copies) of \(waitReplicas) replicas acknowledged the append within \(waitTimeoutMillis) ms")
            }
        }
        let replies = reply.elements
        guard replies.count == events.count else {
            throw RedisError.unexpectedReply("append returned \(replies.count) outcomes for \(events.count) events")
        }
        let outcomes: [AppendOutcome] = try zip(events, replies).map { new, reply in
            let fields = reply.elements
            switch fields.first?.string {
            case "a":
                guard let position = fields.dropFirst().first?.int64 else { throw RedisError.unexpectedReply("append without a position") }
                var event = new.event
                event.position = position
                return .appended(event)
            case "d":
                guard fields.count == 3, let id = fields[1].string, let position = fields[2].int64 else {
                    throw RedisError.unexpectedReply("a duplicate without its event")
                }
                return .duplicate(eventID: id, position: position)
            case "f": return .subjectForgotten
            default: throw RedisError.unexpectedReply("append outcome \(String(describing: fields.first))")
            }
        }
        for case .appended(let event) in outcomes { observe(event.position) }
        return outcomes
    }

    public func read(after position: Int64, company: CompanyID?, limit: Int) async throws -> LogPage {
        let reply = try await run(
            LogScripts.read,
            [Array(String(max(0, position)).utf8), Array((company?.rawValue ?? "").utf8), Array(String(max(1, limit)).utf8)]
        )
        let items = reply.elements
        guard let head = items.first?.int64 else { throw RedisError.unexpectedReply("read without a head") }
        observe(head)
        var events: [StoredEvent] = []
        events.reserveCapacity(items.count / 2)
        var skipped: Int64?
        var index = 1
        while index + 1 < items.count {
            guard let id = items[index].string, let position = Int64(id.prefix { $0 != "-" }), case .bulk(let bytes) = items[index + 1] else {
                throw RedisError.unexpectedReply("a log entry without its position or encoding")
            }
            index += 2
            // An entry this build cannot read is passed over (and counted), never a reader stuck on it.
            guard var event = try? StoredEvent(decoding: bytes) else {
                undecodable.add(1, ordering: .relaxed)
                skipped = position
                continue
            }
            event.position = position
            events.append(event)
        }
        let scanned = skipped.map { max($0, events.last?.position ?? $0) }
        return LogPage(head: head, events: events, scannedThrough: scanned)
    }

    public func head() async throws -> Int64 {
        guard let head = try await run(LogScripts.head, []).elements.first?.int64 else { throw RedisError.unexpectedReply("no head") }
        observe(head)
        return head
    }

    public func resolve(cursor: String, company: CompanyID) async throws -> CursorPosition {
        let kind: UInt8
        switch CursorText(cursor) {
        case .position: kind = UInt8(ascii: "p")
        case .eventID: kind = UInt8(ascii: "i")
        case .malformed: return .malformed
        }
        let arguments = [[kind], Array(cursor.utf8), Array(company.rawValue.utf8)]
        let reply = try await run(LogScripts.resolve, arguments).elements
        if reply.first?.string == "a", let position = reply.dropFirst().first?.int64 { return .after(position) }
        return .expired
    }

    /// Redis expires idempotency keys by itself (`PEXPIRE` past the window); the window is also checked
    /// on every append, so a key past it is new even before Redis removed it. Returns 0.
    public func expireIdempotencyKeys() async throws -> Int { 0 }

    public func purgeExpired(nowMillis: Int64, limit: Int) async throws -> Int {
        Int(try await run(LogScripts.purge, [Array(String(nowMillis).utf8), Array(String(max(1, limit)).utf8)]).int64 ?? 0)
    }

    public func forget(dataSubjectID: String, company: CompanyID?, atMillis: Int64) async throws -> ForgetOutcome {
        var purged = 0
        var companies: Set<CompanyID> = []
        var alreadyForgotten: Bool?
        // The first call records the erasure (so the subject's events are refused from then on); each call
        // removes at most `forgetBatch` events, so no script holds Redis for long.
        while true {
            let reply = try await run(
                LogScripts.forget,
                [
                    Array(dataSubjectID.utf8), Array((company?.rawValue ?? "").utf8), Array(String(atMillis).utf8),
                    Array(String(forgetBatch).utf8),
                ]
            ).elements
            guard reply.count >= 3, let removed = reply[0].int64, let already = reply[1].int64, let more = reply[2].int64 else {
                throw RedisError.unexpectedReply("forget outcome")
            }
            purged += Int(removed)
            companies.formUnion(reply.dropFirst(3).compactMap(\.string).map { CompanyID($0) })
            if alreadyForgotten == nil { alreadyForgotten = already == 1 }
            if more == 0 { break }
        }
        return ForgetOutcome(purged: purged, companies: companies.sorted(), alreadyForgotten: alreadyForgotten ?? false)
    }

    public func forgottenSubjects() async throws -> [ForgottenSubject] {
        guard !closed.load(ordering: .acquiring) else { throw RedisError.closed }
        let fields = try await client.connection.send([[Array("HKEYS".utf8), namespace + Array("forgotten".utf8)]])[0].checked().elements
        return fields.compactMap { field in
            guard let text = field.string, let colon = text.firstIndex(of: ":"), let length = Int(text[..<colon]) else { return nil }
            let rest = text[text.index(after: colon)...]
            guard rest.utf8.count >= length else { return nil }
            let company = String(decoding: rest.utf8.prefix(length), as: UTF8.self)
            let subject = String(decoding: rest.utf8.dropFirst(length), as: UTF8.self)
            return ForgottenSubject(dataSubjectID: subject, company: company.isEmpty ? nil : CompanyID(company))
        }
    }

    /// Serves until graceful shutdown, then closes the connections.
    public func run() async throws {
        try? await gracefulShutdown()
        try await close()
    }

    /// A real round trip on every connection; unhealthy after ``close()`` or when Redis does not answer.
    public func health() async -> ComponentHealth {
        guard !closed.load(ordering: .acquiring) else { return .unhealthy("the event log is closed") }
        do {
            try await client.ping()
            return .healthy
        } catch {
            return .unhealthy("the event log in Redis cannot be read: \(error)")
        }
    }

    public func close() async throws {
        closed.store(true, ordering: .releasing)
        client.close()
    }
}
