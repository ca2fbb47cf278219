#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interned topic segments: maps a segment's UTF-8 bytes to a small integer without allocating.
///
/// Open addressing with the entries inline in the slot array, so a probe touches one cache line.
/// A segment's key is its first 8 bytes as one integer plus a hash over 8-byte chunks: most
/// segments (`deal`, `stage`, `updated`) compare in one instruction. Built once, then only read.
struct SegmentTable: Sendable {
    struct Entry: Sendable {
        var hash: UInt64 = 0
        /// The first 8 bytes, little-endian, zero-padded.
        var first: UInt64 = 0
        var length: Int32 = 0
        /// Where the bytes start in ``bytes`` (only compared past the first 8).
        var offset: Int32 = 0
        /// The segment's id; -1 for an empty slot.
        var id: Int32 = -1
    }

    private var slots: [Entry]
    private var keys: [(hash: UInt64, first: UInt64, length: Int32, offset: Int32)] = []
    private var bytes: [UInt8] = []
    private var mask: Int

    /// An empty table; it doubles whenever it is half full.
    init() {
        slots = [Entry](repeating: Entry(), count: 16)
        mask = 15
    }

    var count: Int { keys.count }

    /// The key of the segment whose id is `id`, and where its bytes start in ``storedBytes``.
    func storedKey(_ id: Int32) -> (hash: UInt64, first: UInt64, length: Int32, offset: Int32) { keys[Int(id)] }

    /// Every segment's bytes, back to back.
    var storedBytes: [UInt8] { bytes }

    /// The id of the segment whose key is `key`, whose bytes are `bytes[start..<end]`; -1 when the
    /// policy never names it.
    @inline(__always)
    func id(of key: SegmentKey, in bytes: UnsafePointer<UInt8>, start: Int, end: Int) -> Int32 {
        let length = end - start
        var slot = Int(truncatingIfNeeded: key.hash >> 32) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let entry = slots[slot]
                if entry.id < 0 { return -1 }
                if entry.hash == key.hash && entry.first == key.first && Int(entry.length) == length
                    && (length <= 8 || tailMatches(entry, bytes + start, length))
                {
                    return entry.id
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The id of `segment`, or -1 when the policy never names it.
    func id(of segment: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard let base = segment.baseAddress else { return -1 }
        let (key, end) = SegmentKey.scan(base, from: 0, to: segment.count)
        guard end == segment.count else { return -1 }
        return id(of: key, in: base, start: 0, end: end)
    }

    private func tailMatches(_ entry: Entry, _ segment: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        bytes.withUnsafeBufferPointer { stored in
            memcmp(stored.baseAddress! + Int(entry.offset) + 8, segment + 8, length - 8) == 0
        }
    }

    /// The id of `segment`, adding it when new.
    mutating func intern(_ segment: String) -> Int32 {
        let utf8 = Array(segment.utf8)
        return utf8.withUnsafeBufferPointer { buffer in
            let existing = id(of: buffer)
            if existing >= 0 { return existing }
            if (count + 1) * 2 > slots.count { grow() }
            let (segmentKey, end) = SegmentKey.scan(buffer.baseAddress!, from: 0, to: buffer.count)
            precondition(end == buffer.count && end > 0, "segments are validated before they are interned")
            let key = (hash: segmentKey.hash, first: segmentKey.first, length: Int32(buffer.count), offset: Int32(bytes.count))
            bytes.append(contentsOf: buffer)
            keys.append(key)
            insert(id: Int32(keys.count - 1))
            return Int32(keys.count - 1)
        }
    }

    private mutating func insert(id: Int32) {
        let key = keys[Int(id)]
        var slot = Int(truncatingIfNeeded: key.hash >> 32) & mask
        while slots[slot].id >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Entry(hash: key.hash, first: key.first, length: key.length, offset: key.offset, id: id)
    }

    private mutating func grow() {
        slots = [Entry](repeating: Entry(), count: slots.count * 2)
        mask = slots.count - 1
        for index in 0..<count { insert(id: Int32(index)) }
    }
}

/// The hash key of a topic segment: its first 8 bytes as one integer (most segments then compare
/// in one instruction) and a hash over its 8-byte words, whose high bits index the tables. Built while the segment is validated,
/// 8 bytes at a time (SWAR), so scanning a topic costs a few instructions per word, not per byte.
struct SegmentKey {
    var hash: UInt64
    var first: UInt64

    private static let lowBits: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    private static let highBits: UInt64 = 0x8080_8080_8080_8080
    private static let ones: UInt64 = 0x0101_0101_0101_0101

    /// Scans the segment starting at `start`: the longest run of `[a-z0-9_]` before `end`.
    /// - Returns: the segment's key and the position just past it (`start` when empty).
    @inline(__always)
    static func scan(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) -> (key: SegmentKey, end: Int) {
        var hash: UInt64 = 0x243F_6A88_85A3_08D3
        var first: UInt64 = 0
        var position = start
        while position < end {
            let word = load(base, position, end)
            let stops = ~segmentBytes(word) & highBits
            let count = stops == 0 ? 8 : stops.trailingZeroBitCount &>> 3
            if count == 0 { break }
            let chunk = count == 8 ? word : word & ((1 &<< UInt64(count &* 8)) &- 1)
            if position == start { first = chunk }
            hash = (hash ^ chunk) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash &>> 31
            position &+= count
            if count < 8 { break }
        }
        // No finishing round, and no length: segment bytes are never zero, so the zero-padded last
        // word already ends the segment, and tables index by the multiply's well-mixed high bits.
        return (SegmentKey(hash: hash, first: first), position)
    }

    /// The little-endian word of the (up to) 8 bytes at `position`, zero past `end`; never reads
    /// outside `base[0..<end]`. Requires `position < end`.
    @inline(__always)
    private static func load(_ base: UnsafePointer<UInt8>, _ position: Int, _ end: Int) -> UInt64 {
        let remaining = end &- position
        if remaining >= 8 { return UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)) }
        if end >= 8 {
            let last = UInt64(littleEndian: UnsafeRawPointer(base + end - 8).loadUnaligned(as: UInt64.self))
            return last &>> UInt64((8 &- remaining) &* 8)
        }
        var value: UInt64 = 0
        for offset in 0..<remaining { value |= UInt64(base[position &+ offset]) &<< UInt64(offset &* 8) }
        return value
    }

