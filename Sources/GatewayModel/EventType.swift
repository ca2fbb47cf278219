/// Validation of event types: 2–8 dot-separated segments of `[a-z0-9_]+` (SPEC §3).
///
/// The check walks the UTF-8 bytes once and never allocates, so it is safe on the publish hot path.
public enum EventType {
    /// The fewest segments an event type or pattern may have.
    @inlinable public static var minimumSegments: Int { 2 }
    /// The most segments an event type or pattern may have.
    @inlinable public static var maximumSegments: Int { 8 }
    /// The longest event type accepted, in bytes.
    @inlinable public static var maximumLength: Int { 255 }

    /// Whether `byte` may appear inside a segment.
    @inlinable
    public static func isSegmentByte(_ byte: UInt8) -> Bool {
        // One bit per ASCII byte: `0`-`9` (0x30-0x39) in the low word; `_` (0x5F) and `a`-`z` (0x61-0x7A) in the high.
        let bits: UInt64 = byte & 64 == 0 ? 0x03FF_0000_0000_0000 : 0x07FF_FFFE_8000_0000
        return byte < 128 && (bits &>> UInt64(byte & 63)) & 1 == 1
    }

    /// Why `string` is not a valid event type, or `nil` when it is one.
    public static func problem(in string: String) -> TopicSyntaxProblem? {
        var string = string
        return string.withUTF8 { problem(inUTF8: $0, allowWildcards: false) }
    }

    /// Whether `string` is a valid event type.
    public static func isValid(_ string: String) -> Bool { problem(in: string) == nil }

    /// Shared scanner for event types and patterns.
    public static func problem(inUTF8 bytes: UnsafeBufferPointer<UInt8>, allowWildcards: Bool) -> TopicSyntaxProblem? {
        if bytes.isEmpty { return .empty }
        if bytes.count > maximumLength { return .tooLong(bytes.count) }
        var segments = 1
        var segmentLength = 0
        var segmentIsWildcard = false
        var segmentIndex = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if segmentLength == 0 { return .emptySegment(position: segmentIndex + 1) }
                segments += 1
                segmentIndex += 1
                segmentLength = 0
                segmentIsWildcard = false
                continue
            }
            if byte == UInt8(ascii: "*") {
                guard allowWildcards else { return .wildcardInEventType }
                if segmentLength != 0 { return .partialWildcard(position: segmentIndex + 1) }
                segmentIsWildcard = true
                segmentLength = 1
                continue
            }
            if segmentIsWildcard { return .partialWildcard(position: segmentIndex + 1) }
            guard isSegmentByte(byte) else { return .invalidCharacter(byte, position: segmentIndex + 1) }
            segmentLength += 1
        }
        if segmentLength == 0 { return .emptySegment(position: segmentIndex + 1) }
        if segments < minimumSegments { return .tooFewSegments(segments) }
        if segments > maximumSegments { return .tooManySegments(segments) }
        return nil
    }
}

/// What is wrong with a malformed event type or topic pattern. Plain values only, so returning
/// one (or none) from a hot-path lookup costs no reference counting.
public enum TopicSyntaxProblem: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(Int)
    case emptySegment(position: Int)
    /// The first offending UTF-8 byte and its segment.
    case invalidCharacter(UInt8, position: Int)
    case partialWildcard(position: Int)
    case wildcardInEventType
    case tooFewSegments(Int)
    case tooManySegments(Int)

    public var description: String {
        switch self {
        case .empty: "is empty"
        case .tooLong(let length): "is \(length) bytes long; the limit is \(EventType.maximumLength)"
        case .emptySegment(let position): "has an empty segment at position \(position)"
        case .invalidCharacter(let byte, let position):
            "has \(Self.describe(byte)) in segment \(position); segments use only a-z, 0-9 and _"
        case .partialWildcard(let position): "mixes '*' with other characters in segment \(position); '*' must be a whole segment"
        case .wildcardInEventType: "contains '*'; an event type names one concrete topic"
        case .tooFewSegments(let count): "has \(count) segment; at least \(EventType.minimumSegments) are required"
        case .tooManySegments(let count): "has \(count) segments; at most \(EventType.maximumSegments) are allowed"
        }
    }

    private static func describe(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: " "): "a space"
        case 0x21...0x7E: "'\(Character(Unicode.Scalar(byte)))'"
        case 0x80...: "a non-ASCII character"
        default: "a control character (0x\(String(byte, radix: 16)))"
        }
    }
}
