import GatewayModel
import GatewaySession

/// libFuzzer entry: one WebSocket text frame (valid UTF-8, as the transport guarantees) through the
/// client message decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientMessage(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let text = String(validating: UnsafeBufferPointer(start: start, count: count), as: UTF8.self) else { return 0 }
    switch ClientMessage.parse(text) {
    case .success(.subscribe(let topics)), .success(.unsubscribe(let topics)):
        guard (1...ClientMessage.maximumTopics).contains(topics.count) else { fatalError("topic count out of range: \(topics.count)") }
    case .success, .failure: break
    }
    return 0
}
