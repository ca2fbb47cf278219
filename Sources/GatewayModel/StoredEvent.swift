/// An event as the log holds it: the envelope the wire carries (already JSON) and the few fields the
/// gateway routes, filters and purges by, so that fan-out never parses the envelope.
public struct StoredEvent: Sendable, Hashable {
    /// The log position: strictly increasing, never reused; the cursor of this event.
    public var position: Int64
    /// `event_id`, a UUIDv7.
    public var eventID: String
    /// `event_type`.
    public var eventType: String
    /// `metadata.company_id`.
    public var companyID: CompanyID
    /// `metadata.region`.
    public var region: Region
    /// `metadata.gdpr_context.data_subject_id`, when set (for erasure).
    public var dataSubjectID: String?
    /// `metadata.gdpr_context.retention_days`.
    public var retentionDays: Int
    /// When the gateway accepted the event, in milliseconds since 1970.
    public var createdAtMillis: Int64
    /// The envelope as JSON text: `{"event_id","event_type","timestamp","data","metadata"}`.
    public var envelope: String

    /// Creates a stored event.
    public init(
        position: Int64,
        eventID: String,
        eventType: String,
        companyID: CompanyID,
        region: Region,
        dataSubjectID: String?,
        retentionDays: Int,
        createdAtMillis: Int64,
        envelope: String
    ) {
        self.position = position
        self.eventID = eventID
        self.eventType = eventType
        self.companyID = companyID
        self.region = region
        self.dataSubjectID = dataSubjectID
        self.retentionDays = retentionDays
        self.createdAtMillis = createdAtMillis
        self.envelope = envelope
    }

    /// The cursor that resumes after this event.
    public var cursor: String { String(position) }
}

/// An event to append: a ``StoredEvent`` without its position, plus its idempotency key.
public struct NewEvent: Sendable, Hashable {
    /// Everything but the position (which the log assigns; the value here is ignored).
    public var event: StoredEvent
    /// `metadata.idempotency_key`; unique per company within the dedup window.
    public var idempotencyKey: String
    /// Data subjects the event names besides `event.dataSubjectID` (the subject in its data when the
    /// publisher's `gdpr_context` named another): the append is refused when any of them is forgotten.
    public var otherDataSubjectIDs: [String]

    /// Creates an event to append.
    public init(event: StoredEvent, idempotencyKey: String, otherDataSubjectIDs: [String] = []) {
        self.event = event
        self.idempotencyKey = idempotencyKey
        self.otherDataSubjectIDs = otherDataSubjectIDs
    }
}

/// The outcome of appending one event.
public enum AppendOutcome: Sendable, Hashable {
    /// Appended at this position.
    case appended(StoredEvent)
    /// The company already published this idempotency key within the window: the original event's id and position.
    case duplicate(eventID: String, position: Int64)
    /// Not appended: the event's data subject was erased (SPEC §7). The check is part of the write,
    /// so no event of an erased subject is stored after its erasure committed.
    case subjectForgotten
}

/// Where a cursor points.
public enum CursorPosition: Sendable, Hashable {
    /// Resume after this position.
    case after(Int64)
    /// The cursor names history that is no longer retained (or an event id the log does not know).
    case expired
    /// Not a cursor at all.
    case malformed
}
