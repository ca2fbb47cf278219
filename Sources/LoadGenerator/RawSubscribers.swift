import Foundation
import Synchronization

// epoll(7)'s declarations: Glibc's module map leaves out sys/epoll.h; SwiftNIO's CNIOLinux (built for NIOPosix)
// has them.
#if canImport(CNIOLinux)
import CNIOLinux
#endif

#if canImport(Glibc)
import Glibc
#endif

/// What the subscribers connect to.
enum Target: String, Sendable {
    /// This gateway: `/ws?token=…`, a `subscribe` frame, events as `{"type":"event",…}` frames.
    case gateway
    /// Nchan: `/sub/company123` (a WebSocket subscriber location); every text frame is one published message.
    case nchan
}

/// Many subscribed WebSocket connections served by one thread with epoll(7) and a minimal frame parser, so
/// that the load generator spends as little CPU per received frame as possible (the server under test
/// shares the machine). Each connection: TCP connect, HTTP upgrade, (for the gateway) one masked `subscribe`
/// frame; then every event frame counts, and its `"t":` field gives the latency.
final class RawSubscribers: @unchecked Sendable {
    /// A connection's unparsed bytes (a class: parsing works on the buffer in place, never on a copy).
    private final class Connection {
        let descriptor: Int32
        var buffer: [UInt8] = []
        var upgraded = false

        init(descriptor: Int32) { self.descriptor = descriptor }
    }

    private var connections: [Int32: Connection] = [:]
    private var descriptors: [Int32] = []
    private let tally: Tally
    private let measureLatency: Bool
    private let target: Target
    private var samples: [Int64] = []
    private var spans: [Int64: (first: Int64, last: Int64)] = [:]

    init(port: Int, tokens: [String], tally: Tally, measureLatency: Bool, target: Target = .gateway) throws {
        self.tally = tally
        self.measureLatency = measureLatency
        self.target = target
        for token in tokens {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw LoadError("connect failed: \(errno)") }
            var one: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let request =
                // The headers Chrome sends (about 800 bytes with the token), so the gateway reads a browser-sized
                // upgrade request.
                "GET \(target == .nchan ? "/sub/company123" : "/ws?token=\(token)&company_id=123") HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
                + "Pragma: no-cache\r\nCache-Control: no-cache\r\n"
                + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"
                + "Upgrade: websocket\r\nOrigin: https://crm.example.com\r\nSec-WebSocket-Version: 13\r\n"
                + "Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            Self.writeAll(descriptor, Array(request.utf8))
            if target == .gateway { Self.writeAll(descriptor, Self.maskedText(#"{"type":"subscribe","topics":["deal.stage.*"]}"#)) }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            connections[descriptor] = Connection(descriptor: descriptor)
            descriptors.append(descriptor)
        }
    }

    /// Reads until `stop` is set; then hands the latency samples to the tally. One epoll set holds every
    /// connection, so a wake-up costs the sockets that are ready, not all of them (poll(2) scans every
    /// descriptor on each call, which with 1,000 connections made the generator the bottleneck of a fan-out).
    func run(stop: Flag) {
        let poller = epoll_create1(0)
        for descriptor in descriptors {
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.fd = descriptor
            epoll_ctl(poller, EPOLL_CTL_ADD, descriptor, &event)
        }
        var events = [epoll_event](repeating: epoll_event(), count: max(1, descriptors.count))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var ready: [(descriptor: Int32, arrived: Int64)] = []
        let cpuAtStart = Self.threadCPUNanos()
        while !stop.value.load(ordering: .relaxed) {
            let count = epoll_wait(poller, &events, Int32(events.count), 50)
            guard count > 0 else { continue }
            // Every ready socket is read before any is parsed, and a frame's arrival is when its bytes
            // were read: the generator's own parsing of one socket's frames must not count as latency of
            // the next socket's (a browser tab parses in a process of its own).
            ready.removeAll(keepingCapacity: true)
            for index in 0..<Int(count) {
                let descriptor = events[index].data.fd
                while true {
                    let read = recv(descriptor, &chunk, chunk.count, 0)
                    if read <= 0 { break }
                    connections[descriptor]!.buffer.append(contentsOf: chunk[0..<read])
                    if read < chunk.count { break }
                }
                ready.append((descriptor, monotonicNanos()))
            }
            for (descriptor, arrived) in ready { parse(descriptor, arrived: arrived) }
        }
        close(poller)
        tally.receiverCPUNanos.store(Self.threadCPUNanos() - cpuAtStart, ordering: .relaxed)
        let collected = samples
        tally.latencies.withLock { $0.append(contentsOf: collected) }
        let collectedSpans = spans
        tally.spans.withLock { $0.merge(collectedSpans) { old, _ in old } }
        for descriptor in connections.keys { close(descriptor) }
    }

    private func parse(_ descriptor: Int32, arrived: Int64) {
        let connection = connections[descriptor]!
        let consumed = connection.buffer.withUnsafeBufferPointer { bytes -> Int in
            var position = 0
            if !connection.upgraded {
                guard let end = Self.headerEnd(bytes) else { return 0 }
                connection.upgraded = true
                position = end
                // Nchan subscribes with the upgrade itself.
                if target == .nchan { tally.ready.wrappingAdd(1, ordering: .relaxed) }
            }
            while bytes.count - position >= 2 {
                let opcode = bytes[position] & 0x0F
                var length = Int(bytes[position + 1] & 0x7F)
                var header = 2
                if length == 126 {
                    guard bytes.count - position >= 4 else { break }
                    length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
                    header = 4
                } else if length == 127 {
                    guard bytes.count - position >= 10 else { break }
                    length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[position + 2 + $1]) }
                    header = 10
                }
                guard bytes.count - position >= header + length else { break }
                let payload = UnsafeBufferPointer(rebasing: bytes[(position + header)..<(position + header + length)])
                if opcode == 0x1 { text(payload, arrived: arrived) }
                if opcode == 0x9 {  // ping: answer with a masked pong of the same payload
                    Self.writeAll(descriptor, Self.masked(opcode: 0xA, Array(payload)))
                }
                position += header + length
            }
            return position
        }
        if consumed == connection.buffer.count {
            connection.buffer.removeAll(keepingCapacity: true)
        } else if consumed > 0 {
            connection.buffer.removeFirst(consumed)
        }
    }

