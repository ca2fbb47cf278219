#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whitelist trie determinised: one state per distinct set of live trie paths, so finding the
/// rules that cover a topic is one table probe per segment and a precomputed list at the end,
/// instead of a walk that may branch at every inner `*`.
///
/// A state is the ordered list of what a depth-first walk of the trie would still have in hand
/// after the segments read so far: live trie nodes, and rules with a trailing `*` already matched.
/// Keeping that order makes a state's matches come out in exactly the walk's order (literal
/// subtrees before `*`, shallower trailing-`*` rules before deeper ones). Built once at compile
/// time up to ``maximumStates``; a topic that reaches a state past the bound is matched by the walk.
struct TopicAutomaton: Sendable {
    struct State: Sendable {
        /// The next state for a segment that no live node has a literal edge for (or an inner `*`);
        /// ``unbuilt`` (as is ``restWildcard``) when this state's transitions were not built.
        var other: Int32 = 0
        /// The next state for a trailing `*` of a subscription pattern.
        var restWildcard: Int32 = 0
        /// The rules matched when the topic ends here: `accepts[acceptStart ..< acceptStart + acceptCount]`.
        var acceptStart: Int32 = 0
        var acceptCount: Int32 = 0
        /// The accepted rule of highest specificity (the first written on a tie), or -1.
        var mostSpecific: Int32 = -1
    }

    /// Marks a state whose transitions were not built (the automaton hit its bound).
    static let unbuilt: Int32 = -2
    /// The most states built; policies whose inner `*` patterns combine into more fall back to the walk.
    static let maximumStates = 20_000

    private(set) var states: [State] = []
    private(set) var accepts: [Int32] = []
    /// Literal transitions keyed by (state, segment bytes).
    private var literals = LiteralEdges()

    /// The state every lookup starts in.
    static let start: Int32 = 0

    /// Whether every state's transitions were built.
    private(set) var isComplete = true

    /// The state after `state` reads the literal segment `base[start..<end]`, whose key is `key`:
    /// one probe keyed by state and segment together, so the segment is never looked up on its own.
    @inline(__always)
    func next(_ state: Int32, literal key: SegmentKey, in base: UnsafePointer<UInt8>, start: Int, end: Int) -> Int32 {
        let next = literals.next(state, key, base + start, end &- start)
        if next >= 0 { return next }
        return states.withUnsafeBufferPointer { $0[Int(state)].other }
    }

    /// The state after `state` reads a wildcard segment of a subscription pattern.
    @inline(__always)
    func next(_ state: Int32, wildcardIsLast: Bool) -> Int32 {
        states.withUnsafeBufferPointer { wildcardIsLast ? $0[Int(state)].restWildcard : $0[Int(state)].other }
    }

    /// Appends the rules matched by a topic that ends in `state`.
    @inline(__always)
    func appendAccepts(of state: Int32, to matches: inout RuleMatches) {
        states.withUnsafeBufferPointer { states in
            accepts.withUnsafeBufferPointer { accepts in
                let state = states[Int(state)]
                for offset in 0..<Int(state.acceptCount) { matches.append(accepts[Int(state.acceptStart) &+ offset]) }
                matches.mostSpecific = Int(state.mostSpecific)
            }
        }
    }

