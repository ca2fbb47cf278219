#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interned topic segments: maps a segment's UTF-8 bytes to a small integer without allocating.
///
/// Open addressing over FNV-1a hashes; built once at compile time and only read afterwards.
struct SegmentTable: Sendable {
    private var slots: [Int32]
    private var hashes: [UInt64] = []
    private var offsets: [Int] = []
    private var lengths: [Int] = []
    /// The bytes of segments of up to 8 bytes, packed little-endian: compared in one instruction.
    private var packed: [UInt64] = []
    private var bytes: [UInt8] = []
    private var mask: Int

    init(expectedCount: Int) {
        var size = 16
        while size < expectedCount * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { offsets.count }

    /// The first slot for `hash`: the high bits after a multiplicative mix, since FNV-1a's low bits
    /// cluster for similar names such as `dom1`, `dom2`, ...
    @inline(__always) static func slot(_ hash: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }

    /// FNV-1a's starting value.
    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// One FNV-1a step.
    @inline(__always) static func step(_ hash: UInt64, _ byte: UInt8) -> UInt64 { (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }

    static func hash(_ segment: UnsafeBufferPointer<UInt8>) -> UInt64 {
        segment.reduce(offsetBasis, step)
    }

    /// The bytes of a segment of up to 8 bytes as one integer (0 for longer ones).
    @inline(__always) static func pack(_ segment: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard segment.count <= 8 else { return 0 }
        var value: UInt64 = 0
        for (offset, byte) in segment.enumerated() { value |= UInt64(byte) << UInt64(offset * 8) }
        return value
    }

    /// The id of `segment`, or -1 when the policy never names it.
    func id(of segment: UnsafeBufferPointer<UInt8>) -> Int32 { id(of: segment, hash: Self.hash(segment)) }

    /// The id of `segment` whose FNV-1a hash the caller already computed.
    func id(of segment: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int32 {
        id(of: segment, hash: hash, packed: segment.count <= 8 ? Self.pack(segment) : 0)
    }

    /// The id of `segment` whose hash and packed bytes (for up to 8 bytes) the caller already computed.
    @inline(__always)
    func id(of segment: UnsafeBufferPointer<UInt8>, hash: UInt64, packed key: UInt64) -> Int32 {
        let short = segment.count <= 8
        var slot = Self.slot(hash, mask)
        while true {
            let candidate = slots[slot]
            if candidate < 0 { return -1 }
            let index = Int(candidate)
            if hashes[index] == hash && lengths[index] == segment.count && (short ? packed[index] == key : matches(index, segment)) {
                return candidate
            }
            slot = (slot + 1) & mask
        }
    }

    private func matches(_ index: Int, _ segment: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { stored in
            guard let base = stored.baseAddress, let other = segment.baseAddress else { return segment.isEmpty }
            return memcmp(base + offsets[index], other, segment.count) == 0
        }
    }

    /// The id of `segment`, adding it when new.
    mutating func intern(_ segment: String) -> Int32 {
        var text = segment
        let existing = text.withUTF8 { self.id(of: $0) }
        if existing >= 0 { return existing }
        if (count + 1) * 2 > slots.count { grow() }
        let id = Int32(count)
        let utf8 = Array(segment.utf8)
        let hash = utf8.withUnsafeBufferPointer { Self.hash($0) }
        offsets.append(bytes.count)
        lengths.append(utf8.count)
        packed.append(utf8.withUnsafeBufferPointer { Self.pack($0) })
        hashes.append(hash)
        bytes.append(contentsOf: utf8)
        insert(id: id, hash: hash)
        return id
    }

    private mutating func insert(id: Int32, hash: UInt64) {
        var slot = Self.slot(hash, mask)
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = id
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for index in 0..<count { insert(id: Int32(index), hash: hashes[index]) }
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
