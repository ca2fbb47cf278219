#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a text is not the JSON the gateway accepts, and where.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The byte offset where the problem was found.
    public let offset: Int
    /// What is wrong, in a few words.
    public let reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}

extension JSONValue {
    /// How deeply arrays and objects may nest.
    public static let maximumDepth = 512

    /// Parses strict JSON (RFC 8259) from `text`; see the byte form below.
    public init(parsing text: String) throws(JSONSyntaxError) {
        var text = text
        self = try text.withUTF8 { bytes in Result { () throws(JSONSyntaxError) in try JSONValue(parsingUTF8: bytes) } }.get()
    }

    /// Parses strict JSON (RFC 8259) from raw UTF-8 bytes; see the typed form below.
    public init(parsingUTF8 bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) {
        try self.init(parsingUTF8: bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// Parses strict JSON (RFC 8259) from UTF-8 bytes: one value, surrounded by optional whitespace (and a
    /// leading byte-order mark). Stricter than Foundation's `JSONDecoder`, never laxer: trailing commas,
    /// a key repeated within an object, invalid UTF-8, unpaired surrogate escapes, control characters
    /// in strings, numbers outside `Double`'s range, and nesting deeper than ``maximumDepth`` are refused.
    /// Numbers keep their literal text (``JSONNumber``): integers of any size stay exact.
    /// Written for the publish path: one pass over the bytes, strings without escapes built straight
    /// from them, no `Codable` (whose failed type probes cost more than the parse).
    public init(parsingUTF8 bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        guard let base = bytes.baseAddress else { throw JSONSyntaxError(offset: 0, reason: "empty input") }
        var parser = JSONParser(base: base, end: bytes.count)
        self = try parser.document()
    }
}

/// The recursive-descent parser behind ``JSONValue/init(parsingUTF8:)``.
struct JSONParser {
    private let base: UnsafePointer<UInt8>
    private let end: Int
    private var index = 0
    private var depth = 0

    init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    mutating func document() throws(JSONSyntaxError) -> JSONValue {
        if end >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF { index = 3 }
        skipWhitespace()
        let value = try value()
        skipWhitespace()
        guard index == end else { throw failure("unexpected text after the value") }
        return value
    }

    private func failure(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, reason: reason) }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < end {
            switch base[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index &+= 1
            default: return
            }
        }
    }

    private mutating func value() throws(JSONSyntaxError) -> JSONValue {
        guard index < end else { throw failure("unexpected end of input") }
        switch base[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard end - index >= count, memcmp(base + index, word.utf8Start, count) == 0 else { throw failure("unexpected character") }
        index &+= count
        return value
    }

    /// Steps into a container at its opening bracket; `true` when it closes at once (`{}`, `[]`).
    private mutating func enter(closing: UInt8) throws(JSONSyntaxError) -> Bool {
        depth &+= 1
        guard depth <= JSONValue.maximumDepth else { throw failure("nested more than \(JSONValue.maximumDepth) deep") }
        index &+= 1
        skipWhitespace()
        guard index < end, base[index] == closing else { return false }
        index &+= 1
        depth &-= 1
        return true
    }

    /// After a member: `false` past a comma (another member follows), `true` past the `closing` bracket.
    private mutating func endOfMember(closing: UInt8) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard index < end else { throw failure("unexpected end of input") }
        if base[index] == UInt8(ascii: ",") {
            index &+= 1
            skipWhitespace()
            return false
        }
        guard base[index] == closing else { throw failure("expected ',' or '\(Character(Unicode.Scalar(closing)))'") }
        index &+= 1
        depth &-= 1
        return true
    }

    private mutating func object() throws(JSONSyntaxError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        if try enter(closing: UInt8(ascii: "}")) { return .object(members) }
        while true {
            guard index < end, base[index] == UInt8(ascii: "\"") else { throw failure("expected a key in double quotes") }
            let keyOffset = index
            let key = try string()
            skipWhitespace()
            guard index < end, base[index] == UInt8(ascii: ":") else { throw failure("expected ':' after the key") }
            index &+= 1
            skipWhitespace()
            let member = try value()
            // Keys compare as Swift strings (canonically equivalent spellings are one key), as the object stores them.
            guard members.updateValue(member, forKey: key) == nil else {
                throw JSONSyntaxError(offset: keyOffset, reason: "key '\(key.prefix(64))' appears twice in one object")
            }
            if try endOfMember(closing: UInt8(ascii: "}")) { return .object(members) }
        }
    }

    private mutating func array() throws(JSONSyntaxError) -> JSONValue {
        var elements: [JSONValue] = []
        if try enter(closing: UInt8(ascii: "]")) { return .array(elements) }
        while true {
            elements.append(try value())
            if try endOfMember(closing: UInt8(ascii: "]")) { return .array(elements) }
        }
    }

