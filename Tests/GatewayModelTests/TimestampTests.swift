import GatewayModel
import GatewayTesting
import Testing

/// `Timestamp`: RFC 3339 in UTC with milliseconds and `Z`, in the order of the instants.
@Suite("Timestamps")
struct TimestampTests {
    @Test("known instants, leap days and the widest year")
    func knownInstants() {
        #expect(Timestamp.rfc3339(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.rfc3339(millis: 1_796_376_701_990) == "2026-12-04T09:31:41.990Z")
        #expect(Timestamp.rfc3339(millis: 1_709_164_800_123) == "2024-02-29T00:00:00.123Z")
        #expect(Timestamp.rfc3339(millis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.rfc3339(millis: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.rfc3339(millis: 1_000_000_000_001) == "2001-09-09T01:46:40.001Z")
    }

    /// Whether `text` is `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static func isRFC3339(_ text: String) -> Bool {
        let shape = Array("dddd-dd-ddTdd:dd:dd.dddZ".utf8)
        let bytes = Array(text.utf8)
        guard bytes.count == shape.count else { return false }
        return zip(bytes, shape).allSatisfy { byte, expected in
            expected == UInt8(ascii: "d") ? (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) : byte == expected
        }
    }

    @Test("random instants: always the RFC 3339 shape, and text order is time order (10,000 instants)")
    func ordering() {
        var random = SplitMix64(seed: 0x71AE)
        var previous: (Int64, String)? = nil
        let instants = (0..<10_000).map { _ in Int64(random.next() % 253_402_300_800_000) }.sorted()
        for millis in instants {
            let text = Timestamp.rfc3339(millis: millis)
            #expect(Self.isRFC3339(text), "\(millis): \(text)")
            if case let (earlier, earlierText)? = previous {
                #expect(earlier == millis ? earlierText == text : earlierText < text, "\(earlier) before \(millis)")
            }
            previous = (millis, text)
        }
    }

    @Test("now is the current time in the same form")
    func now() {
        let before = Timestamp.nowMillis()
        let text = Timestamp.now()
        let after = Timestamp.nowMillis()
        #expect(Self.isRFC3339(text))
        #expect(Timestamp.rfc3339(millis: before) <= text && text <= Timestamp.rfc3339(millis: after))
        #expect(before > 1_700_000_000_000, "milliseconds since 1970, not seconds")
    }
}
