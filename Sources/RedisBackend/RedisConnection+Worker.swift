/// The connection of one connection thread: only that thread touches it.
final class Worker: @unchecked Sendable {
    private let settings: RedisConnection.Settings
    private var link: RedisLink?
    private var backoff: ReconnectBackoff
    private var lastFailure: RedisError = .unavailable("not connected yet")

    init(settings: RedisConnection.Settings) {
        self.settings = settings
        backoff = ReconnectBackoff(initial: settings.initialBackoff, maximum: settings.maximumBackoff)
    }

    /// The open connection, opening one (with the handshake) when there is none and the backoff allows.
    func connected() -> Result<RedisLink, RedisError> {
        if let link {
            // A connection Redis closed while idle (a restart, an idle timeout, CLIENT KILL) is replaced now,
            // before a request is written into the dead one.
            guard link.isBrokenWhileIdle else { return .success(link) }
            disconnect()
        }
        guard backoff.allowsAttempt else { return .failure(lastFailure) }
        switch Self.open(settings) {
        case .success(let link):
            self.link = link
            backoff.succeeded()
            return .success(link)
        case .failure(let error):
            lastFailure = error
            backoff.failed()
            return .failure(error)
        }
    }

    func disconnect() { link = nil }

    /// Connects (with TLS for `rediss://`), sets the timeouts and runs the handshake; closes the connection
    /// on any failure.
    static func open(_ settings: RedisConnection.Settings) -> Result<RedisLink, RedisError> {
        let link: RedisLink
        switch RedisLink.open(settings) {
        case .success(let opened): link = opened
        case .failure(let error): return .failure(error)
        }
        var handshake: [RedisCommand] = []
        if let password = settings.url.password {
            handshake.append([Array("AUTH".utf8)] + (settings.url.user.map { [Array($0.utf8)] } ?? []) + [Array(password.utf8)])
        }
        if settings.url.database != 0 { handshake.append([Array("SELECT".utf8), Array(String(settings.url.database).utf8)]) }
        for script in settings.scripts { handshake.append([Array("SCRIPT".utf8), Array("LOAD".utf8), Array(script.source.utf8)]) }
        for command in handshake { link.append(command) }
        for command in handshake {
            guard let reply = link.reply() else { return .failure(.unavailable(link.errorText)) }
            if case .error(let message) = reply {
                let word = String(decoding: command[0], as: UTF8.self)
                return .failure(.unavailable("\(word) failed: \(message.prefix(200))"))
            }
        }
        return .success(link)
    }
}
