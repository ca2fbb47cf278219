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
        let explicit = scalar.tag.rawValue
        if !explicit.isEmpty && explicit != "!" { return resolved(node) }
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

    /// The value of a boolean scalar.
    public static func boolValue(_ node: Node) -> Bool? {
        guard of(node) == .bool, case .scalar(let scalar) = node else { return nil }
        return trueWords.contains(scalar.string)
    }

    /// The value of an integer scalar.
    public static func intValue(_ node: Node) -> Int? {
        guard of(node) == .int, case .scalar(let scalar) = node else { return nil }
        return isPlainDecimal(scalar.string) ? Int(scalar.string) : Int.construct(from: scalar)
    }

    static let trueWords: Set<String> = ["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
    static let boolWords: Set<String> = trueWords.union(["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"])
    static let nullWords: Set<String> = ["null", "Null", "NULL"]

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
        case .float: return Double(scalar.string.replacingOccurrences(of: "_", with: "")) ?? Double.construct(from: scalar)
        default: return nil
        }
    }

    /// Falls back to Yams' own (regular-expression) resolution for the rare forms: hex, octal,
    /// floats, timestamps, explicit tags.
    static func resolved(_ node: Node) -> ScalarKind {
        guard case .scalar(let scalar) = node else { return .other }
        let explicit = scalar.tag.rawValue
        let name = !explicit.isEmpty && explicit != "!" ? Tag.Name(rawValue: explicit) : Resolver.default.resolveTag(of: node)
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