    /// Determinises the trie of `nodes`, whose literal edges are `children`.
    init(
        nodes: [TopicTrie.Node],
        ruleRefs: [Int32],
        children: [[(segment: Int32, child: Int32)]],
        specificities: [Int32],
        segments: SegmentTable
    ) {
        guard !nodes.isEmpty else { return }
        var literalEdges: [(state: Int32, segment: Int32, next: Int32)] = []
        var builder = Builder(nodes: nodes, ruleRefs: ruleRefs, children: children, specificities: specificities)
        _ = builder.intern([0])
        var cursor = 0
        while cursor < builder.items.count {
            let state = Int32(cursor)
            let items = builder.items[cursor]
            cursor += 1
            var literals: [Int32] = []
            var seen: Set<Int32> = []
            for item in items where item >= 0 {
                for edge in children[Int(item)] where seen.insert(edge.segment).inserted { literals.append(edge.segment) }
            }
            guard let other = builder.intern(builder.step(items, .other)),
                let restWildcard = builder.intern(builder.step(items, .restWildcard))
            else {
                builder.markUnbuilt(state)
                isComplete = false
                continue
            }
            var built = true
            var stateEdges: [(Int32, Int32)] = []
            for segment in literals {
                guard let next = builder.intern(builder.step(items, .literal(segment))) else {
                    built = false
                    break
                }
                stateEdges.append((segment, next))
            }
            guard built else {
                builder.markUnbuilt(state)
                isComplete = false
                continue
            }
            builder.states[cursor - 1].other = other
            builder.states[cursor - 1].restWildcard = restWildcard
            for (segment, next) in stateEdges { literalEdges.append((state, segment, next)) }
        }
        states = builder.states
        accepts = builder.accepts
        literals = LiteralEdges(literalEdges, segments: segments)
    }

    /// The rule of highest specificity among `rules` (the first written on a tie), or -1.
    static func mostSpecific(_ rules: some Collection<Int32>, specificities: [Int32]) -> Int32 {
        var best: Int32 = -1
        for rule in rules {
            if best < 0 || specificities[Int(rule)] > specificities[Int(best)]
                || (specificities[Int(rule)] == specificities[Int(best)] && rule < best)
            {
                best = rule
            }
        }
        return best
    }

    /// What a state holds while it is built: items are trie nodes (`>= 0`) and matched
    /// trailing-`*` rules (`-1 - rule`), in walk order.
    private struct Builder {
        enum Symbol {
            case literal(Int32)
            case other
            case restWildcard
        }

        let nodes: [TopicTrie.Node]
        let ruleRefs: [Int32]
        let children: [[(segment: Int32, child: Int32)]]
        let specificities: [Int32]
        var ids: [[Int64]: Int32] = [:]
        var items: [[Int64]] = []
        var states: [State] = []
        var accepts: [Int32] = []

        init(nodes: [TopicTrie.Node], ruleRefs: [Int32], children: [[(segment: Int32, child: Int32)]], specificities: [Int32]) {
            self.nodes = nodes
            self.ruleRefs = ruleRefs
            self.children = children
            self.specificities = specificities
        }

        /// Leaves `state` without transitions: every segment read from it leads to ``unbuilt``.
        mutating func markUnbuilt(_ state: Int32) {
            states[Int(state)].other = TopicAutomaton.unbuilt
            states[Int(state)].restWildcard = TopicAutomaton.unbuilt
        }

        /// The state of `list`, created (with its accepted rules) when new; `nil` past the bound.
        mutating func intern(_ list: [Int64]) -> Int32? {
            if let id = ids[list] { return id }
            guard items.count < TopicAutomaton.maximumStates else { return nil }
            let id = Int32(items.count)
            ids[list] = id
            items.append(list)
            var state = State()
            state.acceptStart = Int32(accepts.count)
            for item in list {
                if item < 0 {
                    accepts.append(Int32(-1 - item))
                } else {
                    let node = nodes[Int(item)]
                    for offset in 0..<Int(node.exactCount) { accepts.append(ruleRefs[Int(node.exactStart) + offset]) }
                }
            }
            state.acceptCount = Int32(accepts.count) - state.acceptStart
            state.mostSpecific = TopicAutomaton.mostSpecific(accepts[Int(state.acceptStart)...], specificities: specificities)
            states.append(state)
            return id
        }

