import GatewayModel

/// libFuzzer entry: strict JSON parsing of arbitrary bytes. Whatever parses must write back (JSONWriter)
/// as text that parses to the same value; a mismatch is a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let value = try? JSONValue(parsingUTF8: UnsafeBufferPointer(start: start, count: count)) else { return 0 }
    var writer = JSONWriter()
    writer.value(value)
    guard let again = try? JSONValue(parsing: writer.text) else { fatalError("written JSON does not parse: \(writer.text)") }
    guard again == value else { fatalError("JSON changed in a round trip: \(writer.text)") }
    return 0
}
