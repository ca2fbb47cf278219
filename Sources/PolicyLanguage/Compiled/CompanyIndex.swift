import GatewayModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Listed companies by id: open addressing over the id's bytes. A slot is 16 bytes (a tag of hash
/// and length, the position, the first 8 bytes), so a lookup hashes a few words and touches one
/// slot, where a `Dictionary<String, Int>` runs SipHash over every byte. Built once from the
/// policy, then only read; the keys are the policy's, so a caller's id can only probe, never
/// lengthen, a chain.
struct CompanyIndex: Sendable {
    private struct Slot: Sendable {
        /// The hash's low 24 bits above the id's length (ids are at most 255 bytes here).
        var tag: UInt32 = 0
        /// The company's position in the tenant list; -1 for an empty slot.
        var value: Int32 = -1
        var first: UInt64 = 0
    }

    private var slots: [Slot]
    /// Where each listed id's bytes start in ``bytes``, by position.
    private var offsets: [Int32] = []
    private var bytes: [UInt8] = []
    private let mask: Int

    /// Indexes `ids`: `ids[i]` maps to `i`; a repeated id keeps its last position.
    init(_ ids: [String]) {
        var capacity = 16
        while capacity * 2 < ids.count * 3 { capacity *= 2 }
        slots = [Slot](repeating: Slot(), count: capacity)
        mask = capacity - 1
        for (index, id) in ids.enumerated() {
            offsets.append(Int32(bytes.count))
            bytes.append(contentsOf: id.utf8)
            guard id.utf8.count <= 255 else { continue }
            let existing = position(of: id)
            let (hash, first, _) = Array(id.utf8).withUnsafeBufferPointer { Self.key($0) }
            var slot = Int(truncatingIfNeeded: hash >> 32) & mask
            while slots[slot].value >= 0 && slots[slot].value != existing { slot = (slot + 1) & mask }
            slots[slot] = Slot(tag: Self.tag(hash, id.utf8.count), value: Int32(index), first: first)
        }
    }

    /// The position of `id`, or -1 when it is not listed.
    func position(of id: String) -> Int32 { checkedPosition(of: id, wellFormed: false) ?? -1 }

    /// The position of `id` (-1 when it is not listed), or `nil` when `id` is not a well-formed
    /// company id (``CompanyID/isWellFormed(_:)``): the check rides on the hash's pass over the bytes.
    func checkedPosition(of id: String, wellFormed: Bool = true) -> Int32? {
        if let found = id.utf8.withContiguousStorageIfAvailable({ position(ofUTF8: $0, checked: wellFormed) }) { return found }
        return positionCopying(id, checked: wellFormed)
    }

    /// The path for a string without contiguous UTF-8, out of line so that the common path does not
    /// retain and release the id (see ``TopicTrie``).
    @inline(never)
    private func positionCopying(_ id: String, checked: Bool) -> Int32? {
        Array(id.utf8).withUnsafeBufferPointer { position(ofUTF8: $0, checked: checked) }
    }

    @inline(__always)
    private func position(ofUTF8 utf8: UnsafeBufferPointer<UInt8>, checked: Bool) -> Int32? {
        if checked {
            // Plain comparisons: a range's `contains` is not inlined across the module boundary.
            guard utf8.count >= 1 && utf8.count <= CompanyID.maximumLength else { return nil }
        } else if utf8.count > 255 {
            return -1
        }
        let (hash, first, printable) = Self.key(utf8)
        if checked && !printable { return nil }
        let tag = Self.tag(hash, utf8.count)
        var slot = Int(truncatingIfNeeded: hash >> 32) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let entry = slots[slot]
                if entry.value < 0 { return -1 }
                if entry.tag == tag && entry.first == first && (utf8.count <= 8 || tailMatches(entry.value, utf8)) { return entry.value }
                slot = (slot + 1) & mask
            }
        }
    }

    @inline(__always)
    private static func tag(_ hash: UInt64, _ length: Int) -> UInt32 { UInt32(truncatingIfNeeded: hash) << 8 | UInt32(length) }

    private func tailMatches(_ position: Int32, _ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { stored in
            memcmp(stored.baseAddress! + Int(offsets[Int(position)]) + 8, utf8.baseAddress! + 8, utf8.count - 8) == 0
        }
    }

    /// The id's hash over its 8-byte words, its first word (zero-padded, little-endian), and
    /// whether every byte is printable ASCII other than space (`0x21...0x7E`), tested 8 at a time.
    @inline(__always)
    private static func key(_ utf8: UnsafeBufferPointer<UInt8>) -> (hash: UInt64, first: UInt64, printable: Bool) {
        var hash: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(truncatingIfNeeded: utf8.count)
        var first: UInt64 = 0
        var printable = true
        guard let base = utf8.baseAddress else { return (hash, 0, true) }
        var position = 0
        while position < utf8.count {
            let remaining = utf8.count &- position
            var word: UInt64 = 0
            var valid = UInt64.max
            if remaining >= 8 {
                word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            } else {
                word = partialWord(UnsafeRawPointer(base + position), remaining)
                valid = (1 &<< UInt64(remaining &* 8)) &- 1
            }
            if position == 0 { first = word }
            printable = printable && printableBytes(word) & valid == highBits & valid
            hash = (hash ^ word) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash &>> 31
            position &+= 8
        }
        hash = hash &* 0x9E37_79B9_7F4A_7C15
        hash ^= hash &>> 29
        return (hash, first, printable)
    }

    /// The `count` (1–7) bytes at `pointer` as a little-endian word, zero above them: at most three loads
    /// (4, 2 and 1 bytes), never past the last byte.
    @inline(__always)
    private static func partialWord(_ pointer: UnsafeRawPointer, _ count: Int) -> UInt64 {
        var word: UInt64 = 0
        var offset = 0
        if count & 4 != 0 {
            word = UInt64(UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self)))
            offset = 4
        }
        if count & 2 != 0 {
            word |= UInt64(UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) &<< UInt64(offset &* 8)
            offset &+= 2
        }
        if count & 1 != 0 { word |= UInt64(pointer.load(fromByteOffset: offset, as: UInt8.self)) &<< UInt64(offset &* 8) }
        return word
    }

    private static let highBits: UInt64 = 0x8080_8080_8080_8080
    private static let ones: UInt64 = 0x0101_0101_0101_0101

    /// The high bit of each byte of `word` that lies in `0x21...0x7E`. Bytes are limited to 7 bits
    /// first, so the additions cannot carry into a neighbour; bytes with the high bit set fail.
    @inline(__always)
    private static func printableBytes(_ word: UInt64) -> UInt64 {
        let low = word & 0x7F7F_7F7F_7F7F_7F7F
        let atLeast21 = low &+ ones &* (0x80 - 0x21)
        let atLeast7F = low &+ ones &* (0x80 - 0x7F)
        return atLeast21 & ~atLeast7F & ~word & highBits
    }
}
