import Foundation
import GatewayModel
import GatewayTesting
import Testing

/// The strict JSON parser, against Foundation's `JSONDecoder` as the oracle: never laxer, and equal
/// wherever both accept (numbers compared as `Double`s: the oracle rounds integers beyond 64 bits,
/// which the parser keeps exact; `JSONRoundTripTests` checks the exact literals).
@Suite("JSON parser")
struct JSONParserTests {
    static func foundation(_ bytes: [UInt8]) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) }

    /// `value` with every number replaced by its `Double` view, for comparing with the oracle.
    static func rounded(_ value: JSONValue) -> JSONValue {
        switch value {
        case .number(let number): .number(JSONNumber(number.doubleValue) ?? JSONNumber(0))
        case .array(let items): .array(items.map(rounded))
        case .object(let members): .object(members.mapValues(rounded))
        default: value
        }
    }

    static func ours(_ bytes: [UInt8]) -> Result<JSONValue, JSONSyntaxError> {
        bytes.withUnsafeBufferPointer { buffer in Result { () throws(JSONSyntaxError) in try JSONValue(parsingUTF8: buffer) } }
    }

    static let valid: [String] = [
        "0", "-0", "1", "-1", "123456789012345", "1234567890123456", "12345678901234567890123", "9007199254740993",
        "0.5", "-0.5", "1e3", "1E+3", "1e-3", "2.5e-308", "1.7976931348623157e308", "4.9e-324", "0.1e1", "100e-2",
        "true", "false", "null", #""""#, #""abc""#, #""\"\\\/\b\f\n\r\t""#, #""\u0041\u00e9\u20ac\ud83d\ude00""#,
        #""\u0000""#, "\"é€😀\"", "[]", "{}", "[1,2,3]", #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
        " \t\n\r [ 1 , { \"x\" : [ ] } ] \n", "\u{FEFF}[1]", #"{"":""}"#, #"{"a\u0000b":1}"#,
        #"{"events":[{"event_type":"deal.stage.updated","data":{"company_id":"123","deal_id":7,"t":1234567890123}}]}"#,
    ]

    static let invalid: [String] = [
        "", " ", "\u{FEFF}", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity",
        "1e400", "-1e400", "1e-400", "tru", "nul", "falsey", "true false", "[1,]", #"{"a":1,}"#, "[", "]", "{", "}",
        "[1 2]", #"{"a" 1}"#, #"{a:1}"#, "{'a':1}", #"{"a":1 "b":2}"#, #"{"a":1,"a":2}"#, #"{"a":{"b":1,"b":1}}"#,
        #"""#, #""abc"#, "\"a\u{01}b\"", "\"a\nb\"", #""\x""#, #""\u12""#, #""\u12G4""#, #""\ud800""#, #""\udc00""#,
        #""\ud800\u0041""#, #""\ud800x""#, "[1]]", "{}{}", "\"\\", "[\"a\",]", "1 2",
    ]

    @Test("valid documents parse to what Foundation's JSONDecoder reads")
    func validDocuments() throws {
        for text in Self.valid {
            let bytes = Array(text.utf8)
            let expected = try #require(Self.foundation(bytes), "the oracle reads \(text.debugDescription)")
            #expect(Self.rounded(try Self.ours(bytes).get()) == Self.rounded(expected), "\(text.debugDescription)")
        }
    }

    @Test("invalid documents are refused with an offset inside the input")
    func invalidDocuments() {
        for text in Self.invalid {
            switch Self.ours(Array(text.utf8)) {
            case .success(let value): Issue.record("\(text.debugDescription) parsed as \(value)")
            case .failure(let error): #expect((0...text.utf8.count).contains(error.offset), "\(text.debugDescription): \(error)")
            }
        }
    }

    @Test("stricter than Foundation exactly where chosen: trailing commas and repeated keys")
    func stricterThanFoundation() throws {
        for text in ["[1,]", #"{"a":1,}"#, #"{"company_id":"1","company_id":"2"}"#] {
            #expect(Self.foundation(Array(text.utf8)) != nil, "Foundation reads \(text)")
            #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: text) }
        }
        let error = try #require(Self.ours(Array(#"{"a":1, "b":2, "a":3}"#.utf8)).failure)
        #expect(error.reason == "key 'a' appears twice in one object" && error.offset == 15)
    }

    @Test("invalid UTF-8 is refused: stray continuation bytes, overlong forms, encoded surrogates, truncated sequences")
    func invalidUTF8() {
        let sequences: [[UInt8]] = [
            [0x80], [0xBF], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFF],
        ]
        for sequence in sequences {
            for bytes in [[0x22] + sequence + [0x22], Array(#"{""#.utf8) + sequence + Array(#"":1}"#.utf8), [0x22, 0x5C, 0x6E] + sequence + [0x22]] {
                #expect(throws: JSONSyntaxError.self, "\(bytes)") { try Self.ours(bytes).get() }
            }
        }
    }

    @Test("nesting: 512 levels parse, 513 are refused, and a megabyte of '[' is refused without exhausting the stack")
    func depth() throws {
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSONValue(parsing: deepest)
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: tooDeep) }
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: String(repeating: "[", count: 1 << 20)) }
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: String(repeating: #"{"a":"#, count: 100_000)) }
    }

    /// A random value: strings with every kind of character that needs escaping, numbers of every shape.
    static func randomValue(_ random: inout SplitMix64, depth: Int = 0) -> JSONValue {
        switch random.next() % (depth > 4 ? 4 : 6) {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2:
            switch random.next() % 4 {
            case 0: return .number(JSONNumber(Int64(bitPattern: random.next()) >> (random.next() % 64)))
            case 1:
                let double = Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF) * (random.next() % 2 == 0 ? 1 : -1)
                return .number(JSONNumber(double) ?? JSONNumber(0))
            case 2: return .number(JSONNumber(Double(random.next() % 1_000_000) / 1000) ?? JSONNumber(0))
            default: return .number(JSONNumber(Int(random.next() % 100)))
            }
        case 3: return .string(randomString(&random))
        case 4: return .array((0..<Int(random.next() % 5)).map { _ in randomValue(&random, depth: depth + 1) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int(random.next() % 5) { object[randomString(&random)] = randomValue(&random, depth: depth + 1) }
            return .object(object)
        }
    }

    static func randomString(_ random: inout SplitMix64) -> String {
        let alphabet: [Unicode.Scalar] = [
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "😀", "\u{FFFF}", "\u{10FFFF}",
        ]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int(random.next() % 12) { scalars.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
        return String(scalars)
    }

    @Test("random values survive JSONEncoder → parse unchanged (5,000 values)")
    func roundTrip() throws {
        var random = SplitMix64(seed: 0x1503)
        let encoder = JSONEncoder()
        for _ in 0..<5_000 {
            let value = Self.randomValue(&random)
            let bytes = Array(try encoder.encode(value))
            #expect(try Self.ours(bytes).get() == value, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }

    /// Whether `bytes` hold a number whose integer part is a lone zero followed by an exponent (`0e3`):
    /// valid JSON (RFC 8259 §6), which Foundation's decoder refuses in some positions (a bare `0e3`).
    static func hasZeroWithExponent(_ bytes: [UInt8]) -> Bool {
        bytes.indices.dropLast().contains { index in
            bytes[index] == UInt8(ascii: "0") && (bytes[index + 1] | 0x20) == UInt8(ascii: "e")
                && (index == 0 || !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index - 1]) && bytes[index - 1] != UInt8(ascii: "."))
        }
    }

    @Test("a zero with an exponent is a number, as RFC 8259 says (Foundation's decoder refuses a bare `0e3`)")
    func zeroWithExponent() throws {
        for text in ["0e3", "-0E+2", "[0e-1]"] { #expect(Self.hasZeroWithExponent(Array(text.utf8))) }
        #expect(try JSONValue(parsing: "0e3") == .number(0))
        #expect(try JSONValue(parsing: "[-0E+2]") == .array([.number(0)]))
        #expect(!Self.hasZeroWithExponent(Array("10e3".utf8)) && !Self.hasZeroWithExponent(Array("1.0e3".utf8)))
    }

    @Test("mutated documents (20,000): never a crash, and whatever parses, Foundation reads the same way")
    func mutations() throws {
        var random = SplitMix64(seed: 0xB0D1)
        let encoder = JSONEncoder()
        let seeds = try Self.valid.map { Array($0.utf8) } + (0..<50).map { _ in Array(try encoder.encode(Self.randomValue(&random))) }
        let bytes: [UInt8] = Array(#"{}[]",:.-+eE0159\u"#.utf8) + [0x00, 0x20, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xF0, 0xFF]
        for _ in 0..<20_000 {
            var document = seeds[Int(random.next() % UInt64(seeds.count))]
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let position = document.isEmpty ? 0 : Int(random.next() % UInt64(document.count))
                let byte = bytes[Int(random.next() % UInt64(bytes.count))]
                switch random.next() % 3 {
                case 0: document.insert(byte, at: position)
                case 1: if !document.isEmpty { document.remove(at: position) }
                default: if !document.isEmpty { document[position] = byte }
                }
            }
            if case .success(let value) = Self.ours(document), !Self.hasZeroWithExponent(document) {
                #expect(Self.foundation(document).map(Self.rounded) == Self.rounded(value), "\(document)")
            }
        }
    }
}

extension Result {
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}
