public import GatewayModel

/// The rules whose patterns cover a topic, collected without allocating for up to eight rules.
public struct RuleMatches: Sendable {
    @usableFromInline var inline: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Matches past the eighth; `nil` (no reference to count) in the common case.
    @usableFromInline var overflow: [Int32]? = nil
    /// How many rules matched.
    public internal(set) var count = 0
    /// The matched rule whose pattern has the highest specificity (the first written on a tie),
    /// or -1 when none matched: its GDPR declarations enrich a published event.
    public internal(set) var mostSpecific = -1

    /// No matches.
    public init() {}

    mutating func append(_ rule: Int32) {
        switch count {
        case 0: inline.0 = rule
        case 1: inline.1 = rule
        case 2: inline.2 = rule
        case 3: inline.3 = rule
        case 4: inline.4 = rule
        case 5: inline.5 = rule
        case 6: inline.6 = rule
        case 7: inline.7 = rule
        default: overflow = (overflow ?? []) + [rule]
        }
        count += 1
    }

    /// The rule index of the `position`-th match.
    @inlinable @inline(__always) public subscript(position: Int) -> Int {
        switch position {
        case 0: Int(inline.0)
        case 1: Int(inline.1)
        case 2: Int(inline.2)
        case 3: Int(inline.3)
        case 4: Int(inline.4)
        case 5: Int(inline.5)
        case 6: Int(inline.6)
        case 7: Int(inline.7)
        default: Int(overflow?[position - 8] ?? -1)
        }
    }

    /// Whether no rule matched.
    @inlinable public var isEmpty: Bool { count == 0 }
}

/// The whitelist as a trie over interned segments, determinised into a ``TopicAutomaton``.
/// Finding the rules that cover a topic or pattern is one probe per segment, whatever the number
/// of rules; it does not allocate. A class whose tables are constants: deciding reaches them
/// through one pointer, without copying (or reference-counting) any of them.
public final class TopicTrie: Sendable {
    /// A node as plain values, so walking the trie retains nothing: its rule lists are ranges of ``ruleRefs``.
    struct Node: Sendable {
        /// The child for an inner `*`, or -1.
        var one: Int32 = -1
        /// Rules whose trailing `*` sits at this depth: `ruleRefs[restStart ..< restStart + restCount]`.
        var restStart: Int32 = 0
        var restCount: Int32 = 0
        /// Rules without a trailing `*` that end at this node.
        var exactStart: Int32 = 0
        var exactCount: Int32 = 0
    }

    private static let oneWildcard: Int32 = -2
    private static let restWildcard: Int32 = -3

    private let nodes: [Node]
    private let ruleRefs: [Int32]
    private let segments: SegmentTable
    private let edges: EdgeTable
    private let automaton: TopicAutomaton
    /// Each rule's pattern specificity, by rule.
    private let specificities: [Int32]

    /// Builds the trie of `patterns`; rule `i` is `patterns[i]`.
    init(patterns: [TopicPattern], including included: (Int) -> Bool = { _ in true }) {
        var builder = TrieBuilder()
        var rest: [Int32: [Int32]] = [:]
        var exact: [Int32: [Int32]] = [:]
        for (rule, pattern) in patterns.enumerated() where included(rule) {
            let (node, trailing) = builder.insert(pattern)
            if trailing { rest[node, default: []].append(Int32(rule)) } else { exact[node, default: []].append(Int32(rule)) }
        }
        var ruleRefs: [Int32] = []
        for index in builder.nodes.indices {
            let restRules = rest[Int32(index)] ?? []
            builder.nodes[index].restStart = Int32(ruleRefs.count)
            builder.nodes[index].restCount = Int32(restRules.count)
            ruleRefs.append(contentsOf: restRules)
            let exactRules = exact[Int32(index)] ?? []
            builder.nodes[index].exactStart = Int32(ruleRefs.count)
            builder.nodes[index].exactCount = Int32(exactRules.count)
            ruleRefs.append(contentsOf: exactRules)
        }
        let specificities = patterns.map { Int32($0.specificity) }
        self.nodes = builder.nodes
        self.ruleRefs = ruleRefs
        self.segments = builder.segments
        self.edges = builder.edges
        self.specificities = specificities
        self.automaton = TopicAutomaton(
            nodes: builder.nodes,
            ruleRefs: ruleRefs,
            children: builder.children,
            specificities: specificities,
            segments: builder.segments
        )
    }

