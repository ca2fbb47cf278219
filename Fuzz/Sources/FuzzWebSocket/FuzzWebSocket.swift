import Dispatch
import NIOCore
import NIOEmbedded
import NIOWebSocket

/// libFuzzer entry: raw client bytes after the upgrade, through NIO's frame decoder and the gateway's
/// ``WebSocketConnectionHandler`` on a testing channel: the session is admitted first (a valid token,
/// a real gateway), then the bytes are fed, given a moment to reach the gateway, and the channel is closed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let done = DispatchSemaphore(value: 0)
    Task {
        await WebSocketHarness.shared.run(bytes)
        done.signal()
    }
    done.wait()
    return 0
}
