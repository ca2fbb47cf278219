import Foundation

/// What came back on a raw socket: the bytes and whether the server ended the connection.
struct RawAnswer: CustomStringConvertible {
    let bytes: [UInt8]
    let ended: Bool

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The complete responses received (head and `Content-Length` body), in order.
    var responses: [(head: String, body: [UInt8])] {
        var found: [(String, [UInt8])] = []
        var position = 0
        let marker: [UInt8] = [13, 10, 13, 10]
        while position < bytes.count {
            guard let headEnd = (position...max(position, bytes.count - 4)).first(where: { Array(bytes[$0..<min($0 + 4, bytes.count)]) == marker })
            else { break }
            let head = String(decoding: bytes[position..<headEnd], as: UTF8.self)
            let length = Self.field("content-length", in: head).flatMap { Int($0) } ?? 0
            let bodyStart = headEnd + 4
            guard bodyStart + length <= bytes.count else { break }
            found.append((head, Array(bytes[bodyStart..<bodyStart + length])))
            position = bodyStart + length
        }
        return found
    }

    /// The status of each complete response.
    var statuses: [Int] { responses.compactMap { Int($0.head.dropFirst("HTTP/1.1 ".count).prefix(3)) } }

    /// The first response's status.
    var status: Int? { statuses.first }

    /// A header of the first response (the name in any case).
    func header(_ name: String) -> String? { responses.first.flatMap { Self.field(name, in: $0.head) } }

    /// `error.code` of the first response's JSON body.
    var errorCode: String? {
        guard let body = responses.first?.body,
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        else { return nil }
        return (object["error"] as? [String: Any])?["code"] as? String
    }

    var description: String { "ended: \(ended), received: \(text.prefix(800).debugDescription)" }

    private static func field(_ name: String, in head: String) -> String? {
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name.lowercased() else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}

extension RawWebSocket {
    /// Reads until the server ends the connection (at most `timeout`).
    func answer(timeout: TimeInterval = patienceSeconds) async -> RawAnswer {
        let (bytes, ended) = await read(until: { _ in false }, timeout: timeout)
        return RawAnswer(bytes: bytes, ended: ended)
    }

    /// Reads until `count` complete responses arrived (or the connection ended, or `timeout` passed).
    func responses(_ count: Int, timeout: TimeInterval = patienceSeconds) async -> RawAnswer {
        let (bytes, ended) = await read(until: { RawAnswer(bytes: $0, ended: false).responses.count >= count }, timeout: timeout)
        return RawAnswer(bytes: bytes, ended: ended)
    }

    /// Opens a connection, sends `bytes` and reads until the server ends the connection (at most `patience`).
    static func exchange(port: Int, _ bytes: [UInt8]) async throws -> RawAnswer {
        let socket = try RawWebSocket(port: port)
        socket.send(bytes: bytes)
        return await socket.answer()
    }

    /// ``exchange(port:_:)-(_,[UInt8])`` with text.
    static func exchange(port: Int, _ text: String) async throws -> RawAnswer {
        try await exchange(port: port, Array(text.utf8))
    }
}
