import CHiredis

/// One reply of a Redis server (RESP2), copied out of hiredis' reply object.
public enum RedisReply: Sendable, Hashable {
    /// A bulk string: arbitrary bytes.
    case bulk([UInt8])
    /// A status line such as `OK`.
    case status(String)
    /// An error line such as `NOSCRIPT No matching script`.
    case error(String)
    /// An integer.
    case integer(Int64)
    /// An array of replies.
    case array([RedisReply])
    /// The null bulk string or null array.
    case null

    /// Copies a hiredis reply (the caller frees it).
    init(_ reply: UnsafeMutablePointer<redisReply>) {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            self = .bulk(value.str.map { Array(UnsafeRawBufferPointer(start: $0, count: value.len)) } ?? [])
        case REDIS_REPLY_STATUS:
            self = .status(value.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: value.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_ERROR:
            self = .error(value.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: value.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(RedisReply(element)) } else { elements.append(.null) }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    /// The bytes of a bulk string or status as text.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        case .integer(let number): String(number)
        default: nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer.
    public var int64: Int64? {
        switch self {
        case .integer(let number): number
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    /// The elements of an array reply; empty for anything else.
    public var elements: [RedisReply] {
        if case .array(let elements) = self { return elements }
        return []
    }

    /// Throws the error a reply carries, or returns the reply.
    public func checked() throws(RedisError) -> RedisReply {
        if case .error(let message) = self { throw RedisError.server(message) }
        return self
    }
}

/// Why a Redis request failed.
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server could not be reached or the connection broke; whether a command sent before the break
    /// ran is unknown.
    case unavailable(String)
    /// The server answered with an error line.
    case server(String)
    /// The server answered with something this client did not expect.
    case unexpectedReply(String)
    /// The client was closed.
    case closed

    public var description: String {
        switch self {
        case .unavailable(let reason): "Redis is unreachable: \(reason)"
        case .server(let message): "Redis answered an error: \(message)"
        case .unexpectedReply(let what): "Redis answered unexpectedly: \(what)"
        case .closed: "the Redis connection is closed"
        }
    }
}
