/// A small JSON writer for the hot path (event envelopes, server messages): appends to a `String`
/// without `JSONEncoder`'s reflection. Output is compact and valid for every input; strings are
/// escaped per RFC 8259 (control characters as `\u00XX`, plus `"` and `\`; `/` is left alone).
/// Parsed numbers are written as their literal (``JSONNumber``), so values pass through unchanged.
public struct JSONWriter {
    /// The text written so far.
    public private(set) var text = ""

    /// An empty writer.
    public init(capacity: Int = 256) { text.reserveCapacity(capacity) }

    /// Appends raw, already valid JSON.
    public mutating func raw(_ json: String) { text += json }

    /// Appends a string literal.
    public mutating func string(_ value: String) {
        text.append("\"")
        var plainStart = value.utf8.startIndex
        var index = plainStart
        let utf8 = value.utf8
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                text += value[plainStart..<index]
                switch byte {
                case UInt8(ascii: "\""): text += "\\\""
                case UInt8(ascii: "\\"): text += "\\\\"
                case 0x0A: text += "\\n"
                case 0x0D: text += "\\r"
                case 0x09: text += "\\t"
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    text += "\\u00" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
                }
                plainStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        text += value[plainStart..<utf8.endIndex]
        text.append("\"")
    }

    /// Appends any JSON value.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: text += "null"
        case .bool(let flag): text += flag ? "true" : "false"
        case .number(let number): text += number.literal
        case .string(let string): self.string(string)
        case .array(let items):
            text.append("[")
            for (index, item) in items.enumerated() {
                if index > 0 { text.append(",") }
                self.value(item)
            }
            text.append("]")
        case .object(let object):
            text.append("{")
            // Sorted keys: the same data always encodes to the same bytes.
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { text.append(",") }
                string(key)
                text.append(":")
                self.value(object[key]!)
            }
            text.append("}")
        }
    }

    /// Appends a number the gateway computed: integers below 2^53 without a fraction, others in
    /// Swift's shortest round-trip form, `null` for infinities and NaN.
    public mutating func number(_ number: Double) {
        if let number = JSONNumber(number) { text += number.literal } else { text += "null" }
    }

    /// Appends a JSON number as its literal, verbatim.
    public mutating func number(_ number: JSONNumber) { text += number.literal }

    /// Appends an integer.
    public mutating func integer(_ value: Int64) { text += String(value) }

    /// Starts an object; write members with ``key(_:)`` and close with ``endObject()``.
    public mutating func beginObject() { text.append("{") }
    /// Ends an object.
    public mutating func endObject() {
        if text.last == "," { text.removeLast() }
        text.append("}")
    }
    /// Writes `"key":` (and a comma before the next member, which ``endObject()`` removes at the end).
    public mutating func key(_ name: String) {
        if let last = text.last, last != "{", last != "," { text.append(",") }
        string(name)
        text.append(":")
    }
}
