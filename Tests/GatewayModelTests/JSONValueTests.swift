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

    @Test("numbers a Double cannot hold exactly are no identifiers: distinct large ids never merge")
    func largeNumbers() throws {
        let value = try JSONDecoder().decode(
            JSONValue.self,
            from: Data(#"{"a":1234567890123456789,"b":1234567890123456800,"c":9007199254740991}"#.utf8)
        )
        #expect(value.value(atPath: "a")?.identifierString == nil)
        #expect(value.value(atPath: "b")?.identifierString == nil)
        #expect(value.value(atPath: "c")?.identifierString == "9007199254740991")
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
