/// Where a Redis server is and how to log in: `redis://[user:pass@]host:port[/db]` (`REDIS_URL`), or
/// `rediss://` for TLS (see ``RedisTLS``; the files come from `REDIS_TLS_*` settings, not the URL).
public struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address (without brackets for IPv6).
    public var host: String
    /// The TCP port.
    public var port: Int
    /// The ACL user, when the URL names one (Redis 6+); `nil` logs in as `default`.
    public var user: String?
    /// The password, when the URL has one.
    public var password: String?
    /// The logical database (`SELECT`); 0 when the URL names none.
    public var database: Int
    /// TLS, for `rediss://`; `nil` for plain `redis://`.
    public var tls: RedisTLS?

    /// Parses a `REDIS_URL`.
    /// - Throws: ``RedisURLError`` naming what is wrong (never echoing the password).
    public init(_ text: String) throws(RedisURLError) {
        let scheme = ["redis://", "rediss://"].first { text.lowercased().hasPrefix($0) }
        guard let scheme else {
            throw RedisURLError("REDIS_URL must start with redis:// or rediss:// (redis://[user:pass@]host:port[/db])")
        }
        tls = scheme == "rediss://" ? RedisTLS() : nil
        var rest = Substring(text.dropFirst(scheme.count))
        var user: String?
        var password: String?
        // Credentials first: a password may hold a '/' (or anything but '@' unescaped).
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let name = credentials[..<colon]
                user = name.isEmpty ? nil : String(name).removingURLEscapes()
                password = String(credentials[credentials.index(after: colon)...]).removingURLEscapes()
            } else {
                password = String(credentials).removingURLEscapes()
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), (0...15_999).contains(number) else {
                    throw RedisURLError("REDIS_URL database '\(path.prefix(20))' is not a number")
                }
                database = number
            }
        }
        let host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw RedisURLError("REDIS_URL has an unclosed [ in its host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw RedisURLError("REDIS_URL host is malformed") }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw RedisURLError("REDIS_URL names no host (redis://host:port)") }
        var port = 6379
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else {
                throw RedisURLError("REDIS_URL port '\(portText.prefix(20))' is not in 1...65535")
            }
            port = number
        }
        self.host = String(host)
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// The URL without its password, for logs.
    public var description: String {
        let credentials = password == nil ? "" : "\(user ?? ""):***@"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(tls == nil ? "redis" : "rediss")://\(credentials)\(shownHost):\(port)/\(database)"
    }
}

/// A `REDIS_URL` that cannot be used.
public struct RedisURLError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    /// `%XX` escapes decoded (user names and passwords in URLs); invalid escapes are kept as written.
    fileprivate func removingURLEscapes() -> String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
