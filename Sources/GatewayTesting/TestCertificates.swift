import Foundation

/// A throw-away certificate authority and the certificates the TLS tests need, made with the `openssl`
/// command (Debian's `openssl`, an independent implementation of the files the gateway reads):
/// - a server certificate for `127.0.0.1` and `localhost`,
/// - a client certificate (Redis asks for one by default),
/// - and, from a second authority nobody trusts, a server certificate for the same names.
public struct TestCertificates: Sendable {
    /// The folder holding the files.
    public let directory: String
    public var caFile: String { directory + "/ca.crt" }
    public var serverCertificateFile: String { directory + "/server.crt" }
    public var serverKeyFile: String { directory + "/server.key" }
    public var clientCertificateFile: String { directory + "/client.crt" }
    public var clientKeyFile: String { directory + "/client.key" }
    /// Signed by the untrusted authority, for `127.0.0.1` and `localhost`.
    public var rogueCertificateFile: String { directory + "/rogue.crt" }
    public var rogueKeyFile: String { directory + "/rogue.key" }
    /// Signed by the trusted authority, for `redis.other.example` only.
    public var otherNameCertificateFile: String { directory + "/other.crt" }
    public var otherNameKeyFile: String { directory + "/other.key" }

    /// Makes the authorities and certificates in a new temporary folder (P-256 keys, valid for two days).
    public static func make() async throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "tls-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        try await certificates.authority("ca", name: "gateway test CA")
        try await certificates.authority("rogue-ca", name: "untrusted test CA")
        try await certificates.issue("server", by: "ca", name: "localhost", alternativeNames: "IP:127.0.0.1,DNS:localhost")
        try await certificates.issue("client", by: "ca", name: "gateway node", alternativeNames: nil)
        try await certificates.issue("rogue", by: "rogue-ca", name: "localhost", alternativeNames: "IP:127.0.0.1,DNS:localhost")
        try await certificates.issue("other", by: "ca", name: "redis.other.example", alternativeNames: "DNS:redis.other.example")
        return certificates
    }

    private func authority(_ file: String, name: String) async throws {
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "\(directory)/\(file).key"]
        try await openssl(["req", "-x509", "-days", "2", "-out", "\(directory)/\(file).crt", "-subj", "/CN=\(name)"] + key)
    }

    private func issue(_ file: String, by authority: String, name: String, alternativeNames: String?) async throws {
        let path = "\(directory)/\(file)"
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "\(path).key"]
        try await openssl(["req", "-out", "\(path).csr", "-subj", "/CN=\(name)"] + key)
        var signing = [
            "x509", "-req", "-in", "\(path).csr", "-CA", "\(directory)/\(authority).crt", "-CAkey", "\(directory)/\(authority).key",
            "-CAcreateserial", "-days", "2", "-out", "\(path).crt",
        ]
        if let alternativeNames {
            try "subjectAltName=\(alternativeNames)\n".write(toFile: "\(path).ext", atomically: true, encoding: .utf8)
            signing += ["-extfile", "\(path).ext"]
        }
        try await openssl(signing)
    }

    private func openssl(_ arguments: [String]) async throws {
        let output = try await ChildProcess.run("/usr/bin/openssl", arguments, timeout: .seconds(60))
        guard output.status == 0 else {
            throw RedisServerError("openssl \(arguments.prefix(2).joined(separator: " ")) failed (\(output.status)): \(output.stderr)")
        }
    }
}
