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

    init(expectedCount: Int) {
        var size = 16
        while size < expectedCount * 2 { size <<= 1 }
        slots = [Entry](repeating: Entry(), count: size)
        mask = size - 1
    }

    var count: Int { keys.count }

    /// The little-endian value of `bytes[start..<end]` (at most 8 bytes), zero-padded. Reads one
    /// unaligned word, never past the buffer: near its end the word is taken from the last 8 bytes.
    @inline(__always) static func chunk(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
        let length = end - start
        let mask: UInt64 = length >= 8 ? ~0 : (1 << UInt64(length * 8)) - 1
        if bytes.count - start >= 8 {
            return UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + start).loadUnaligned(as: UInt64.self)) & mask
        }
        if bytes.count >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + bytes.count - 8).loadUnaligned(as: UInt64.self))
            return (word >> UInt64((start - (bytes.count - 8)) * 8)) & mask
        }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for position in start..<end {
            value |= UInt64(bytes[position]) << shift
            shift += 8
        }
        return value
    }

    /// The key of `bytes[start..<end]`: its first 8 bytes and a hash over all of its 8-byte chunks.
    @inline(__always) static func key(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (hash: UInt64, first: UInt64) {
        var hash = UInt64(end - start) &* 0x9E37_79B9_7F4A_7C15
        let first = chunk(bytes, start, min(start + 8, end))
        var value = first
        var position = start
        while true {
            hash = (hash ^ value) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 31
            position += 8
            if position >= end { break }
            value = chunk(bytes, position, min(position + 8, end))
        }
        return (hash, first)
    }

    /// The id of `segment`, or -1 when the policy never names it.
    func id(of segment: UnsafeBufferPointer<UInt8>) -> Int32 { id(in: segment, start: 0, end: segment.count) }

    /// The id of the segment `bytes[start..<end]`, or -1 when the policy never names it.
    @inline(__always)
    func id(in bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int) -> Int32 {
        let (hash, first) = Self.key(bytes, start, end)
        let length = end - start
        var slot = Int(truncatingIfNeeded: hash >> 32) & mask
        while true {
            let entry = slots[slot]
            if entry.id < 0 { return -1 }
            if entry.hash == hash && entry.first == first && Int(entry.length) == length
                && (length <= 8 || tailMatches(entry, UnsafeBufferPointer(rebasing: bytes[start..<end])))
            {
                return entry.id
            }
            slot = (slot + 1) & mask
        }
    }

    private func tailMatches(_ entry: Entry, _ segment: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { stored in
            memcmp(stored.baseAddress! + Int(entry.offset) + 8, segment.baseAddress! + 8, segment.count - 8) == 0
        }
    }

    /// The id of `segment`, adding it when new.
    mutating func intern(_ segment: String) -> Int32 {
        let utf8 = Array(segment.utf8)
        return utf8.withUnsafeBufferPointer { buffer in
            let existing = id(of: buffer)
            if existing >= 0 { return existing }
            if (count + 1) * 2 > slots.count { grow() }
            let (hash, first) = Self.key(buffer, 0, buffer.count)
            let key = (hash: hash, first: first, length: Int32(buffer.count), offset: Int32(bytes.count))
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

/// Trie edges keyed by (node, segment id), in one open-addressing table.
struct EdgeTable: Sendable {
    private var keys: [UInt64]
    private var children: [Int32]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init() {
        keys = [UInt64](repeating: Self.empty, count: 16)
        children = [Int32](repeating: -1, count: 16)
        mask = 15
    }

    private static func key(_ node: Int32, _ segment: Int32) -> UInt64 { UInt64(UInt32(node)) << 32 | UInt64(UInt32(segment)) }
    private static func slot(_ key: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask }

    /// The child of `node` along `segment`, or -1.
    @inline(__always)
    func child(of node: Int32, segment: Int32) -> Int32 {
        let key = Self.key(node, segment)
        var slot = Self.slot(key, mask)
        while true {
            let stored = keys[slot]
            if stored == key { return children[slot] }
            if stored == Self.empty { return -1 }
            slot = (slot + 1) & mask
        }
    }

    mutating func set(_ child: Int32, of node: Int32, segment: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let key = Self.key(node, segment)
        var slot = Self.slot(key, mask)
        while keys[slot] != Self.empty && keys[slot] != key { slot = (slot + 1) & mask }
        if keys[slot] == Self.empty { count += 1 }
        keys[slot] = key
        children[slot] = child
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldChildren = children
        keys = [UInt64](repeating: Self.empty, count: oldKeys.count * 2)
        children = [Int32](repeating: -1, count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for (key, child) in zip(oldKeys, oldChildren) where key != Self.empty {
            set(child, of: Int32(truncatingIfNeeded: key >> 32), segment: Int32(truncatingIfNeeded: key & 0xFFFF_FFFF))
        }
    }
}