    /// The number of trie nodes.
    public var nodeCount: Int { nodes.count }

    /// The number of states of the determinised trie, and whether all of them were built (when not,
    /// topics that reach the missing ones are matched by walking the trie).
    public var automatonSize: (states: Int, complete: Bool) { (automaton.states.count, automaton.isComplete) }

    /// The rules whose patterns cover `topic`: a concrete event type, or, with `allowWildcards`, a
    /// subscription pattern (covered means every event type it matches is matched by the rule).
    /// - Returns: the matches, or the syntax problem when `topic` is malformed.
    public func rules(covering topic: String, allowWildcards: Bool) -> Result<RuleMatches, TopicSyntaxProblem> {
        var matches = RuleMatches()
        if let problem = rules(covering: topic, allowWildcards: allowWildcards, into: &matches) { return .failure(problem) }
        return .success(matches)
    }

    /// The hot-path form of ``rules(covering:allowWildcards:)``: appends to `matches` and returns
    /// the syntax problem, if any. One pass over the bytes validates, splits and hashes the segments.
    public func rules(covering topic: String, allowWildcards: Bool, into matches: inout RuleMatches) -> TopicSyntaxProblem? {
        if let found = topic.utf8.withContiguousStorageIfAvailable({ lookup($0, allowWildcards: allowWildcards, into: &matches) }) {
            return found
        }
        return rulesCopying(topic, allowWildcards: allowWildcards, into: &matches)
    }

    /// The path for a string without contiguous UTF-8 (a bridged one). Kept out of line: with the
    /// copy in the same function, the optimiser retains and releases every topic around the lookup.
    @inline(never)
    private func rulesCopying(_ topic: String, allowWildcards: Bool, into matches: inout RuleMatches) -> TopicSyntaxProblem? {
        Array(topic.utf8).withUnsafeBufferPointer { lookup($0, allowWildcards: allowWildcards, into: &matches) }
    }

