/// The log positions of the events a connection was sent live before its first replay finished, in
/// increasing order: that replay skips them, so each event reaches the client once. Holds at most
/// ``capacity`` (the newest); an older one a replay meets is sent again (at-least-once, never a gap).
struct LivePositions {
    /// The most positions kept (8 bytes each): a connection that is sent events and never replays holds at
    /// most 8 KiB for this.
    static let capacity = 1024

    private var positions: [Int64] = []

    /// Records a position sent live; positions arrive in increasing order.
    mutating func append(_ position: Int64) {
        if positions.count >= Self.capacity { positions.removeFirst(Self.capacity / 2) }
        positions.append(position)
    }

    /// Whether `position` was sent live (and is still remembered).
    func contains(_ position: Int64) -> Bool {
        var low = 0
        var high = positions.count
        while low < high {
            let middle = (low + high) / 2
            if positions[middle] < position { low = middle + 1 } else { high = middle }
        }
        return low < positions.count && positions[low] == position
    }
}
