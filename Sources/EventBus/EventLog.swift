public import GatewayModel

/// The durable history behind cursors, replay and polling (SPEC §5). The embedded default is SQLite;
/// Redis Streams and NATS JetStream implement the same protocol.
///
/// Guarantees every implementation keeps: positions strictly increase in commit order and are never
/// reused; an `append` that returns has made its events durable; reads see every append that returned.
public protocol EventLog: Sendable {
    /// Appends events in order, in one durable write; an event whose (company, idempotency key) was
    /// seen within the dedup window is not appended again.
    func append(_ events: [NewEvent]) async throws -> [AppendOutcome]

    /// Up to `limit` events after `position`, in log order, only `company`'s when given, and the head,
    /// read from one snapshot: no event of that company exists between the last one returned and `head`.
    func read(after position: Int64, company: CompanyID?, limit: Int) async throws -> LogPage

    /// The position of the newest event (0 when empty).
    func head() async throws -> Int64

    /// Resolves a client's cursor: a position, or an `event_id` of `company` (another company's event id
    /// resolves as unknown, so ids reveal nothing across tenants).
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
}

/// A page of the log: events in order and the head of the snapshot they were read from.
public struct LogPage: Sendable {
    /// The newest position at the time of the read.
    public var head: Int64
    /// The events, in log order.
    public var events: [StoredEvent]

    /// Creates a page.
    public init(head: Int64, events: [StoredEvent]) {
        self.head = head
        self.events = events
    }
}