    /// The high bit of each byte of `word` that is one of `[a-z0-9_]`. Each byte is tested with
    /// additions that cannot carry into its neighbour (bytes are first limited to 7 bits).
    @inline(__always)
    private static func segmentBytes(_ word: UInt64) -> UInt64 {
        let x = word & lowBits
        let digit = (x &+ ones &* (0x80 - 0x30)) & ~(x &+ ones &* (0x7F - 0x39))
        let lower = (x &+ ones &* (0x80 - 0x61)) & ~(x &+ ones &* (0x7F - 0x7A))
        let difference = x ^ (ones &* 0x5F)
        let underscore = ~((difference &+ lowBits) | difference)
        return (digit | lower | underscore) & ~word & highBits
    }
}

/// Trie edges keyed by (node, segment id), in one open-addressing table whose slots hold key and
/// child together, so a probe touches one cache line.
struct EdgeTable: Sendable {
    private struct Slot: Sendable {
        var key = EdgeTable.empty
        var child: Int32 = -1
    }

    private var slots: [Slot]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init() {
        slots = [Slot](repeating: Slot(), count: 16)
        mask = 15
    }

    private static func key(_ node: Int32, _ segment: Int32) -> UInt64 { UInt64(UInt32(node)) << 32 | UInt64(UInt32(segment)) }
    private static func slot(_ key: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask }

    /// The child of `node` along `segment`, or -1.
    @inline(__always)
    func child(of node: Int32, segment: Int32) -> Int32 {
        let key = Self.key(node, segment)
        var slot = Self.slot(key, mask)
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let stored = slots[slot]
                if stored.key == key { return stored.child }
                if stored.key == Self.empty { return -1 }
                slot = (slot + 1) & mask
            }
        }
    }

    mutating func set(_ child: Int32, of node: Int32, segment: Int32) {
        if (count + 1) * 2 > slots.count { grow() }
        let key = Self.key(node, segment)
        var slot = Self.slot(key, mask)
        while slots[slot].key != Self.empty && slots[slot].key != key { slot = (slot + 1) & mask }
        if slots[slot].key == Self.empty { count += 1 }
        slots[slot] = Slot(key: key, child: child)
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        mask = slots.count - 1
        count = 0
        for entry in old where entry.key != Self.empty {
            set(entry.child, of: Int32(truncatingIfNeeded: entry.key >> 32), segment: Int32(truncatingIfNeeded: entry.key & 0xFFFF_FFFF))
        }
    }
}
