/// A subscription or whitelist pattern (SPEC §3): segments of `[a-z0-9_]+` or `*`.
///
/// A `*` in the last position matches one or more remaining segments; a `*` elsewhere matches
/// exactly one segment. `deal.stage.*` matches `deal.stage.updated` and `deal.stage.a.b`;
/// `deal.*.updated` matches `deal.stage.updated` only.
public struct TopicPattern: Hashable, Sendable, CustomStringConvertible {
    /// One segment of a pattern.
    public enum Segment: Hashable, Sendable {
        /// A literal segment that must equal the event type's segment.
        case literal(String)
        /// An inner `*`: exactly one segment.
        case one
        /// A trailing `*`: one or more segments.
        case rest
    }

    /// The segments in order.
    public let segments: [Segment]
    /// The pattern as written.
    public let text: String

    /// Parses and validates a pattern.
    /// - Parameter text: the pattern, e.g. `deal.stage.*`.
    /// - Throws: ``TopicSyntaxProblem`` when the pattern is malformed.
    public init(_ text: String) throws(TopicSyntaxProblem) {
        var copy = text
        if let problem = copy.withUTF8({ EventType.problem(inUTF8: $0, allowWildcards: true) }) { throw problem }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        var segments: [Segment] = []
        segments.reserveCapacity(parts.count)
        for (index, part) in parts.enumerated() {
            if part == "*" {
                segments.append(index == parts.count - 1 ? .rest : .one)
            } else {
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
        self.text = text
    }

    public var description: String { text }

    /// Whether the pattern ends with a `*` that matches one or more segments.
    public var hasTrailingWildcard: Bool { segments.last == .rest }

    /// Whether the concrete event type `eventType` is matched by this pattern.
    public func matches(_ eventType: String) -> Bool {
        let parts = eventType.split(separator: ".", omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .rest: return parts.count > index
            case .one: if index >= parts.count { return false }
            case .literal(let literal): if index >= parts.count || parts[index] != literal { return false }
            }
        }
        return parts.count == segments.count
    }

    /// Whether every event type matched by `other` is also matched by `self` (equal or narrower).
    public func covers(_ other: TopicPattern) -> Bool {
        let mine = segments
        let theirs = other.segments
        if hasTrailingWildcard {
            guard theirs.count >= mine.count else { return false }
        } else {
            guard !other.hasTrailingWildcard, theirs.count == mine.count else { return false }
        }
        for index in mine.indices {
            switch (mine[index], theirs[index]) {
            case (.rest, _): return true
            case (.one, _): continue
            case (.literal(let a), .literal(let b)): if a != b { return false }
            case (.literal, _): return false
            }
        }
        return true
    }

    /// Whether some event type is matched by both patterns.
    public func overlaps(_ other: TopicPattern) -> Bool {
        let a = segments
        let b = other.segments
        var index = 0
        while index < a.count && index < b.count {
            switch (a[index], b[index]) {
            case (.rest, _), (_, .rest): return true
            case (.literal(let x), .literal(let y)): if x != y { return false }
            default: break
            }
            index += 1
        }
        return a.count == b.count
    }

    /// A rank for choosing the most specific of several matching patterns: more literal segments
    /// first, then more segments, then patterns without a trailing wildcard.
    public var specificity: Int {
        let literals = segments.reduce(0) { $0 + ($1.isLiteral ? 1 : 0) }
        return literals * 100 + segments.count * 10 + (hasTrailingWildcard ? 0 : 1)
    }
}

extension TopicPattern.Segment {
    /// Whether this segment is a literal.
    public var isLiteral: Bool { if case .literal = self { true } else { false } }
}
