import GatewayModel

/// Stage 5: warns about patterns that match some event type in common. The engine handles them
/// (union of role grants, the most specific rule's GDPR), but an author should know.
enum CheckOverlaps {
    /// Only patterns with the same first segment (or a leading `*`) can overlap, so pairs are compared
    /// within those groups rather than across the whole whitelist.
    static func run(_ state: inout CompilationState) {
        var byFirstSegment: [String: [Int]] = [:]
        var wildcardFirst: [Int] = []
        for (index, pattern) in state.patterns.enumerated() {
            // Shadow rules are alternatives on trial, not additions: they overlap live rules on purpose.
            guard let pattern, state.topics[index].shadow?.value != true else { continue }
            if case .literal(let first) = pattern.segments[0] {
                byFirstSegment[first, default: []].append(index)
            } else {
                wildcardFirst.append(index)
            }
        }
        var groups = Array(byFirstSegment.values)
        if !wildcardFirst.isEmpty { groups = groups.map { $0 + wildcardFirst } + [wildcardFirst] }
        var reported: Set<Int> = []
        for group in groups {
            for (position, a) in group.enumerated() {
                for b in group[(position + 1)...] where a != b {
                    let (first, second) = a < b ? (a, b) : (b, a)
                    guard let p = state.patterns[first], let q = state.patterns[second], p.text != q.text, p.overlaps(q) else { continue }
                    let key = first * state.patterns.count + second
                    guard reported.insert(key).inserted, let location = state.topics[second].pattern?.location,
                        let firstLocation = state.topics[first].pattern?.location
                    else { continue }
                    let relation = p.covers(q) ? "is covered by" : q.covers(p) ? "covers" : "overlaps"
                    state.sink.warning(
                        .overlappingPatterns,
                        location,
                        "pattern '\(q.text)' \(relation) '\(p.text)' (at \(firstLocation)); events matching both get the union of their role grants and the more specific rule's GDPR",
                        hint: "narrow one pattern if this is not intended"
                    )
                }
            }
        }
    }
}
