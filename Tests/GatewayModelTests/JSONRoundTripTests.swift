import GatewayModel
import GatewayTesting
import Testing

/// Parse, then write with `JSONWriter`: numbers come back as the same bytes, strings as the same
/// decoded text, whatever their escapes.
@Suite("JSON round trips")
struct JSONRoundTripTests {
    func written(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.value(value)
        return writer.text
    }

    @Test(
        "numbers of every shape are written back verbatim",
        arguments: [
            "0", "-0", "1", "-1", "9007199254740992", "9007199254740993", "-9007199254740993", "1796376701990666000",
            "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
            "123456789012345678901234567890123456789", "0.1", "-0.5", "0.10", "1.0", "1e-7", "1E+3", "1e3", "-0e-0", "2.5E-308",
            "1.7976931348623157e308", "4.9e-324", "100e-2", "3.141592653589793238462643383279",
        ]
    )
    func numbers(literal: String) throws {
        #expect(written(try JSONValue(parsing: literal)) == literal)
        #expect(written(try JSONValue(parsing: "[\(literal)]")) == "[\(literal)]")
    }

    @Test("the issue's publish body keeps its 64-bit id and nanosecond timestamp")
    func issueExample() throws {
        let body = #"{"event_type":"deal.stage.updated","data":{"company_id":"123","deal_id":9007199254740993,"sent_ns":1796376701990666000}}"#
        let value = try JSONValue(parsing: body)
        #expect(
            written(value)
                == #"{"data":{"company_id":"123","deal_id":9007199254740993,"sent_ns":1796376701990666000},"event_type":"deal.stage.updated"}"#,
            "the same bytes, with the keys sorted"
        )
        let data = try #require(value.value(atPath: "data"))
        #expect(written(data) == #"{"company_id":"123","deal_id":9007199254740993,"sent_ns":1796376701990666000}"#)
    }

    @Test(
        "strings with escapes decode to the same text after a round trip",
        arguments: [
            #""plain""#, #""quote \" backslash \\ slash \/""#, #""\b\f\n\r\t""#, #""\u0000\u001f\u007f""#, #""line\u2028sep\u2029""#,
            #""\u00e9\u20ac""#, #""\ud83d\ude00 pair""#, #""\uD834\uDD1E clef""#, "\"é€😀\u{2028}\"", #""\u0041\u00e9""#,
        ]
    )
    func strings(text: String) throws {
        let value = try JSONValue(parsing: text)
        let again = written(value)
        #expect(try JSONValue(parsing: again) == value, "\(again)")
        #expect(written(try JSONValue(parsing: again)) == again, "a written string is stable")
    }

    @Test("surrogate pairs and U+2028 decode to their scalars and are written as UTF-8")
    func scalars() throws {
        #expect(try JSONValue(parsing: #""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONValue(parsing: #""\u2028""#) == .string("\u{2028}"))
        #expect(written(.string("\u{2028}😀")) == "\"\u{2028}😀\"")
    }

    @Test("random documents: parse, write, parse gives the same value and the same bytes (2,000 values)")
    func randomDocuments() throws {
        var random = SplitMix64(seed: 0x7E57)
        for _ in 0..<2_000 {
            let value = JSONParserTests.randomValue(&random)
            let text = written(value)
            let parsed = try JSONValue(parsing: text)
            #expect(parsed == value, "\(text)")
            #expect(written(parsed) == text)
        }
    }
}
