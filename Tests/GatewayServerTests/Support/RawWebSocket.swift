import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A bare TCP client that performs the WebSocket handshake and then only listens: it never answers a
/// ping, so it is what a dead or frozen peer looks like to the server.
final class RawWebSocket: @unchecked Sendable {
    private let descriptor: Int32

    init(port: Int, path: String, headers: [(String, String)] = []) throws {
        descriptor = try Self.connect(port: port)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let request =
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
            + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
        send(raw: request)
    }

    deinit { close(descriptor) }

    /// A TCP socket connected to `port` on the loopback; with `receiveBufferBytes`, its receive buffer is set
    /// that small before it connects.
    static func connect(port: Int, receiveBufferBytes: Int32? = nil) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        if var size = receiveBufferBytes {
            _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw TestFailure("connect() failed")
        }
        return descriptor
    }

    /// Sends one frame: `opcode` (with FIN when `fin`), masked unless `masked` is false (a client must mask).
    func send(opcode: UInt8, fin: Bool = true, masked: Bool = true, reservedBits: UInt8 = 0, payload: [UInt8]) {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | (reservedBits & 0x70) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            frame.append(maskBit | UInt8(payload.count))
        } else {
            frame.append(maskBit | 126)
            frame.append(UInt8(payload.count >> 8))
            frame.append(UInt8(payload.count & 0xFF))
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        if masked { frame += mask }
        frame += payload.enumerated().map { masked ? $1 ^ mask[$0 % 4] : $1 }
        _ = frame.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// A plain TCP connection to `port` that has sent nothing yet.
    init(port: Int) throws {
        descriptor = try Self.connect(port: port)
    }

    /// Sends raw bytes.
    func send(raw text: String) { _ = text.withCString { Glibc.send(descriptor, $0, strlen($0), 0) } }

    /// Sends any bytes (NUL included); on a connection the server closed it fails quietly (no SIGPIPE).
    func send(bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Reads, on a thread of its own, until `done` holds for the bytes received so far, the server ends the
    /// connection (or resets it) or `timeout` passes; returns the bytes and whether the connection ended.
    func read(
        until done: @escaping @Sendable ([UInt8]) -> Bool,
        timeout: TimeInterval = patienceSeconds
    ) async -> (bytes: [UInt8], ended: Bool) {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var received: [UInt8] = []
                let deadline = Date().addingTimeInterval(timeout)
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while Date() < deadline, !done(received) {
                    var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
                    guard poll(&poller, 1, 100) > 0 else { continue }
                    let count = recv(self.descriptor, &buffer, buffer.count, 0)
                    if count <= 0 { return continuation.resume(returning: (received, true)) }
                    received += buffer[0..<count]
                }
                continuation.resume(returning: (received, false))
            }
            thread.start()
        }
    }

    /// Reads what has arrived, without waiting; `ended` when the server has ended (or reset) the connection.
    func readAvailable() -> (bytes: [UInt8], ended: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 {
                received += buffer[0..<count]
                continue
            }
            return (received, count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        }
    }

    /// Ends the client's side of the TCP connection (a FIN) without a close frame, as a crashed client or a
    /// proxy dropping the connection does.
    func shutdownWriting() { _ = Glibc.shutdown(descriptor, Int32(SHUT_WR)) }

    /// Sends a text frame (or a fragment of one).
    func send(text: String, opcode: UInt8 = 0x1, fin: Bool = true) { send(opcode: opcode, fin: fin, payload: Array(text.utf8)) }

    /// The payloads of the unmasked text frames in `bytes` (after the upgrade response).
    static func texts(in bytes: [UInt8]) -> [String] {
        frames(in: bytes).filter { $0.opcode == 0x1 }.map { String(decoding: $0.payload, as: UTF8.self) }
    }

    /// The whole unmasked frames in `bytes` after the upgrade response (server frames are unmasked).
    static func frames(in bytes: [UInt8]) -> [(opcode: UInt8, payload: ArraySlice<UInt8>)] {
        guard var position = findHeaderEnd(bytes) else { return [] }
        var frames: [(opcode: UInt8, payload: ArraySlice<UInt8>)] = []
        while position + 2 <= bytes.count {
            var length = Int(bytes[position + 1] & 0x7F)
            var header = 2
            if length == 126 {
                guard position + 4 <= bytes.count else { break }
                length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
                header = 4
            } else if length == 127 {
                break
            }
            guard position + header + length <= bytes.count else { break }
            frames.append((bytes[position] & 0x0F, bytes[(position + header)..<(position + header + length)]))
            position += header + length
        }
        return frames
    }

    /// ``readUntilClosed(timeout:)`` on a thread of its own: blocking calls must not hold one of the few
    /// threads of the cooperative pool, which the in-process server under test runs on.
    func readUntilClosedOffPool(timeout: TimeInterval = patienceSeconds, answersClose: Bool = false) async -> (bytes: [UInt8], ended: Bool) {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.readUntilClosed(timeout: timeout, answersClose: answersClose)) }
            thread.start()
        }
    }

    /// Reads, on a thread of its own, until the text frames received include one containing `text` (or the
    /// connection ends, or `timeout` passes); returns every byte received. Read them before
    /// ``readUntilClosedOffPool(timeout:answersClose:)``'s bytes: frames can be split between the two.
    func readUntilText(containing text: String, timeout: TimeInterval = patienceSeconds) async throws -> [UInt8] {
        let received = await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8], Never>) in
            let thread = Thread {
                var received: [UInt8] = []
                let deadline = Date().addingTimeInterval(timeout)
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while Date() < deadline, !Self.texts(in: received).contains(where: { $0.contains(text) }) {
                    var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
                    guard poll(&poller, 1, 100) > 0 else { continue }
                    let count = recv(self.descriptor, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    received += buffer[0..<count]
                }
                continuation.resume(returning: received)
            }
            thread.start()
        }
        guard Self.texts(in: received).contains(where: { $0.contains(text) }) else {
            throw TestFailure("no message containing \(text) within \(timeout) s: \(String(decoding: received.prefix(400), as: UTF8.self))")
        }
        return received
    }

    /// Reads until the server closes the connection (or `timeout` passes); returns every byte received
    /// and whether the connection ended. With `answersClose`, answers the server's close frame with one of
    /// its own, as a client should (the server then ends the connection). Blocks.
    func readUntilClosed(timeout: TimeInterval, answersClose: Bool = false) -> (bytes: [UInt8], ended: Bool) {
        var received: [UInt8] = []
        var answered = false
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return (received, true) }
            received += buffer[0..<count]
            if answersClose, !answered, Self.closeFrame(in: received) != nil {
                answered = true
                // FIN + close, masked, 2-byte payload 1000 under the mask 1,2,3,4.
                let frame: [UInt8] = [0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2]
                _ = frame.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
            }
        }
        return (received, false)
    }

    /// Connects and reads until the server ends the connection; returns the close frame's code and reason.
    /// For connections the server refuses right after the upgrade: swift-websocket's client sometimes misses
    /// a close frame that arrives with the upgrade response and the server's FIN (it then hangs), so the
    /// refusal is read off the bytes instead.
    static func refusal(
        port: Int,
        path: String,
        headers: [(String, String)] = [],
        timeout: TimeInterval = patienceSeconds
    ) async throws -> (
        code: UInt16, reason: String
    ) {
        let socket = try RawWebSocket(port: port, path: path, headers: headers)
        let (bytes, ended) = await socket.readUntilClosedOffPool(timeout: timeout, answersClose: true)
        guard ended else { throw TestFailure("the server did not end the refused connection within \(timeout) s") }
        guard let close = closeFrame(in: bytes) else {
            throw TestFailure("no close frame in \(String(decoding: bytes.prefix(400), as: UTF8.self))")
        }
        return close
    }

    /// The status code of the first close frame in `bytes` (server frames are unmasked).
    static func closeCode(in bytes: [UInt8]) -> UInt16? { closeFrame(in: bytes)?.code }

    /// The status code and reason of the first close frame in `bytes`.
    static func closeFrame(in bytes: [UInt8]) -> (code: UInt16, reason: String)? {
        guard let close = frames(in: bytes).first(where: { $0.opcode == 0x8 }), close.payload.count >= 2 else { return nil }
        let payload = Array(close.payload)
        return (UInt16(payload[0]) << 8 | UInt16(payload[1]), String(decoding: payload.dropFirst(2), as: UTF8.self))
    }

    private static func findHeaderEnd(_ bytes: [UInt8]) -> Int? {
        let marker: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where Array(bytes[index..<index + 4]) == marker { return index + 4 }
        return nil
    }
}
