import GatewayModel
import Testing

/// `JSONWriter`: escapes, key order, numbers, and the streaming object helpers.
@Suite("JSON writer")
struct JSONWriterTests {
    func written(_ build: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        build(&writer)
        return writer.text
    }

    @Test("strings escape quotes, backslashes and control characters, and nothing else")
    func escapes() {
        #expect(written { $0.string("a\"b\\c/d") } == #""a\"b\\c/d""#)
        #expect(written { $0.string("\n\r\t") } == #""\n\r\t""#)
        #expect(written { $0.string("\u{0}\u{8}\u{C}\u{1F}") } == #""\u0000\u0008\u000c\u001f""#)
        #expect(written { $0.string("\u{7F}é€😀\u{2028}\u{2029}") } == "\"\u{7F}é€😀\u{2028}\u{2029}\"")
        #expect(written { $0.string("") } == #""""#)
    }

    @Test("objects are written with sorted keys, arrays in order, compactly")
    func containers() {
        let value = JSONValue.object(["b": .array([.null, .bool(true), .bool(false)]), "a": .object([:]), "c": .string("x"), "A": .array([])])
        #expect(written { $0.value(value) } == #"{"A":[],"a":{},"b":[null,true,false],"c":"x"}"#)
    }

    @Test("numbers: JSON numbers verbatim, computed Doubles in shortest form, non-finite as null")
    func numbers() throws {
        let big = try #require(JSONNumber(literal: "9007199254740993"))
        #expect(written { $0.number(big) } == "9007199254740993")
        let exponent = try #require(JSONNumber(literal: "1E+3"))
        #expect(written { $0.value(.number(exponent)) } == "1E+3")
        #expect(written { $0.number(42.0) } == "42")
        #expect(written { $0.number(0.1) } == "0.1")
        #expect(written { $0.number(-2.5) } == "-2.5")
        #expect(written { $0.number(Double.infinity) } == "null")
        #expect(written { $0.number(Double.nan) } == "null")
        #expect(written { $0.integer(-9_223_372_036_854_775_808) } == "-9223372036854775808")
    }

    @Test("beginObject, key and endObject build an object without trailing commas")
    func streaming() {
        let text = written { json in
            json.beginObject()
            json.key("a")
            json.integer(1)
            json.key("b")
            json.beginObject()
            json.endObject()
            json.key("c")
            json.raw("[1,2]")
            json.endObject()
        }
        #expect(text == #"{"a":1,"b":{},"c":[1,2]}"#)
        let empty = written { json in
            json.beginObject()
            json.endObject()
        }
        #expect(empty == "{}")
    }
}
