import Synchronization

/// A few ``RedisConnection``s used in turn: concurrent requests spread over them and each pipelines what
/// queued on it. Every connection loads `scripts` when it (re)connects.
public final class RedisClient: Sendable {
    private let connections: [RedisConnection]
    private let turn = Atomic<Int>(0)

    /// Opens `count` connections (lazily: each connects on its first request).
    /// - Parameters:
    ///   - settings: where Redis is, timeouts, backoff and the scripts to load.
    ///   - count: connections in the pool (at least 1).
    ///   - name: thread name prefix, for debuggers and `top -H`.
    public init(settings: RedisConnection.Settings, count: Int, name: String) {
        connections = (0..<max(1, count)).map { RedisConnection(settings: settings, name: "\(name)-\($0)") }
    }

    /// The next connection in turn.
    public var connection: RedisConnection {
        connections[(turn.add(1, ordering: .relaxed).oldValue & Int.max) % connections.count]
    }

    /// Runs `script` on the next connection.
    public func run(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]]) async throws -> RedisReply {
        try await connection.run(script, keys: keys, arguments: arguments)
    }

    /// A real round trip (`PING`) on every connection: healthy only when all answer.
    public func ping() async throws {
        for connection in connections {
            guard case .status("PONG") = try await connection.call("PING") else {
                throw RedisError.unexpectedReply("PING did not answer PONG")
            }
        }
    }

    /// Closes every connection; queued requests fail with ``RedisError/closed``.
    public func close() {
        for connection in connections { connection.close() }
    }
}
