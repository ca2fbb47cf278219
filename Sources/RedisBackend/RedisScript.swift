import Crypto

/// A Lua script run by SHA (`EVALSHA`); connections load it on every (re)connect (`SCRIPT LOAD`).
public struct RedisScript: Sendable, Hashable {
    /// What the script is for, in logs.
    public let name: String
    /// The Lua source.
    public let source: String
    /// The SHA-1 of the source, as Redis names loaded scripts.
    public let sha: String

    /// A script with its SHA computed here, so no round trip is needed to learn it.
    public init(name: String, source: String) {
        self.name = name
        self.source = source
        self.sha = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
