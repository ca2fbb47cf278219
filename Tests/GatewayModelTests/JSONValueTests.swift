import Foundation
import GatewayModel
import Testing

@Suite("JSON values")
struct JSONValueTests {
    @Test("identifiers compare numbers and strings alike")
    func identifiers() throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":123,"b":"123","c":1.5,"d":true,"e":{"f":"x"}}"#.utf8))
        #expect(value.value(atPath: "a")?.identifierString == "123")
        #expect(value.value(atPath: "b")?.identifierString == "123")
        #expect(value.value(atPath: "c")?.identifierString == nil, "a fraction is no id")
        #expect(value.value(atPath: "d")?.identifierString == nil)
        #expect(value.value(atPath: "e.f") == .string("x"))
        #expect(value.value(atPath: "e.g") == nil)
    }

    @Test("integer literals of any size are identifiers with every digit; distinct large ids never merge")
    func largeNumbers() throws {
        let value = try JSONValue(
            parsing: #"{"a":1234567890123456789,"b":1234567890123456800,"c":9007199254740993,"d":-42,"e":-0,"f":123456789012345678901234567890}"#
        )
        #expect(value.value(atPath: "a")?.identifierString == "1234567890123456789")
        #expect(value.value(atPath: "b")?.identifierString == "1234567890123456800")
        #expect(value.value(atPath: "c")?.identifierString == "9007199254740993")
        #expect(value.value(atPath: "d")?.identifierString == "-42")
        #expect(value.value(atPath: "e")?.identifierString == "0")
        #expect(value.value(atPath: "f")?.identifierString == "123456789012345678901234567890")
    }

    @Test("a number written with a fraction or an exponent is no identifier, even when it is whole")
    func fractionsAreNoIdentifiers() throws {
        for text in ["7.5", "7.0", "1e3", "1E+3", "-0.0", "10e-1"] {
            #expect(try JSONValue(parsing: text).identifierString == nil, "\(text)")
        }
    }

    @Test("round trips through JSON keep integers integral")
    func roundTrip() throws {
        let value = JSONValue.object(["n": .number(42), "x": .array([.null, .bool(false), .string("s")])])
        let data = try JSONEncoder().encode(value)
        #expect(String(decoding: data, as: UTF8.self).contains("42"))
        #expect(!String(decoding: data, as: UTF8.self).contains("42.0"))
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
    }
}
