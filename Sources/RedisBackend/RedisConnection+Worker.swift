import CHiredis
import Dispatch
import Foundation
import Synchronization

/// A hiredis context.
typealias Context = UnsafeMutablePointer<redisContext>

/// The hiredis context of one connection thread: only that thread touches it.
final class Worker: @unchecked Sendable {
    private let settings: RedisConnection.Settings
    private var context: Context?
    private var backoff: ReconnectBackoff
    private var lastFailure: RedisError = .unavailable("not connected yet")

    init(settings: RedisConnection.Settings) {
        self.settings = settings
        backoff = ReconnectBackoff(initial: settings.initialBackoff, maximum: settings.maximumBackoff)
    }

    /// The open context, opening one (with the handshake) when there is none and the backoff allows.
    func connected() -> Result<Context, RedisError> {
        if let context {
            // Between requests nothing is owed to us: a readable socket means Redis closed it (a restart, an
            // idle timeout, CLIENT KILL). Open a new one now, before a request is written into the dead one.
            var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { return .success(context) }
            disconnect()
        }
        guard backoff.allowsAttempt else { return .failure(lastFailure) }
        switch Self.open(settings) {
        case .success(let context):
            self.context = context
            backoff.succeeded()
            return .success(context)
        case .failure(let error):
            lastFailure = error
            backoff.failed()
            return .failure(error)
        }
    }

    func disconnect() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Connects, sets the timeouts and runs the handshake; frees the context on any failure.
    static func open(_ settings: RedisConnection.Settings) -> Result<Context, RedisError> {
        guard let raw = redisConnectWithTimeout(settings.url.host, Int32(settings.url.port), timeval(settings.connectTimeout)) else {
            return .failure(.unavailable("cannot allocate a hiredis context"))
        }
        let context = raw
        guard raw.pointee.err == 0 else {
            let text = errorText(context)
            redisFree(raw)
            return .failure(.unavailable("\(settings.url.host):\(settings.url.port): \(text)"))
        }
        _ = redisSetTimeout(raw, timeval(settings.commandTimeout))
        _ = redisEnableKeepAlive(raw)
        var handshake: [RedisCommand] = []
        if let password = settings.url.password {
            handshake.append([Array("AUTH".utf8)] + (settings.url.user.map { [Array($0.utf8)] } ?? []) + [Array(password.utf8)])
        }
        if settings.url.database != 0 { handshake.append([Array("SELECT".utf8), Array(String(settings.url.database).utf8)]) }
        for script in settings.scripts { handshake.append([Array("SCRIPT".utf8), Array("LOAD".utf8), Array(script.source.utf8)]) }
        for command in handshake { append(command, to: context) }
        for command in handshake {
            guard let reply = reply(from: context) else {
                let text = errorText(context)
                redisFree(raw)
                return .failure(.unavailable(text))
            }
            if case .error(let message) = reply {
                redisFree(raw)
                let word = String(decoding: command[0], as: UTF8.self)
                return .failure(.unavailable("\(word) failed: \(message.prefix(200))"))
            }
        }
        return .success(context)
    }

    /// Queues one command on the context's output buffer.
    static func append(_ command: RedisCommand, to context: Context) {
        var joined: [UInt8] = []
        var lengths: [Int] = []
        joined.reserveCapacity(command.reduce(0) { $0 + $1.count })
        for word in command {
            joined.append(contentsOf: word)
            lengths.append(word.count)
        }
        joined.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)
            var offset = 0
            var pointers: [UnsafePointer<CChar>?] = []
            pointers.reserveCapacity(lengths.count)
            for length in lengths {
                pointers.append(base.advanced(by: offset).assumingMemoryBound(to: CChar.self))
                offset += length
            }
            pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { sizes in
                    _ = redisAppendCommandArgv(context, Int32(lengths.count), argv.baseAddress, sizes.baseAddress)
                }
            }
        }
    }

    /// The next reply (flushing what is queued first), or `nil` when the connection broke.
    static func reply(from context: Context) -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { return nil }
        defer { freeReplyObject(raw) }
        return RedisReply(raw.assumingMemoryBound(to: redisReply.self))
    }

    static func errorText(_ context: Context) -> String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "connection lost" : text
    }

    static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
