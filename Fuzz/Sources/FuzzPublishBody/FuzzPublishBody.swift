import GatewayModel
import PolicyEngine

/// libFuzzer entry: a publish body as the HTTP route sees it, parsed as JSON and then validated by
/// `PublishRequest.parse`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPublishBody(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let body = try? JSONValue(parsingUTF8: UnsafeBufferPointer(start: start, count: count)) else { return 0 }
    if case .success(let request) = PublishRequest.parse(body), let key = request.idempotencyKey {
        guard (1...255).contains(key.utf8.count) else { fatalError("idempotency key of \(key.utf8.count) bytes accepted") }
    }
    return 0
}
