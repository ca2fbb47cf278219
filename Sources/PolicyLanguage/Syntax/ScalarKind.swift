import Foundation
public import Yams

/// What a YAML scalar is (YAML 1.1 core types, as Yams' default resolver decides), found without
/// Yams' regular expressions for the common cases: a policy with 10,000 companies has tens of
/// thousands of scalars, and regex resolution dominated compile time.
public enum ScalarKind: Sendable, Equatable {
    case string, int, bool, float, null, other

    /// The kind of `node`; `nil` when it is not a scalar.
    public static func of(_ node: Node) -> ScalarKind? {
        guard case .scalar(let scalar) = node else { return nil }
        if isExplicitlyTagged(scalar) { return resolved(node) }
        // The non-specific tag (`! 5`) makes a scalar a string, in YAML and in Yams.
        if scalar.tag.rawValue == Tag.Name.nonSpecific.rawValue { return .string }
        if scalar.style != .plain && scalar.style != .any { return .string }
        let text = scalar.string
        guard let first = text.utf8.first else { return .null }
        switch first {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
            if isPlainDecimal(text) { return .int }
            return resolved(node)
        case UInt8(ascii: "~"):
            return text == "~" ? .null : .string
        default:
            if boolWords.contains(text) { return .bool }
            if nullWords.contains(text) { return .null }
            if text == "<<" || text == "=" { return resolved(node) }
            return .string
        }
    }

    /// Whether the scalar carries a tag of its own (`!!int 5`). Yams' duplicate-key check caches the
    /// basic resolver's `str` on plain mapping keys, so a plain scalar tagged `str` counts as untagged.
    static func isExplicitlyTagged(_ scalar: Node.Scalar) -> Bool {
        let tag = scalar.tag.rawValue
        if tag.isEmpty || tag == "!" { return false }
        return !(tag == Tag.Name.str.rawValue && (scalar.style == .plain || scalar.style == .any))
    }

    /// The value of a boolean scalar.
    public static func boolValue(_ node: Node) -> Bool? {
        guard of(node) == .bool, case .scalar(let scalar) = node else { return nil }
        return trueWords.contains(scalar.string)
    }

    /// The value of an integer scalar.
    public static func intValue(_ node: Node) -> Int? {
        guard of(node) == .int, case .scalar(let scalar) = node else { return nil }
        return parseInteger(scalar.string)
    }

    static let trueWords: Set<String> = ["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
    static let boolWords: Set<String> = trueWords.union(["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"])
    static let nullWords: Set<String> = ["null", "Null", "NULL"]

    /// A YAML 1.1 integer (decimal, `0x`, `0o`/`0`, `0b`, with `_` separators), or `nil` when out of
    /// range or in the sexagesimal `1:30` form (Yams' own conversion traps on overflow there).
    static func parseInteger(_ text: String) -> Int? {
        var digits = text.replacingOccurrences(of: "_", with: "")
        var sign = 1
        if digits.hasPrefix("-") || digits.hasPrefix("+") {
            sign = digits.hasPrefix("-") ? -1 : 1
            digits.removeFirst()
        }
        let radix: Int
        if digits.hasPrefix("0x") {
            radix = 16
            digits.removeFirst(2)
        } else if digits.hasPrefix("0b") {
            radix = 2
            digits.removeFirst(2)
        } else if digits.hasPrefix("0o") {
            radix = 8
            digits.removeFirst(2)
        } else if digits.count > 1 && digits.hasPrefix("0") {
            radix = 8
            digits.removeFirst()
        } else {
            radix = 10
        }
        // `Int(_:radix:)` takes a sign of its own: without this, `!!int --1` would read as 1.
        guard let first = digits.first, first != "+" && first != "-", let magnitude = Int(digits, radix: radix) else { return nil }
        return sign * magnitude
    }

    /// Whether `text` is only decimal digits (no sign, separators or other bases): the only form
    /// accepted where a number stands for an id, since `1_000` or `+5` would otherwise be kept verbatim.
    public static func isDigitsOnly(_ text: String) -> Bool { !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }

    /// `[-+]?(0|[1-9][0-9]*)` within Int's range.
    static func isPlainDecimal(_ text: String) -> Bool {
        var bytes = text.utf8[...]
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        guard let first = bytes.first, bytes.count <= 18 else { return false }
        if first == UInt8(ascii: "0") { return bytes.count == 1 }
        return bytes.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// Parses YAML into nodes without Yams' implicit typing (policy files are composed with the
    /// basic resolver, so no regular expression runs per scalar); ``of(_:)`` types scalars instead.
    public static func compose(_ text: String) throws -> Node? {
        try Yams.compose(yaml: text, .basic)
    }

    /// The value of a number scalar (integer or float) as a `Double`.
    public static func numberValue(_ node: Node) -> Double? {
        guard case .scalar(let scalar) = node else { return nil }
        switch of(node) {
        case .int: return intValue(node).map(Double.init)
        case .float:
            guard let value = Double(scalar.string.replacingOccurrences(of: "_", with: "")), value.isFinite else { return nil }
            return value
        default: return nil
        }
    }

    /// Falls back to Yams' own (regular-expression) resolution for the rare forms: hex, octal,
    /// floats, timestamps, explicit tags.
    static func resolved(_ node: Node) -> ScalarKind {
        guard case .scalar(let scalar) = node else { return .other }
        let name = isExplicitlyTagged(scalar) ? Tag.Name(rawValue: scalar.tag.rawValue) : Resolver.default.resolveTag(of: Node(scalar.string))
        switch name {
        case .str: return .string
        case .int: return .int
        case .bool: return .bool
        case .float: return .float
        case .null: return .null
        default: return .other
        }
    }
}
