import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A client that sends its request and then never reads: what a hostile or frozen browser looks like to
/// the server. Its receive buffer is made small before it connects, so the server's answer backs up into
/// the server's own buffers at once instead of into the kernel's.
final class StalledClient: @unchecked Sendable {
    private let descriptor: Int32

    /// Connects to `port` on the loopback with a receive buffer of about `receiveBufferBytes`.
    init(port: Int, receiveBufferBytes: Int32 = 4096) throws {
        descriptor = try RawWebSocket.connect(port: port, receiveBufferBytes: receiveBufferBytes)
    }

    deinit { Glibc.close(descriptor) }

    /// Sends `bytes` (blocking until the kernel took them all).
    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }

    /// A WebSocket client of `path` that subscribes to `topics` and asks for a replay from `cursor`, all in
    /// one write, and then never reads.
    static func replayer(port: Int, path: String, topics: [String], cursor: String) throws -> StalledClient {
        let client = try StalledClient(port: port)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        var bytes = Array(
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
                .utf8
        )
        let subscribe = try JSONSerialization.data(withJSONObject: ["type": "subscribe", "topics": topics])
        let resume = try JSONSerialization.data(withJSONObject: ["type": "cursor.update", "cursor": cursor])
        bytes += maskedTextFrame(Array(subscribe)) + maskedTextFrame(Array(resume))
        client.send(bytes)
        return client
    }

    /// A plain HTTP GET of `target` with a bearer token, never read.
    static func getter(port: Int, target: String, token: String) throws -> StalledClient {
        let client = try StalledClient(port: port)
        client.send(Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n".utf8))
        return client
    }

    /// A client's text frame (masked, as RFC 6455 requires of clients; payloads under 64 KiB).
    static func maskedTextFrame(_ payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        return frame + mask + payload.enumerated().map { $1 ^ mask[$0 % 4] }
    }
}
