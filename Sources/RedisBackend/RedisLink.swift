import CHiredis
import CRedisTLS
import Foundation

/// A hiredis context.
typealias Context = UnsafeMutablePointer<redisContext>

/// One open connection to Redis, owned by one thread: a blocking hiredis context and, for `rediss://`, the
/// TLS session on its socket (OpenSSL through `CRedisTLS`, since Debian's hiredis 0.14 has no TLS). hiredis
/// formats every command and parses every reply either way; only the bytes move differently.
final class RedisLink {
    private let context: Context
    private let tls: OpaquePointer?

    private init(context: Context, tls: OpaquePointer?) {
        self.context = context
        self.tls = tls
    }

    deinit {
        if let tls { rg_tls_session_free(tls) }
        redisFree(context)
    }

    /// Opens the TCP connection (and the TLS session for `rediss://`) with the settings' timeouts. Runs no
    /// Redis command: the caller sends its handshake.
    static func open(_ settings: RedisConnection.Settings) -> Result<RedisLink, RedisError> {
        let url = settings.url
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), timeval(settings.connectTimeout)) else {
            return .failure(.unavailable("cannot allocate a hiredis context"))
        }
        guard context.pointee.err == 0 else {
            let text = errorText(context)
            redisFree(context)
            return .failure(.unavailable("\(url.host):\(url.port): \(text)"))
        }
        _ = redisEnableKeepAlive(context)
        guard let options = url.tls else {
            _ = redisSetTimeout(context, timeval(settings.commandTimeout))
            return .success(RedisLink(context: context, tls: nil))
        }
        // The handshake is bounded by the connect timeout, every later read and write by the command timeout.
        _ = redisSetTimeout(context, timeval(settings.connectTimeout))
        let configuration: OpaquePointer
        switch options.makeConfiguration() {
        case .success(let made): configuration = made
        case .failure(let error):
            redisFree(context)
            return .failure(.unavailable(error.description))
        }
        defer { rg_tls_config_free(configuration) }
        guard let session = rg_tls_connect(UnsafeMutableRawPointer(context), configuration, options.serverName ?? url.host) else {
            let text = errorText(context)
            redisFree(context)
            return .failure(.unavailable("\(url.host):\(url.port): \(text)"))
        }
        _ = redisSetTimeout(context, timeval(settings.commandTimeout))
        return .success(RedisLink(context: context, tls: session))
    }

    /// The socket, for `poll`.
    var descriptor: Int32 { context.pointee.fd }

    /// Queues one command on the output buffer.
    func append(_ command: RedisCommand) {
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

    /// The next reply (writing what is queued first, then waiting up to the command timeout), or `nil`
    /// when the connection broke.
    func reply() -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        let status =
            if let tls { rg_tls_get_reply(UnsafeMutableRawPointer(context), tls, &raw) } else { redisGetReply(context, &raw) }
        guard status == REDIS_OK, let raw else { return nil }
        defer { freeReplyObject(raw) }
        return RedisReply(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Writes everything queued; `false` when the connection broke.
    func flush() -> Bool {
        if let tls { return rg_tls_flush(UnsafeMutableRawPointer(context), tls) == REDIS_OK }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { return false }
        }
        return true
    }

    /// Waits up to `milliseconds` for bytes to read (at once when some wait decrypted in the TLS session).
    func waitForInput(milliseconds: Int32) -> Bool {
        if let tls, rg_tls_pending(tls) != 0 { return true }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    /// Reads what has arrived into the reply reader without waiting; `false` when the connection broke.
    func readArrived() -> Bool {
        if let tls { return rg_tls_read(UnsafeMutableRawPointer(context), tls, 0) == REDIS_OK }
        return redisBufferRead(context) == REDIS_OK
    }

    /// The next whole reply already read (`.success(nil)` when none is whole yet), or `.failure` on a
    /// protocol error.
    func bufferedReply() -> Result<RedisReply?, RedisError> {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { return .failure(.unavailable(errorText)) }
        guard let raw else { return .success(nil) }
        defer { freeReplyObject(raw) }
        return .success(RedisReply(raw.assumingMemoryBound(to: redisReply.self)))
    }

    /// Between requests nothing is owed to us: `true` when Redis closed the connection (a restart, an idle
    /// timeout, `CLIENT KILL`) or sent something unasked. TLS records without data (session tickets) are not
    /// a break.
    var isBrokenWhileIdle: Bool {
        if let tls { return rg_tls_idle_broken(tls) != 0 }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }

    /// Why the connection broke, in hiredis' (or OpenSSL's) words.
    var errorText: String { Self.errorText(context) }

    private static func errorText(_ context: Context) -> String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "connection lost" : text
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
