import CRedisTLS

/// How a `rediss://` connection checks the server and shows itself: OpenSSL (libssl) runs TLS 1.2+ on the
/// socket, verifies the server's certificate chain and name, and presents a client certificate when given
/// one (Redis asks for one by default: `tls-auth-clients yes`).
public struct RedisTLS: Sendable, Hashable {
    /// A PEM file of the roots that may sign the server's certificate (`REDIS_TLS_CA_FILE`); `nil`: the
    /// system's trusted roots.
    public var caFile: String?
    /// A PEM client certificate, with its chain (`REDIS_TLS_CERT_FILE`).
    public var certificateFile: String?
    /// The PEM private key of ``certificateFile`` (`REDIS_TLS_KEY_FILE`).
    public var keyFile: String?
    /// The name the server's certificate must carry, also sent as SNI (`REDIS_TLS_SERVER_NAME`); `nil`: the
    /// URL's host (an IP address is then matched against the certificate's IP addresses).
    public var serverName: String?

    /// TLS with the system's roots, no client certificate and the URL's host as the server name.
    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
    }

    /// Loads the files as every connection will, so that a node refuses to start on a file it cannot use.
    /// - Throws: ``RedisURLError`` naming the setting, the file and OpenSSL's reason.
    public func check() throws(RedisURLError) {
        switch makeConfiguration() {
        case .success(let configuration): rg_tls_config_free(configuration)
        case .failure(let error): throw error
        }
    }

    /// An OpenSSL client configuration for one connection (files are read again on each, so renewed
    /// certificates apply from the next reconnect). The caller frees it with `rg_tls_config_free`.
    func makeConfiguration() -> Result<OpaquePointer, RedisURLError> {
        switch (certificateFile, keyFile) {
        case (.some, nil): return .failure(RedisURLError("REDIS_TLS_CERT_FILE is set without REDIS_TLS_KEY_FILE"))
        case (nil, .some): return .failure(RedisURLError("REDIS_TLS_KEY_FILE is set without REDIS_TLS_CERT_FILE"))
        default: break
        }
        var error = [CChar](repeating: 0, count: 256)
        let made = rg_tls_config_create(caFile, certificateFile, keyFile, &error, error.count)
        guard let made else {
            let text = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(RedisURLError("TLS: \(text)"))
        }
        return .success(made)
    }
}
