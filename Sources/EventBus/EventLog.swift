public import GatewayModel

/// The durable history behind cursors, replay and polling (SPEC §5). The embedded default is SQLite;
/// Redis Streams and NATS JetStream implement the same protocol.
///
/// Guarantees every implementation keeps:
/// - Positions come from the log alone: they strictly increase in commit order and are never reused, not
///   after the newest events were purged or erased, and not after a restart.
/// - An `append` that returns has made its events durable; reads see every append that returned.
/// - Epoch in the position space: a log created from nothing (a new `DATA_DIR`, a flushed Redis) starts
///   its positions at a base of `createdAtMillis * 1000 + 1` (below 2^53 until the year 2255, so
///   JavaScript clients may hold positions as numbers); a log that existed before epochs has base 1. Logs
///   grow far slower than 1,000 events per millisecond, so every position of an older log lies below a
///   newer log's base. Cursors stay decimal strings.
/// - `resolve`: `"0"` is the start of the retained history (expired only when retention removed events of
///   the company there); a position below `base - 1` (an older log's) or above the head is `.expired`,
///   never resumed silently; `base - 1`, the head of an empty log, is a valid cursor; an `event_id` of
///   another company, or one the log no longer holds, is `.expired`.
/// - `run()` keeps the log open until graceful shutdown, then flushes and closes it; `health()` does a real
///   read and is unhealthy after `close()`.
public protocol EventLog: BackendComponent {
    /// Appends events in order, in one durable write; an event whose (company, idempotency key) was
    /// seen within the dedup window is not appended again.
    func append(_ events: [NewEvent]) async throws -> [AppendOutcome]

    /// Up to `limit` events after `position`, in log order, only `company`'s when given, and the head,
    /// read from one snapshot: no event of that company exists between the last one returned and `head`.
    func read(after position: Int64, company: CompanyID?, limit: Int) async throws -> LogPage

    /// The position of the newest event ever appended; `base - 1` when nothing was appended yet.
    func head() async throws -> Int64

    /// Resolves a client's cursor: a position, or an `event_id` of `company` (another company's event id
    /// resolves as unknown, so ids reveal nothing across tenants). A position of another epoch (below this
    /// log's base) or above the head is `.expired`.
    func resolve(cursor: String, company: CompanyID) async throws -> CursorPosition

    /// Forgets idempotency keys older than the dedup window; returns how many.
    func expireIdempotencyKeys() async throws -> Int

    /// Removes up to `limit` events whose own retention (`created_at` + `retention_days`) has passed
    /// at `nowMillis`, oldest expiry first, in one write; returns how many. Afterwards a cursor of a
    /// company from before the newest removed event of that company resolves as expired.
    func purgeExpired(nowMillis: Int64, limit: Int) async throws -> Int

    /// Erases a data subject (SPEC §7) in one write: records it as forgotten, for `company` or for
    /// every company when `nil`, and removes its events (those whose `data_subject_id` it is).
    func forget(dataSubjectID: String, company: CompanyID?, atMillis: Int64) async throws -> ForgetOutcome

    /// Every subject recorded as forgotten, so a restarted gate keeps refusing their events.
    func forgottenSubjects() async throws -> [ForgottenSubject]

    /// Flushes and closes; later calls fail.
    func close() async throws

    /// Whether `append` itself announces the appended events to every node's bus subscription, in the same
    /// atomic step that stores them (the Redis log's script `PUBLISH`es): then the publish pipeline must not
    /// hand them to the bus again. `false` for a log that only stores (the embedded SQLite log).
    var announcesAppends: Bool { get }
}

extension EventLog {
    /// A log only stores; the pipeline publishes what it appended.
    public var announcesAppends: Bool { false }
}

/// A page of the log: events in order and the head of the snapshot they were read from.
public struct LogPage: Sendable {
    /// The newest position at the time of the read.
    public var head: Int64
    /// The events, in log order.
    public var events: [StoredEvent]
    /// The position of the last entry the read passed, when it passed entries it could not return (one
    /// written by a newer build, a damaged one): the next page starts after it. `nil` when every entry read
    /// is in `events`.
    public var scannedThrough: Int64?

    /// Creates a page.
    public init(head: Int64, events: [StoredEvent], scannedThrough: Int64? = nil) {
        self.head = head
        self.events = events
        self.scannedThrough = scannedThrough
    }
}
