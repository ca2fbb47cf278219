/// What a client's cursor says before any log looks it up (SPEC §4): a decimal position written without
/// sign or leading zeros, an `event_id` (a lower-case UUID), or neither. Every ``EventLog`` reads cursors
/// this way, so they accept and refuse exactly the same texts.
public enum CursorText: Sendable, Hashable {
    /// A log position.
    case position(Int64)
    /// The shape of an `event_id`; whether the log holds it is the log's question.
    case eventID
    /// Neither: the client gets `invalid_message` / `invalid_cursor`.
    case malformed

    /// Reads `cursor`.
    public init(_ cursor: String) {
        if let position = Int64(cursor), position >= 0, String(position) == cursor {
            self = .position(position)
        } else if cursor.utf8.count == 36,
            cursor.utf8.allSatisfy({ $0 == 0x2D || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        {
            self = .eventID
        } else {
            self = .malformed
        }
    }
}
