/// A JSON value: event `data`, publisher-given fields, test-case inputs. Numbers keep their
/// literal (``JSONNumber``), so a value parsed and written again is the value the publisher sent.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value at a dotted path below this value, e.g. `contact_id` or `owner.email`.
    public func value(atPath path: some StringProtocol) -> JSONValue? {
        var current = self
        for key in path.split(separator: ".") {
            guard case .object(let object) = current, let next = object[String(key)] else { return nil }
            current = next
        }
        return current
    }

    /// The value as an identifier string: strings as they are, integer literals of any size as their
    /// decimal digits (`123` and `"123"` name the same company; `9007199254740993` keeps every digit),
    /// `nil` for anything else. A number written with a fraction or an exponent (`7.5`, `7.0`, `1e3`)
    /// is no identifier: it fails closed.
    public var identifierString: String? {
        switch self {
        case .string(let string): string
        case .number(let number): number.integerText
        default: nil
        }
    }

    /// The object's members, or `nil` when this is not an object.
    public var objectValue: [String: JSONValue]? { if case .object(let object) = self { object } else { nil } }

    /// A copy with the value at `path` (relative to this value) replaced, when it exists.
    public func replacing(path: ArraySlice<Substring>, with replacement: JSONValue) -> JSONValue {
        guard let head = path.first, case .object(var object) = self, let child = object[String(head)] else { return self }
        object[String(head)] = path.count == 1 ? replacement : child.replacing(path: path.dropFirst(), with: replacement)
        return .object(object)
    }
}

/// Codable, for formats other than the gateway's own parser (YAML test cases, `JSONDecoder`): a number
/// decodes as `Int64`, then `UInt64`, then `Double`, since a `Decoder` offers no literal text, so
/// integers beyond 64 bits arrive rounded on this path; ``init(parsing:)`` keeps them exact. Encoding
/// writes integers that fit 64 bits as integers and other numbers through their `Double` view.
extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? container.decode(Int64.self) {
            self = .number(JSONNumber(integer))
        } else if let integer = try? container.decode(UInt64.self) {
            self = .number(JSONNumber(integer))
        } else if let double = try? container.decode(Double.self), let number = JSONNumber(double) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let bool): try container.encode(bool)
        case .number(let number):
            if let integer = number.int64Value {
                try container.encode(integer)
            } else if number.isInteger, let integer = UInt64(number.literal) {
                try container.encode(integer)
            } else {
                try container.encode(number.doubleValue)
            }
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }
}