    private static let eventPrefix = Array(#"{"type":"event""#.utf8)
    private static let confirmedPrefix = Array(#"{"type":"subscription.confirmed""#.utf8)
    private static let timeKey = Array(#""t":"#.utf8)

    private func text(_ payload: UnsafeBufferPointer<UInt8>, arrived: Int64) {
        func hasPrefix(_ prefix: [UInt8]) -> Bool {
            payload.count >= prefix.count && payload[0..<prefix.count].elementsEqual(prefix)
        }
        if target == .nchan || hasPrefix(Self.eventPrefix) {
            tally.delivered.wrappingAdd(1, ordering: .relaxed)
            guard measureLatency else { return }
            let key = Self.timeKey
            var index = 0
            while index + key.count < payload.count {
                if payload[index] == 0x22, payload[index + 1] == key[1], payload[index + 2] == key[2], payload[index + 3] == key[3] {
                    var value: Int64 = 0
                    var digit = index + key.count
                    while digit < payload.count, payload[digit] >= 0x30, payload[digit] <= 0x39 {
                        value = value * 10 + Int64(payload[digit] - 0x30)
                        digit += 1
                    }
                    let latency = arrived - value
                    samples.append(latency)
                    if let span = spans[value] {
                        spans[value] = (min(span.first, latency), max(span.last, latency))
                    } else {
                        spans[value] = (latency, latency)
                    }
                    return
                }
                index += 1
            }
        } else if hasPrefix(Self.confirmedPrefix) {
            tally.ready.wrappingAdd(1, ordering: .relaxed)
        }
    }

    /// CPU time this thread has used (user and system).
    private static func threadCPUNanos() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    private static func headerEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    static func maskedText(_ text: String) -> [UInt8] { masked(opcode: 0x1, Array(text.utf8)) }

    static func masked(opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        for (index, byte) in payload.enumerated() { frame.append(byte ^ mask[index % 4]) }
        return frame
    }

    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
