import Foundation
import GatewayModel
import Testing

/// `JSONNumber`: the literal kept, its `Double` view, equality by exact decimal value, identifiers.
@Suite("JSON numbers")
struct JSONNumberTests {
    func number(_ text: String) throws -> JSONNumber {
        guard case .number(let number) = try JSONValue(parsing: text) else {
            Issue.record("\(text) is not a number")
            return JSONNumber(0)
        }
        return number
    }

    @Test("the parser keeps each literal exactly as written")
    func literalsKept() throws {
        let literals = [
            "0", "-0", "7", "-7", "9007199254740993", "1796376701990666000", "-9223372036854775809", "18446744073709551616",
            "123456789012345678901234567890", "0.1", "1e-7", "1E+3", "-2.5e-308", "1.7976931348623157e308", "100e-2", "0.10",
        ]
        for literal in literals {
            #expect(try number(literal).literal == literal)
            #expect(JSONNumber(literal: literal)?.literal == literal)
        }
    }

    @Test("init(literal:) accepts one RFC 8259 number within Double's range and nothing else")
    func literalValidation() {
        for text in ["01", "+1", "1.", ".5", "1e", "0x10", "NaN", "1e400", "1e-400", " 1", "1 ", "[1]", "\"1\"", ""] {
            #expect(JSONNumber(literal: text) == nil, "\(text.debugDescription)")
        }
        let long = "1" + String(repeating: "0", count: 308)
        #expect(JSONNumber(literal: long)?.literal == long, "a 309-digit integer is within range")
        #expect(JSONNumber(literal: long + "0") == nil, "a 310-digit integer is beyond Double's range")
    }

    @Test("equality is by exact decimal value: 1e3 == 1000.0, -0 == 0, but 2^53+1 != 2^53")
    func equality() throws {
        let equal: [(String, String)] = [
            ("1000", "1e3"), ("1000", "1000.0"), ("1000", "10E2"), ("1000", "10000e-1"), ("0", "-0"), ("0", "0.000e5"),
            ("-0.0", "0"), ("0.5", "5e-1"), ("0.10", "0.1"), ("-12.50", "-1.25e1"),
        ]
        for (left, right) in equal {
            #expect(try number(left) == number(right), "\(left) == \(right)")
            #expect(try number(left).hashValue == number(right).hashValue, "\(left) and \(right) hash alike")
        }
        let different: [(String, String)] = [
            ("9007199254740993", "9007199254740992"), ("1", "-1"), ("0.1", "0.10000000000000001"), ("1e3", "1e4"), ("10", "1"),
        ]
        for (left, right) in different { #expect(try number(left) != number(right), "\(left) != \(right)") }
        #expect(Set([try number("1e3"), try number("1000"), try number("1000.00")]).count == 1)
    }

    @Test("the Double view, integer views and identifier text")
    func views() throws {
        #expect(try number("1796376701990666000").doubleValue == 1.796376701990666e18)
        #expect(try number("1e-7").doubleValue == 1e-7)
        #expect(try number("9223372036854775807").int64Value == Int64.max)
        #expect(try number("9223372036854775808").int64Value == nil)
        #expect(try number("1e3").int64Value == nil)
        #expect(try number("12").isInteger && !number("12.0").isInteger && !number("12e0").isInteger)
        #expect(try number("-0").integerText == "0")
        #expect(try number("-18446744073709551617").integerText == "-18446744073709551617")
        #expect(try number("7.0").integerText == nil)
    }

    @Test("numbers the gateway computes: whole values below 2^53 as integers, others in shortest form")
    func fromDouble() {
        // `JSONNumber(42.0)` would be the float literal itself; these go through init?(_: Double).
        func number(_ value: Double) -> JSONNumber? { JSONNumber(value) }
        #expect(number(42.0)?.literal == "42")
        #expect(number(-0.0)?.literal == "0")
        #expect(number(0.1)?.literal == "0.1")
        #expect(number(1e-7).map { Double($0.literal) } == 1e-7)
        #expect(number(1e300).map { Double($0.literal) } == 1e300)
        #expect(JSONNumber(Double.infinity) == nil && JSONNumber(Double.nan) == nil)
        #expect(JSONNumber(Int64.min).literal == "-9223372036854775808")
        #expect(JSONNumber(UInt64.max).literal == "18446744073709551615")
        let literal: JSONNumber = 2.5
        #expect(literal.literal == "2.5")
    }

    @Test("Codable keeps 64-bit integers exact and writes them as integers")
    func codable() throws {
        let text = #"[9007199254740993,18446744073709551615,-9223372036854775808,0.1,1e-7]"#
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(decoded == (try JSONValue(parsing: text)))
        let encoded = String(decoding: try JSONEncoder().encode(decoded), as: UTF8.self)
        #expect(encoded.hasPrefix("[9007199254740993,18446744073709551615,-9223372036854775808,"))
        #expect(try JSONValue(parsing: encoded) == JSONValue(parsing: text))
    }
}
