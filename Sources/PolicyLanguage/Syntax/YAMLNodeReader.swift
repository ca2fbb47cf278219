public import GatewayModel
public import Yams

/// Typed, located access to a Yams node tree that reports every problem to a ``DiagnosticSink``.
public struct YAMLNodeReader {
    /// The file being read.
    public let file: String
    /// The problems found so far.
    public var sink = DiagnosticSink()

    /// A reader for `file`.
    public init(file: String) { self.file = file }

    /// The location of a node.
    public func location(of node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// The pairs of a mapping whose keys are in `allowed`; reports unknown keys with a hint.
    public mutating func mapping(_ node: Node, _ what: @autoclosure () -> String, allowed: [String]) -> [(key: String, keyNode: Node, value: Node)]? {
        pairs(node, what(), allowed: allowed)
    }

    /// The pairs of a mapping with any scalar keys (e.g. company ids).
    public mutating func anyMapping(_ node: Node, _ what: @autoclosure () -> String) -> [(key: String, keyNode: Node, value: Node)]? {
        pairs(node, what(), allowed: nil)
    }

    /// One pass over a mapping: scalar keys only, and with `allowed`, known keys only (unknown ones
    /// are reported with a hint). Built once, so each node is copied once: a 10,000-company mapping
    /// made node copies a visible share of compile time.
    private mutating func pairs(_ node: Node, _ what: @autoclosure () -> String, allowed: [String]?) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            typeMismatch(node, what(), expected: "a mapping")
            return nil
        }
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        pairs.reserveCapacity(mapping.count)
        for index in mapping.indices {
            let keyNode = mapping[index].key
            guard case .scalar(let scalar) = keyNode else {
                sink.error(.typeMismatch, location(of: keyNode), "keys in \(what()) must be plain scalars")
                continue
            }
            let key = scalar.string
            if let allowed, !allowed.contains(key) {
                let hint = KeySuggestion.hint(for: key, in: allowed) ?? "allowed keys: \(allowed.map { "'\($0)'" }.joined(separator: ", "))"
                sink.error(.unknownKey, location(of: keyNode), "unknown key '\(key)' in \(what())", hint: hint)
                continue
            }
            pairs.append((key, keyNode, mapping[index].value))
        }
        return pairs
    }

    public mutating func sequence(_ node: Node, _ what: @autoclosure () -> String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            typeMismatch(node, what(), expected: "a list")
            return nil
        }
        return Array(sequence)
    }

    /// A string scalar; with `acceptNumbers`, also an unquoted number (company ids).
    public mutating func string(_ node: Node, _ what: @autoclosure () -> String, acceptNumbers: Bool = false) -> Located<String>? {
        guard case .scalar(let scalar) = node else {
            typeMismatch(node, what(), expected: "a string")
            return nil
        }
        let kind = ScalarKind.of(node)
        if kind == .string || (acceptNumbers && kind == .int && ScalarKind.isDigitsOnly(scalar.string)) {
            return Located(scalar.string, at: location(of: node))
        }
        if acceptNumbers && kind == .int {
            sink.error(
                .typeMismatch,
                location(of: node),
                "\(what()) '\(scalar.string)' is not a plain number",
                hint: "quote it, e.g. \"\(scalar.string)\""
            )
            return nil
        }
        typeMismatch(node, what(), expected: "a string")
        return nil
    }

    public mutating func int(_ node: Node, _ what: @autoclosure () -> String) -> Located<Int>? {
        guard let value = ScalarKind.intValue(node) else {
            if ScalarKind.of(node) == .int {
                sink.error(.typeMismatch, location(of: node), "\(what()) is out of range", hint: "use a number between \(Int.min) and \(Int.max)")
            } else {
                typeMismatch(node, what(), expected: "an integer")
            }
            return nil
        }
        return Located(value, at: location(of: node))
    }

    public mutating func bool(_ node: Node, _ what: @autoclosure () -> String) -> Located<Bool>? {
        guard let value = ScalarKind.boolValue(node) else {
            typeMismatch(node, what(), expected: "true or false")
            return nil
        }
        return Located(value, at: location(of: node))
    }

    /// A list of strings.
    public mutating func strings(_ node: Node, _ what: @autoclosure () -> String) -> [Located<String>]? {
        guard let items = sequence(node, what()) else { return nil }
        return items.compactMap { string($0, "each entry of \(what())") }
    }

    public mutating func typeMismatch(_ node: Node, _ what: @autoclosure () -> String, expected: String) {
        var hint: String?
        if case .scalar(let scalar) = node, ScalarKind.of(node) == .string, scalar.style != .plain {
            let unquoted = (try? ScalarKind.compose(scalar.string)).flatMap { $0 }
            if let unquoted, let kind = ScalarKind.of(unquoted), kind != .string { hint = "remove the quotes" }
        }
        sink.error(.typeMismatch, location(of: node), "\(what()) must be \(expected), found \(Self.describe(node))", hint: hint)
    }

    public static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch ScalarKind.of(node) {
            case .null: return "an empty value"
            case .bool: return "the boolean '\(scalar.string)'"
            case .int: return "the integer \(scalar.string)"
            case .float: return "the number \(scalar.string)"
            case .other: return "'\(scalar.string.prefix(40))', which YAML reads as a date or another typed value (quote it)"
            default: return "the string '\(scalar.string.prefix(40))'"
            }
        }
    }
}
