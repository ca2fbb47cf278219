public import GatewayModel

/// The bus encoding of a ``StoredEvent``: a version byte, then every field, so that nodes of different
/// builds can tell whether they understand each other before reading a field.
///
/// Version 1: `0x01`, position (Int64 big-endian), event id, event type, company id, region (each a
/// UInt32 big-endian byte count and UTF-8), a data-subject flag (0 or 1) and the subject when 1,
/// retention days and created-at milliseconds (Int64 big-endian), then the envelope (UInt32 count, UTF-8).
extension StoredEvent {
    /// The wire version this build writes and the only one it reads.
    public static let wireVersion: UInt8 = 1

    /// The event in the bus encoding (``wireVersion``).
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + eventID.utf8.count + eventType.utf8.count + envelope.utf8.count)
        bytes.append(Self.wireVersion)
        Self.append(position, to: &bytes)
        for text in [eventID, eventType, companyID.rawValue, region.rawValue] { Self.append(text, to: &bytes) }
        if let dataSubjectID {
            bytes.append(1)
            Self.append(dataSubjectID, to: &bytes)
        } else {
            bytes.append(0)
        }
        Self.append(Int64(retentionDays), to: &bytes)
        Self.append(createdAtMillis, to: &bytes)
        Self.append(envelope, to: &bytes)
        return bytes
    }

    /// Decodes the bus encoding.
    /// - Parameter bytes: what ``encoded()`` produced, possibly on another node.
    /// - Throws: ``StoredEventDecodingError`` for an unknown version, a truncated or overlong message, or text that is not UTF-8.
    public init(decoding bytes: [UInt8]) throws(StoredEventDecodingError) {
        var reader = WireReader(bytes: bytes)
        let version = try reader.byte("version")
        guard version == Self.wireVersion else { throw .unsupportedVersion(version) }
        let position = try reader.int64("position")
        let eventID = try reader.string("event_id")
        let eventType = try reader.string("event_type")
        let company = try reader.string("company_id")
        let region = try reader.string("region")
        let dataSubjectID: String?
        switch try reader.byte("data_subject_id flag") {
        case 0: dataSubjectID = nil
        case 1: dataSubjectID = try reader.string("data_subject_id")
        case let flag: throw .invalidFlag(flag)
        }
        let retentionDays = try reader.int64("retention_days")
        let createdAtMillis = try reader.int64("created_at")
        let envelope = try reader.string("envelope")
        guard reader.offset == bytes.count else { throw .trailingBytes(bytes.count - reader.offset) }
        self.init(
            position: position,
            eventID: eventID,
            eventType: eventType,
            companyID: CompanyID(company),
            region: Region(region),
            dataSubjectID: dataSubjectID,
            retentionDays: Int(truncatingIfNeeded: retentionDays),
            createdAtMillis: createdAtMillis,
            envelope: envelope
        )
    }

    private static func append(_ value: Int64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private static func append(_ text: String, to bytes: inout [UInt8]) {
        let count = UInt32(text.utf8.count)
        withUnsafeBytes(of: count.bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: text.utf8)
    }
}

/// Reads the fields of the bus encoding in order.
private struct WireReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func byte(_ field: String) throws(StoredEventDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw bytes.isEmpty ? .empty : .truncated(field) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func int64(_ field: String) throws(StoredEventDecodingError) -> Int64 {
        guard bytes.count - offset >= 8 else { throw .truncated(field) }
        var value: UInt64 = 0
        for byte in bytes[offset..<offset + 8] { value = value << 8 | UInt64(byte) }
        offset += 8
        return Int64(bitPattern: value)
    }

    mutating func string(_ field: String) throws(StoredEventDecodingError) -> String {
        guard bytes.count - offset >= 4 else { throw .truncated(field) }
        var count = 0
        for byte in bytes[offset..<offset + 4] { count = count << 8 | Int(byte) }
        offset += 4
        guard bytes.count - offset >= count else { throw .truncated(field) }
        let slice = bytes[offset..<offset + count]
        offset += count
        guard let text = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8(field) }
        return text
    }
}
