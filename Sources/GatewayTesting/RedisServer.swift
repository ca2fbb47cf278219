import Foundation
import Synchronization

/// A real `redis-server` on a free loopback port, started by the tests themselves (Debian's `redis-server`;
/// `scripts/test.sh` and `.ci/run` install it). A watchdog shell kills it with `kill -9` once the test
/// process is gone, so no server outlives its tests.
///
/// ```swift
/// let redis = try await RedisServer.shared()
/// let url = redis.url          // redis://127.0.0.1:PORT
/// ```
public final class RedisServer: Sendable {
    /// The port it listens on.
    public let port: Int
    /// Its working directory (the append-only file lives here).
    public let directory: String
    /// Whether every write is fsynced to the append-only file before Redis answers.
    public let durable: Bool
    /// The running server and its exit (replaced by each ``start()``).
    private let running = Mutex<(pid: Int32, exit: ProcessExit?)>((0, nil))

    /// `redis://127.0.0.1:PORT`, or `rediss://` for a TLS-only server.
    public var url: String { "\(tls == nil ? "redis" : "rediss")://127.0.0.1:\(port)" }

    /// What a TLS-only server presents; it asks clients for a certificate signed by the test authority.
    public struct TLS: Sendable {
        public var certificates: TestCertificates
        public var certificateFile: String
        public var keyFile: String

        /// Presents `certificateFile` (the trusted server certificate when nil).
        public init(_ certificates: TestCertificates, certificateFile: String? = nil, keyFile: String? = nil) {
            self.certificates = certificates
            self.certificateFile = certificateFile ?? certificates.serverCertificateFile
            self.keyFile = keyFile ?? certificates.serverKeyFile
        }
    }

    /// TLS, when the server speaks only TLS.
    public let tls: TLS?

    /// The `REDIS_TLS_*` settings a gateway node needs for this server (empty without TLS).
    public var tlsEnvironment: [String: String] {
        guard let tls else { return [:] }
        return [
            "REDIS_TLS_CA_FILE": tls.certificates.caFile, "REDIS_TLS_CERT_FILE": tls.certificates.clientCertificateFile,
            "REDIS_TLS_KEY_FILE": tls.certificates.clientKeyFile,
        ]
    }

    private static let sharedServers = Mutex<[Bool: Task<RedisServer, any Error>]>([:])

    /// One server for the whole test process (tests keep apart by key namespace and channel prefix); with
    /// `tls`, one TLS-only server with certificates of its own. Started once, however many tests ask at once.
    public static func shared(tls: Bool = false) async throws -> RedisServer {
        let starting = sharedServers.withLock { servers in
            if let task = servers[tls] { return task }
            let task = Task { try await RedisServer(durable: false, tls: tls ? TLS(try await TestCertificates.make()) : nil) }
            servers[tls] = task
            return task
        }
        return try await starting.value
    }

    /// The primary this server replicates, when it is a replica.
    private let primaryPort: Int?

    /// Starts a server of its own.
    /// - Parameters:
    ///   - durable: `appendonly yes` with `appendfsync always`: an acknowledged write survives `kill -9`.
    ///   - replicaOf: a primary to replicate (`--replicaof`).
    ///   - tls: serve TLS only (`--tls-port`, no plain port), with client certificates required.
    public init(durable: Bool, replicaOf primary: RedisServer? = nil, tls: TLS? = nil) async throws {
        primaryPort = primary?.port
        self.tls = tls
        guard let executable = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: FileManager.default.isExecutableFile(atPath:))
        else {
            throw RedisServerError("redis-server is not installed: run scripts/test.sh, which installs it (apt-get install -y redis-server)")
        }
        self.executable = executable
        directory = NSTemporaryDirectory() + "redis-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.durable = durable
        port = try Self.freePort()
        try await start()
    }

    private let executable: String

    /// Starts (or, after ``kill()``, restarts) the server on the same port and directory.
    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        let ports =
            if let tls {
                [
                    "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", tls.certificateFile, "--tls-key-file", tls.keyFile,
                    "--tls-ca-cert-file", tls.certificates.caFile,
                ]
            } else {
                ["--port", "\(port)"]
            }
        var arguments =
            ports + [
                "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--daemonize", "no",
                "--logfile", directory + "/redis.log", "--maxmemory-policy", "noeviction",
            ]
        arguments += durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        if let primaryPort { arguments += ["--replicaof", "127.0.0.1", "\(primaryPort)"] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exit = try ProcessExit.launch(process)
        running.withLock { $0 = (process.processIdentifier, exit) }
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/bash")
        let me = ProcessInfo.processInfo.processIdentifier
        watchdog.arguments = [
            "-c",
            "while kill -0 \(me) 2>/dev/null && kill -0 \(process.processIdentifier) 2>/dev/null; do sleep 1; done; kill -9 \(process.processIdentifier) 2>/dev/null",
        ]
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? await command("PING")) != "PONG" {
            guard ContinuousClock.now < deadline, !exit.hasExited else {
                let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
                throw RedisServerError("redis-server did not start on port \(port): \(log.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `kill -9` of the server, and waits until Foundation has reaped it (its port is then free again).
    public func kill() async {
        let (pid, exit) = running.withLock { $0 }
        Foundation.kill(pid, SIGKILL)
        await exit?.wait()
    }

    /// Runs one command through `redis-cli` (an independent client) and returns its raw output, trimmed.
    @discardableResult
    public func command(_ words: String...) async throws -> String {
        var client = ["-h", "127.0.0.1", "-p", "\(port)"]
        if let tls {
            // --insecure: this helper also talks to servers that present a certificate nobody trusts.
            client += ["--tls", "--insecure", "--cert", tls.certificates.clientCertificateFile, "--key", tls.certificates.clientKeyFile]
        }
        let output = try await ChildProcess.run("/usr/bin/redis-cli", client + words, timeout: .seconds(30))
        guard output.status == 0 else {
            throw RedisServerError("redis-cli \(words.joined(separator: " ")) failed (\(output.status)): \(output.stderr)")
        }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A TCP port nothing listens on right now (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RedisServerError("socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw RedisServerError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why a test Redis could not be started or asked.
public struct RedisServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