    func lookup(_ bytes: UnsafeBufferPointer<UInt8>, allowWildcards: Bool, into matches: inout RuleMatches) -> TopicSyntaxProblem? {
        var state = TopicAutomaton.start
        guard segmentIDs(bytes, allowWildcards: allowWildcards, into: nil, state: &state) != nil else {
            return EventType.problem(inUTF8: bytes, allowWildcards: allowWildcards) ?? .empty
        }
        if state >= 0 {
            automaton.appendAccepts(of: state, to: &matches)
            return nil
        }
        // Past the automaton's bound: intern every segment and walk the trie.
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: EventType.maximumSegments) { ids in
            var interning: Int32 = -1
            let count = segmentIDs(bytes, allowWildcards: allowWildcards, into: ids.baseAddress, state: &interning) ?? 0
            let first = matches.count
            walk(ids: UnsafeBufferPointer(rebasing: ids[0..<count]), into: &matches)
            let found = (first..<matches.count).map { Int32(matches[$0]) }
            matches.mostSpecific = Int(TopicAutomaton.mostSpecific(found, specificities: specificities))
        }
        return nil
    }

    /// Splits and validates the segments of `bytes` in one pass, 8 bytes at a time, and moves the
    /// automaton along them from `state`; once `state` is negative (the automaton has no state for
    /// this topic, or the caller passed -1) it interns the segments into `ids` instead, when given
    /// (room for ``EventType/maximumSegments``), for the walk.
    /// `nil` when malformed in any way (the caller then asks ``EventType`` for the precise problem).
    private func segmentIDs(
        _ bytes: UnsafeBufferPointer<UInt8>,
        allowWildcards: Bool,
        into ids: UnsafeMutablePointer<Int32>?,
        state: inout Int32
    ) -> Int? {
        guard let base = bytes.baseAddress, !bytes.isEmpty, bytes.count <= EventType.maximumLength else { return nil }
        let end = bytes.count
        var count = 0
        var position = 0
        while true {
            guard count < EventType.maximumSegments else { return nil }
            let (key, segmentEnd) = SegmentKey.scan(base, from: position, to: end)
            if segmentEnd == position {
                // Not a literal: only a whole-segment `*` in a pattern.
                guard allowWildcards, position < end, base[position] == UInt8(ascii: "*") else { return nil }
                position &+= 1
                if state >= 0 {
                    state = automaton.next(state, wildcardIsLast: position == end)
                } else if let ids {
                    ids[count] = position == end ? Self.restWildcard : Self.oneWildcard
                }
            } else {
                if state >= 0 {
                    state = automaton.next(state, literal: key, in: base, start: position, end: segmentEnd)
                } else if let ids {
                    ids[count] = segments.id(of: key, in: base, start: position, end: segmentEnd)
                }
                position = segmentEnd
            }
            count &+= 1
            if position == end { break }
            guard base[position] == UInt8(ascii: ".") else { return nil }
            position &+= 1
        }
        return count >= EventType.minimumSegments ? count : nil
    }

    /// Depth-first over the trie without recursion (for topics past the automaton's bound): the literal child is followed at once and an inner
    /// `*` alternative is pushed (one per level at most), so matches come in the same order as a
    /// recursive walk: literal subtrees first.
    private func walk(ids: UnsafeBufferPointer<Int32>, into matches: inout RuleMatches) {
        nodes.withUnsafeBufferPointer { nodes in
            ruleRefs.withUnsafeBufferPointer { ruleRefs in
                // Pending `*` alternatives have strictly increasing depths in 1...8, so eight slots suffice.
                var stack: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
                withUnsafeMutableBytes(of: &stack) { raw in
                    let stack = raw.bindMemory(to: (node: Int32, depth: Int32).self)
                    var pending = 0
                    var index: Int32 = 0
                    var depth = 0
                    while true {
                        let node = nodes[Int(index)]
                        var next: Int32 = -1
                        if depth >= ids.count {
                            for offset in 0..<Int(node.exactCount) { matches.append(ruleRefs[Int(node.exactStart) &+ offset]) }
                        } else {
                            for offset in 0..<Int(node.restCount) { matches.append(ruleRefs[Int(node.restStart) &+ offset]) }
                            let segment = ids[depth]
                            if segment != Self.restWildcard, node.one >= 0 {
                                stack[pending] = (node.one, Int32(depth &+ 1))
                                pending &+= 1
                            }
                            if segment >= 0 { next = edges.child(of: index, segment: segment) }
                        }
                        if next >= 0 {
                            index = next
                            depth &+= 1
                            continue
                        }
                        if pending == 0 { return }
                        pending &-= 1
                        index = stack[pending].node
                        depth = Int(stack[pending].depth)
                    }
                }
            }
        }
    }
}

/// The trie while it is built: nodes, interned segments and literal edges.
private struct TrieBuilder {
    var nodes: [TopicTrie.Node] = [TopicTrie.Node()]
    // Grown as segments are interned, so the table stays as small (and as cache-resident) as the
    // number of distinct segments allows: patterns share most of theirs.
    var segments = SegmentTable()
    var edges = EdgeTable()
    /// The literal edges of each node, for the automaton.
    var children: [[(segment: Int32, child: Int32)]] = [[]]

    /// Adds the path of `pattern`; returns its last node and whether the pattern ends in a trailing `*`.
    mutating func insert(_ pattern: TopicPattern) -> (Int32, Bool) {
        var node: Int32 = 0
        for segment in pattern.segments {
            switch segment {
            case .rest:
                return (node, true)
            case .one:
                if nodes[Int(node)].one < 0 {
                    nodes.append(TopicTrie.Node())
                    children.append([])
                    nodes[Int(node)].one = Int32(nodes.count - 1)
                }
                node = nodes[Int(node)].one
            case .literal(let literal):
                let id = segments.intern(literal)
                var child = edges.child(of: node, segment: id)
                if child < 0 {
                    nodes.append(TopicTrie.Node())
                    children.append([])
                    child = Int32(nodes.count - 1)
                    edges.set(child, of: node, segment: id)
                    children[Int(node)].append((id, child))
                }
                node = child
            }
        }
        return (node, false)
    }
}
