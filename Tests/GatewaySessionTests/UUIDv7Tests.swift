import GatewayModel
import GatewaySession
import Testing

/// `UUIDv7Generator`: RFC 9562 layout, the millisecond in front, strictly increasing ids.
@Suite("UUIDv7 event ids")
struct UUIDv7Tests {
    /// Whether `id` is lower-case 8-4-4-4-12 hex with version 7 and the RFC 9562 variant.
    static func isUUIDv7(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) else {
                    return false
                }
            }
        }
        return bytes[14] == UInt8(ascii: "7") && Array("89ab".utf8).contains(bytes[19])
    }

    /// The 48-bit millisecond field of an id.
    static func millis(_ id: String) -> Int64? {
        Int64(String(id.filter { $0 != "-" }.prefix(12)), radix: 16)
    }

    @Test("ids are version 7, variant 10, lower-case hex, with the millisecond in the first 48 bits")
    func layout() {
        let generator = UUIDv7Generator()
        for millis: Int64 in [0, 1, 1_796_376_701_990, (1 << 48) - 1] {
            let id = generator.next(millis: millis)
            #expect(Self.isUUIDv7(id), "\(id)")
            #expect(Self.millis(id) == millis, "\(id)")
        }
        #expect(Self.isUUIDv7(generator.next()))
    }

    @Test("within one millisecond ids strictly increase, past the 4,096 the counter holds")
    func monotonicWithinAMillisecond() {
        let generator = UUIDv7Generator()
        let ids = (0..<10_000).map { _ in generator.next(millis: 1_796_376_701_990) }
        for (earlier, later) in zip(ids, ids.dropFirst()) { #expect(earlier < later, "\(earlier) < \(later)") }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy(Self.isUUIDv7))
        #expect(Self.millis(ids[0]) == 1_796_376_701_990)
        #expect(Self.millis(ids[ids.count - 1]).map { $0 > 1_796_376_701_990 } == true, "overflow borrows the next millisecond")
    }

    @Test("ids sort by time, and a clock that steps back never yields a smaller id")
    func ordering() {
        let generator = UUIDv7Generator()
        var previous = ""
        for millis: Int64 in [1_000, 1_001, 1_001, 2_000, 1_500, 1_500, 999, 3_000] {
            let id = generator.next(millis: millis)
            #expect(previous < id, "\(previous) < \(id) at \(millis)")
            previous = id
        }
        #expect(Self.millis(previous) == 3_000)
    }

    @Test("two generators in one millisecond still give distinct ids")
    func distinctAcrossGenerators() {
        let ids = (0..<200).map { index in UUIDv7Generator().next(millis: 42 + Int64(index % 2)) }
        #expect(Set(ids).count == ids.count)
    }
}
