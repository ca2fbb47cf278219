import GatewaySession

/// libFuzzer entry: the token pre-parser the authenticator runs before any signature check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWT(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let token = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    do {
        try TokenShape.checkText(token)
        _ = try TokenShape.algorithm(of: token)
    } catch {}
    return 0
}