        /// The items after reading one more segment, in the order the depth-first walk visits them.
        func step(_ list: [Int64], _ symbol: Symbol) -> [Int64] {
            var next: [Int64] = []
            for item in list {
                guard item >= 0 else {
                    next.append(item)
                    continue
                }
                let node = nodes[Int(item)]
                // A trailing `*` at this node matches: at least one more segment is being read.
                for offset in 0..<Int(node.restCount) { next.append(-1 - Int64(ruleRefs[Int(node.restStart) + offset])) }
                switch symbol {
                case .literal(let segment):
                    if let edge = children[Int(item)].first(where: { $0.segment == segment }) { next.append(Int64(edge.child)) }
                    if node.one >= 0 { next.append(Int64(node.one)) }
                case .other:
                    if node.one >= 0 { next.append(Int64(node.one)) }
                case .restWildcard:
                    break
                }
            }
            return next
        }
    }
}

/// The automaton's literal transitions in one open-addressing table keyed by state and segment
/// bytes. A slot is 16 bytes: the segment's first 8 bytes (zero-padded), the state and the target.
/// Segment bytes are never zero, so for a segment of at most 8 bytes those 8 bytes are the whole
/// segment and one slot read decides; a longer segment's slot is marked in its state field and its
/// remaining bytes are compared through ``longSegments``. The table of a thousand-rule whitelist
/// stays within the first levels of cache; reading a segment is one probe.
struct LiteralEdges: Sendable {
    private struct Slot: Sendable {
        var first: UInt64 = 0
        /// The state the edge leaves, with ``longSegment`` set when the segment is longer than 8 bytes.
        var state: Int32 = -1
        /// The state the edge enters; -1 for an empty slot.
        var next: Int32 = -1
    }

    private struct SegmentBytes: Sendable {
        var length: Int32
        var offset: Int32
    }

    /// Marks a slot whose segment is longer than 8 bytes (states are far fewer than 2^30).
    private static let longSegment: Int32 = 1 << 30

    private var slots: [Slot] = [Slot()]
    private var mask = 0
    /// The segment of each slot whose segment is longer than 8 bytes, by slot; -1 elsewhere.
    private var longSegments: [Int32] = []
    private var segments: [SegmentBytes] = []
    private var bytes: [UInt8] = []

    init() {}

    /// The table of `edges` (state, segment id, next state), with the segments' keys from `table`.
    init(_ edges: [(state: Int32, segment: Int32, next: Int32)], segments table: SegmentTable) {
        var capacity = 16
        while capacity * 2 < edges.count * 3 { capacity *= 2 }
        slots = [Slot](repeating: Slot(), count: capacity)
        longSegments = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        bytes = table.storedBytes
        segments = (0..<table.count).map { id in
            let key = table.storedKey(Int32(id))
            return SegmentBytes(length: key.length, offset: key.offset)
        }
        for edge in edges {
            let key = table.storedKey(edge.segment)
            var slot = Self.slot(key.hash, edge.state, mask)
            while slots[slot].next >= 0 { slot = (slot + 1) & mask }
            let isLong = key.length > 8
            slots[slot] = Slot(first: key.first, state: isLong ? edge.state | Self.longSegment : edge.state, next: edge.next)
            if isLong { longSegments[slot] = edge.segment }
        }
    }

    @inline(__always)
    private static func slot(_ hash: UInt64, _ state: Int32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (hash ^ (UInt64(UInt32(bitPattern: state)) &* 0x9E37_79B9_7F4A_7C15)) >> 29) & mask
    }

    /// The state after `state` along the segment of `length` bytes at `segment` whose key is `key`, or -1.
    @inline(__always)
    func next(_ state: Int32, _ key: SegmentKey, _ segment: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
        var slot = Self.slot(key.hash, state, mask)
        let wanted = length > 8 ? state | Self.longSegment : state
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let entry = slots[slot]
                if entry.next < 0 { return -1 }
                if entry.first == key.first && entry.state == wanted && (length <= 8 || tailMatches(slot, segment, length)) { return entry.next }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Whether the long segment of `slot` is the `length` bytes at `segment` (whose first 8 bytes already matched).
    private func tailMatches(_ slot: Int, _ segment: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        let stored = segments[Int(longSegments[slot])]
        guard Int(stored.length) == length else { return false }
        return bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + Int(stored.offset) + 8, segment + 8, length - 8) == 0 }
    }
}
