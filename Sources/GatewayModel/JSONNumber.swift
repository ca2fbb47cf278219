/// A JSON number as it was written: the validated RFC 8259 literal, kept verbatim so that a value
/// travels unchanged (`9007199254740993` stays that integer, `1796376701990666000` is not turned into
/// `1.796376701990666e+18`). ``doubleValue`` is the `Double` view, computed when asked for.
///
/// Two numbers are equal when they denote the same decimal value, exactly: `1000`, `1e3`, `1000.0`
/// and `10E2` are equal, `0` and `-0` are equal, while `9007199254740993` and `9007199254740992` (one
/// `Double`) are not. Hashing follows the same canonical form.
///
/// ```swift
/// let id = JSONNumber(literal: "9007199254740993")   // exact
/// id?.integerText                                      // "9007199254740993"
/// JSONNumber(7.5).literal                              // "7.5"
/// ```
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number's text, valid RFC 8259 (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`).
    public let literal: String

    /// A number from a literal the caller has already validated (the parser).
    init(validated literal: String) { self.literal = literal }

    /// A number from its JSON text; `nil` unless `literal` is one RFC 8259 number within `Double`'s range.
    public init?(literal: String) {
        guard case .number(let number)? = try? JSONValue(parsing: literal), number.literal == literal else { return nil }
        self = number
    }

    /// An integer, exactly.
    public init(_ value: Int) { literal = String(value) }

    /// An integer, exactly.
    public init(_ value: Int64) { literal = String(value) }

    /// An integer, exactly.
    public init(_ value: UInt64) { literal = String(value) }

    /// A `Double`: integral values below 2^53 as integers (`42`, not `42.0`), others in Swift's
    /// shortest round-trip form (`0.1`, `1e-07`); `nil` for infinities and NaN, which JSON cannot carry.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            literal = String(Int64(value))
        } else {
            literal = value.description
        }
    }

    public var description: String { literal }

    /// The value as a `Double`: the nearest one (exact for integers up to 2^53).
    public var doubleValue: Double { Double(literal) ?? .nan }

    /// Whether the literal is written without a fraction or an exponent (`12`, `-0`; not `12.0`, `1e3`).
    public var isInteger: Bool {
        !literal.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// The decimal text of an integer literal of any size (`-0` reads as `0`); `nil` for a literal
    /// with a fraction or an exponent, even an integral one (`7.0`, `1e3`): those are measurements,
    /// not identifiers.
    public var integerText: String? {
        guard isInteger else { return nil }
        return literal == "-0" ? "0" : literal
    }

    /// The value when it is an integer literal that fits in `Int64`.
    public var int64Value: Int64? { isInteger ? Int64(literal) : nil }

    /// The canonical form behind `==` and hashing: sign, significant digits without leading or
    /// trailing zeros, and the power of ten they are scaled by; zero is `(false, [], 0)`.
    private var canonical: (negative: Bool, digits: [UInt8], scale: Int) {
        let utf8 = literal.utf8
        var index = utf8.startIndex
        let negative = utf8.first == UInt8(ascii: "-")
        if negative { index = utf8.index(after: index) }
        var digits: [UInt8] = []
        var fractionCount = 0
        var inFraction = false
        var exponent = 0
        var exponentSign = 1
        while index != utf8.endIndex {
            let byte = utf8[index]
            index = utf8.index(after: index)
            switch byte {
            case UInt8(ascii: "."): inFraction = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                if index != utf8.endIndex, utf8[index] == UInt8(ascii: "-") || utf8[index] == UInt8(ascii: "+") {
                    if utf8[index] == UInt8(ascii: "-") { exponentSign = -1 }
                    index = utf8.index(after: index)
                }
                while index != utf8.endIndex {
                    // Saturates: a literal within Double's range never comes near the bound.
                    exponent = min(exponent * 10 + Int(utf8[index] &- UInt8(ascii: "0")), 1 << 40)
                    index = utf8.index(after: index)
                }
            default:
                if digits.isEmpty && byte == UInt8(ascii: "0") {
                    if inFraction { fractionCount += 1 }
                    continue
                }
                digits.append(byte)
                if inFraction { fractionCount += 1 }
            }
        }
        var scale = exponentSign * exponent - fractionCount
        while digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            scale += 1
        }
        if digits.isEmpty { return (false, [], 0) }
        return (negative, digits, scale)
    }

    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        if lhs.literal == rhs.literal { return true }
        let (left, right) = (lhs.canonical, rhs.canonical)
        return left.negative == right.negative && left.scale == right.scale && left.digits == right.digits
    }

    public func hash(into hasher: inout Hasher) {
        let form = canonical
        hasher.combine(form.negative)
        hasher.combine(form.scale)
        hasher.combine(form.digits)
    }
}

extension JSONNumber: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    /// An integer literal in source (`.number(42)`).
    public init(integerLiteral value: Int64) { self.init(value) }

    /// A float literal in source (`.number(0.5)`); source literals are always finite.
    public init(floatLiteral value: Double) { self = JSONNumber(value) ?? JSONNumber(Int64(0)) }
}
