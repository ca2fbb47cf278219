import EventBus
import GatewayModel
import Testing

@Suite("StoredEvent bus encoding")
struct StoredEventWireTests {
    static func event(envelope: String, subject: String? = "contact-ü-42") -> StoredEvent {
        StoredEvent(
            position: 1_764_806_400_000_001,
            eventID: "0190a0f0-0000-7000-8000-000000000001",
            eventType: "deal.stage.updated",
            companyID: "société-123",
            region: "eu-west-1",
            dataSubjectID: subject,
            retentionDays: 30,
            createdAtMillis: 1_764_806_400_123,
            envelope: envelope
        )
    }

    @Test("round trip: every field, non-ASCII text, no subject, an empty and a large envelope")
    func roundTrip() throws {
        let large = #"{"data":{"text":""# + String(repeating: "Grüße, 世界 🚀 ", count: 200_000) + #""}}"#
        for event in [
            Self.event(envelope: #"{"data":{"name":"Zoë — 東京 🎉"}}"#),
            Self.event(envelope: "", subject: nil),
            Self.event(envelope: large),
        ] {
            let bytes = event.encoded()
            #expect(bytes.first == StoredEvent.wireVersion)
            #expect(try StoredEvent(decoding: bytes) == event)
        }
        #expect(Self.event(envelope: large).encoded().count > 4 << 20)
    }

    @Test("an unknown version is refused with an error that names both versions and the fix")
    func unknownVersion() {
        var bytes = Self.event(envelope: "{}").encoded()
        bytes[0] = 2
        #expect(throws: StoredEventDecodingError.unsupportedVersion(2)) { try StoredEvent(decoding: bytes) }
        do {
            _ = try StoredEvent(decoding: bytes)
        } catch {
            #expect(error.unsupportedVersion == 2)
            #expect(error.description.contains("version 2") && error.description.contains("version 1") && error.description.contains("upgrade"))
        }
    }

    @Test("truncated, empty, trailing bytes, a bad flag and invalid UTF-8 are refused, never misread")
    func malformed() {
        let bytes = Self.event(envelope: #"{"a":1}"#).encoded()
        #expect(throws: StoredEventDecodingError.empty) { try StoredEvent(decoding: []) }
        for cut in [1, 5, 9, 20, bytes.count - 1] {
            #expect(throws: StoredEventDecodingError.self) { try StoredEvent(decoding: Array(bytes.prefix(cut))) }
        }
        #expect(throws: StoredEventDecodingError.trailingBytes(1)) { try StoredEvent(decoding: bytes + [0]) }
        var badUTF8 = Self.event(envelope: "x").encoded()
        badUTF8[badUTF8.count - 1] = 0xFF
        #expect(throws: StoredEventDecodingError.invalidUTF8("envelope")) { try StoredEvent(decoding: badUTF8) }
        let noSubject = Self.event(envelope: "x", subject: nil).encoded()
        // version, position, four strings: the flag follows.
        let flagIndex = 1 + 8 + [36, 18, "société-123".utf8.count, 9].reduce(0) { $0 + 4 + $1 }
        var badFlag = noSubject
        badFlag[flagIndex] = 7
        #expect(throws: StoredEventDecodingError.invalidFlag(7)) { try StoredEvent(decoding: badFlag) }
    }
}
