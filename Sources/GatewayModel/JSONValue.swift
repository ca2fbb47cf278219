/// A JSON value: event `data`, publisher-given fields, test-case inputs.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
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

    /// The largest integer a JSON number carries exactly here (2^53): larger ids must be strings.
    public static let largestExactInteger: Double = 9_007_199_254_740_992

    /// The value as an identifier string: strings as they are, integral numbers below 2^53 in
    /// decimal (`123` and `"123"` name the same company), `nil` for anything else: fractions and
    /// larger numbers, which a `Double` cannot tell apart, fail closed.
    public var identifierString: String? {
        switch self {
        case .string(let string): return string
        case .number(let number):
            guard number.rounded() == number, abs(number) < Self.largestExactInteger else { return nil }
            return String(Int64(number))
        default: return nil
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

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
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
            if number.rounded() == number, abs(number) < Self.largestExactInteger {
                try container.encode(Int64(number))
            } else {
                try container.encode(number)
            }
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }
}