    /// A string; `index` is at its opening quote. A string without escapes becomes a `String` straight
    /// from the input's bytes (validated as UTF-8); escapes are decoded into a byte buffer first.
    private mutating func string() throws(JSONSyntaxError) -> String {
        index &+= 1
        let start = index
        var ascii = true
        while index < end {
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                let bytes = UnsafeBufferPointer(start: base + start, count: index &- start)
                index &+= 1
                if ascii { return String(decoding: bytes, as: UTF8.self) }
                guard let text = String(validating: bytes, as: UTF8.self) else { throw JSONSyntaxError(offset: start, reason: "invalid UTF-8") }
                return text
            }
            if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
            guard byte >= 0x20 else { throw failure("control character in a string") }
            if byte >= 0x80 { ascii = false }
            index &+= 1
        }
        throw failure("unterminated string")
    }

    private mutating func escapedString(from start: Int) throws(JSONSyntaxError) -> String {
        var bytes = [UInt8](UnsafeBufferPointer(start: base + start, count: index &- start))
        while index < end {
            let byte = base[index]
            switch byte {
            case UInt8(ascii: "\""):
                index &+= 1
                guard let text = String(validating: bytes, as: UTF8.self) else { throw JSONSyntaxError(offset: start, reason: "invalid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                index &+= 1
                guard index < end else { throw failure("unterminated string") }
                let escape = base[index]
                index &+= 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(escape)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"): append(try unicodeEscape(), to: &bytes)
                default:
                    index &-= 1
                    throw failure("unknown escape")
                }
            default:
                guard byte >= 0x20 else { throw failure("control character in a string") }
                bytes.append(byte)
                index &+= 1
            }
        }
        throw failure("unterminated string")
    }

    /// The scalar of a `\uXXXX` escape (`index` just past the `u`), joining a surrogate pair.
    private mutating func unicodeEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        let first = try hex4()
        if (0xDC00...0xDFFF).contains(first) { throw failure("unpaired surrogate escape") }
        guard (0xD800...0xDBFF).contains(first) else { return Unicode.Scalar(first)! }
        guard end - index >= 2, base[index] == UInt8(ascii: "\\"), base[index + 1] == UInt8(ascii: "u") else {
            throw failure("unpaired surrogate escape")
        }
        index &+= 2
        let second = try hex4()
        guard (0xDC00...0xDFFF).contains(second) else { throw failure("unpaired surrogate escape") }
        return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard end - index >= 4 else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = base[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index &+= 1
        }
        return value
    }

    private func append(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        for unit in UTF8.encode(scalar)! { bytes.append(unit) }
    }

    /// A number (RFC 8259 grammar), kept as its literal. An integer of up to 308 digits is within
    /// `Double`'s range by its length alone; only fractions and exponents are converted, to refuse
    /// those that overflow or underflow.
    private mutating func number() throws(JSONSyntaxError) -> JSONNumber {
        let start = index
        if base[index] == UInt8(ascii: "-") { index &+= 1 }
        let integerStart = index
        guard index < end, isDigit(base[index]) else { throw failure("expected a digit") }
        if base[index] == UInt8(ascii: "0") {
            index &+= 1
            if index < end && isDigit(base[index]) { throw failure("leading zero in a number") }
        } else {
            while index < end && isDigit(base[index]) { index &+= 1 }
        }
        let integerDigits = index &- integerStart
        var isInteger = true
        if index < end && base[index] == UInt8(ascii: ".") {
            isInteger = false
            index &+= 1
            guard index < end, isDigit(base[index]) else { throw failure("expected a digit after '.'") }
            while index < end && isDigit(base[index]) { index &+= 1 }
        }
        let mantissaEnd = index
        if index < end && (base[index] == UInt8(ascii: "e") || base[index] == UInt8(ascii: "E")) {
            isInteger = false
            index &+= 1
            if index < end && (base[index] == UInt8(ascii: "+") || base[index] == UInt8(ascii: "-")) { index &+= 1 }
            guard index < end, isDigit(base[index]) else { throw failure("expected a digit in the exponent") }
            while index < end && isDigit(base[index]) { index &+= 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: index &- start), as: UTF8.self)
        if isInteger && integerDigits <= 308 { return JSONNumber(validated: text) }
        // A nonzero mantissa that reads as 0 underflowed (`1e-400`): refused, as out of range.
        let nonzeroMantissa = (integerStart..<mantissaEnd).contains { base[$0] &- UInt8(ascii: "1") < 9 }
        guard let value = Double(text), value.isFinite, value != 0 || !nonzeroMantissa else {
            throw JSONSyntaxError(offset: start, reason: "number out of range")
        }
        return JSONNumber(validated: text)
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
