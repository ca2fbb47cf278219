import Crypto
import Foundation
import GatewayTesting
import Testing

/// Runs the built `realtime-gateway` as a subprocess, as a user or CI would.
struct Gateway {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }
    }

    /// The binary sits beside the test bundle in the build folder.
    static let binary: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(
        "realtime-gateway"
    )
    static let root = RepositoryPaths.root

    /// Runs the binary to its end (stopped after 120 s: a server that starts by mistake fails its test).
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Run {
        var env = ProcessInfo.processInfo.environment
        env["JWT_SECRET"] = nil
        env.merge(environment) { $1 }
        let output = try await ChildProcess.run(binary.path, arguments, environment: env, directory: root)
        return Run(status: output.status, stdout: output.stdout, stderr: output.stderr)
    }

    /// A fresh temporary folder with the given files.
    static func folder(_ files: [String: String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rg-cli-\(UUID().uuidString)").path
        for (name, text) in files {
            let file = path + "/" + name
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        return path
    }
}

@Suite("Command line")
struct CommandLineTests {
    @Test("validate accepts the default policy (exit 0)")
    func validateDefault() async throws {
        let run = try await Gateway.run(["policy", "validate", "policies"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.hasPrefix("valid: 1 file, 5 topic rules, 3 listed companies, 2 plans, version "))
    }

    @Test("validate prints every problem as FILE:LINE:COLUMN, sorted, and exits 1")
    func validateInvalid() async throws {
        let dir = try Gateway.folder([
            "b.yaml": "plans:\n  standard:\n    rate_limits:\n      - { scope: user, action: publsh, limit: -1, per: second }\n",
            "a.yaml": "version: 1\ntenats: {}\ntopics:\n  - pattern: \"deal..x\"\n",
        ])
        let run = try await Gateway.run(["policy", "validate", dir])
        #expect(run.status == 1)
        #expect(
            run.lines == [
                "\(dir)/a.yaml:2:1: error: unknown key 'tenats' in the policy file (did you mean 'tenants'?)",
                "\(dir)/a.yaml:4:14: error: pattern 'deal..x' has an empty segment at position 2 (write 2-8 dot-separated segments of a-z, 0-9, _ or a whole '*', e.g. 'deal.stage.*')",
                "\(dir)/b.yaml:4:32: error: unknown action 'publsh' (did you mean 'publish'?)",
                "\(dir)/b.yaml:4:47: error: 'limit' is -1; it must be a positive whole number, or the limit can never pass (use 1 or more)",
                "invalid: 4 errors, 0 warnings",
            ]
        )
    }

    @Test("validate --format json is machine-readable")
    func validateJSON() async throws {
        let dir = try Gateway.folder(["p.yaml": "version: 2\n"])
        let run = try await Gateway.run(["policy", "validate", "--format", "json", dir + "/p.yaml"])
        #expect(run.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
        // Every diagnostic, exactly: an extra or a missing one fails.
        let diagnostics = try #require(object["diagnostics"] as? [[String: Any]])
        let described = diagnostics.map { item in
            ["file", "line", "column", "severity", "code", "message", "hint"].map { "\(item[$0].map { "\($0)" } ?? "-")" }.joined(separator: "|")
        }
        #expect(
            described == [
                "\(dir)/p.yaml|1|1|warning|empty-whitelist|the policy whitelists no topics, so every subscribe and publish is refused|add a 'topics' list",
                "\(dir)/p.yaml|1|10|error|unsupported-version|unsupported policy version 2|this gateway reads version 1",
            ]
        )
        #expect(object["errors"] as? Int == 1 && object["warnings"] as? Int == 1)
    }

    @Test(
        "usage and configuration errors exit 2 with a message",
        arguments: [
            (["policy", "validate"], "name at least one policy file or folder"),
            (["policy", "validate", "no/such/place"], "no such file or folder: 'no/such/place'"),
            (["policy", "frobnicate"], "Unexpected argument 'frobnicate'"),
            (["token", "--secret", "too-short"], "the secret is 9 bytes; HS256 needs at least 32"),
            (["token"], "no secret: pass --secret or set JWT_SECRET"),
            (["token", "--secret", String(repeating: "k", count: 32), "--company", ""], "--company must be 1-128 printable ASCII"),
            (["policy", "test", "policies", "--cases", "no/such/cases"], "no such file or folder: 'no/such/cases'"),
            (["policy", "explain", "--principal", "{", "--action", "connect"], "--principal must be a JSON object"),
            (["policy", "explain", "--principal", "{\"user_id\":1}", "--action", "fly"], "unknown action 'fly'"),
        ]
    )
    func usageErrors(arguments: [String], message: String) async throws {
        let run = try await Gateway.run(arguments)
        #expect(run.status == 2)
        #expect(run.stderr.contains(message), "\(run.stderr)")
        #expect(!run.stderr.contains("Fatal error"))
    }

    @Test("a binary or non-UTF-8 policy file is a clear error, not a crash")
    func binaryFile() async throws {
        let dir = try Gateway.folder([:])
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/binary.yaml"
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4096).map { _ in UInt8.random(in: 0x80...0xFF, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let run = try await Gateway.run(["policy", "validate", file])
        #expect(run.status == 2)
        #expect(run.stderr.contains("'\(file)' is not UTF-8 text"))
    }

    @Test("policy test runs the repository's cases and ends with the plain closing line")
    func testCommand() async throws {
        let run = try await Gateway.run(["policy", "test", "policies"])
        #expect(run.status == 0, "\(run.stdout)")
        let last = try #require(run.lines.last)
        #expect(last.hasSuffix(" passed, 0 failed"))
        #expect((Int(last.split(separator: " ")[0]) ?? 0) >= 20)
    }

    @Test("policy test prints a failing case with expected, actual and trace, and exits 1")
    func testCommandFailure() async throws {
        let dir = try Gateway.folder([
            "policy.yaml": "version: 1\ntopics:\n  - pattern: \"deal.*\"\n    subscribe: { roles: [sales] }\n",
            "tests/cases.yaml": """
            cases:
              - name: passes
                principal: { user_id: 1, company_id: "1", roles: [sales] }
                action: subscribe
                topic: "deal.stage.*"
                expect: allow
              - name: must fail
                principal: { user_id: 1, company_id: "1", roles: [support] }
                action: subscribe
                topic: "deal.stage.*"
                expect: allow
            """,
        ])
        let run = try await Gateway.run(["policy", "test", dir])
        #expect(run.status == 1)
        #expect(run.stdout.contains("FAIL \(dir)/tests/cases.yaml:7:5: must fail"))
        #expect(run.stdout.contains("  expected: allow\n  actual:   deny (role_not_allowed)"))
        #expect(run.stdout.contains("FAIL roles: subscribe grant allows roles [sales]; principal has [support] [\(dir)/policy.yaml:4:16]"))
        #expect(run.lines.last == "1 passed, 1 failed")
    }

    @Test("policy test with no cases fails instead of passing")
    func testCommandNoCases() async throws {
        let dir = try Gateway.folder(["policy.yaml": "version: 1\ntopics:\n  - pattern: \"deal.*\"\n", "tests/empty.yaml": "cases: []\n"])
        let run = try await Gateway.run(["policy", "test", dir])
        #expect(run.status == 1)
        #expect(run.lines.last == "0 passed, 1 failed")
        let missing = try await Gateway.run(["policy", "test", try Gateway.folder(["policy.yaml": "version: 1\n"])])
        #expect(missing.status == 1)
        #expect(missing.lines.last == "0 passed, 1 failed")
    }

    @Test("explain prints the decision and its trace; exit 0 allowed, 1 denied")
    func explain() async throws {
        let allowed = try await Gateway.run([
            "policy", "explain", "--principal", #"{"user_id":1,"company_id":"123","roles":["sales"]}"#, "--action", "subscribe", "--topic",
            "deal.stage.*",
        ])
        #expect(allowed.status == 0)
        #expect(allowed.lines.first == "decision: allow (allowed)")
        #expect(allowed.stdout.contains("pass whitelist: 'deal.stage.*' is covered by 'deal.stage.*' [policies/default.yaml:13:14]"))
        #expect(allowed.stdout.contains("if the store is unreachable: deny (on_store_error)"), "limits fail closed by default")
        let storeErrorPolicy = """
            version: 1
            topics:
              - pattern: "deal.stage.*"
            tenants:
              default: { plan: open }
            plans:
              open:
                rate_limits:
                  - { scope: user, action: subscribe, limit: 5, per: second, on_store_error: allow }
            """
        let open = try await Gateway.run([
            "policy", "explain", "--policy", try Gateway.folder(["policy.yaml": storeErrorPolicy]), "--principal",
            #"{"user_id":1,"company_id":"123","roles":["sales"]}"#, "--action", "subscribe", "--topic", "deal.stage.*",
        ])
        #expect(
            open.stdout.contains("user subscribe 5 per second from plan 'open'; if the store is unreachable: allow (on_store_error)"),
            "\(open.stdout)"
        )
        let denied = try await Gateway.run([
            "policy", "explain", "--principal", #"{"user_id":1,"company_id":"456","roles":["sales"]}"#, "--action", "connect", "--node-region",
            "us-east-1",
        ])
        #expect(denied.status == 1)
        #expect(denied.lines.first == "decision: deny (region_not_served)")
        #expect(denied.stdout.contains("its home region is eu-west-1"))
        let shadow = try await Gateway.run([
            "policy", "explain", "--policy", "Tests/PolicyLanguageTests/Fixtures/good/shadow_rules.yaml", "--principal",
            #"{"user_id":1,"company_id":"123","roles":["sales"]}"#, "--action", "subscribe", "--topic", "deal.stage.*",
        ])
        #expect(shadow.status == 0)
        #expect(shadow.lines.first == "decision: allow (allowed)")
        #expect(
            shadow.stdout.contains("shadow:   would deny (role_not_allowed) at Tests/PolicyLanguageTests/Fixtures/good/shadow_rules.yaml:7:16"),
            "\(shadow.stdout)"
        )
    }

    @Test("token mints an HS256 JWT with the gateway's claims")
    func token() async throws {
        let secret = "0123456789abcdef0123456789abcdef-test"
        let run = try await Gateway.run(
            ["token", "--user", "42", "--company", "123", "--roles", "sales, manager", "--ttl", "600"],
            environment: ["JWT_SECRET": secret]
        )
        #expect(run.status == 0, "\(run.stderr)")
        let parts = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        func decode(_ part: String) throws -> Data {
            var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while base64.count % 4 != 0 { base64 += "=" }
            return try #require(Data(base64Encoded: base64))
        }
        let header = try #require(try JSONSerialization.jsonObject(with: decode(parts[0])) as? [String: Any])
        #expect(header["alg"] as? String == "HS256")
        let claims = try #require(try JSONSerialization.jsonObject(with: decode(parts[1])) as? [String: Any])
        #expect(claims["user_id"] as? Int == 42 && claims["sub"] as? String == "42" && claims["company_id"] as? String == "123")
        let padded = try await Gateway.run(["token", "--user", "0042"], environment: ["JWT_SECRET": secret])
        let paddedClaims = try #require(
            try JSONSerialization.jsonObject(
                with: decode(padded.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").map(String.init)[1])
            ) as? [String: Any]
        )
        #expect(paddedClaims["user_id"] as? String == "0042", "a zero-padded id stays a string, so it names the same user as sub")
        #expect(claims["roles"] as? [String] == ["sales", "manager"])
        let exp = try #require(claims["exp"] as? Int)
        let iat = try #require(claims["iat"] as? Int)
        #expect(exp - iat == 600)
        let mac = HMAC<SHA256>.authenticationCode(for: Data((parts[0] + "." + parts[1]).utf8), using: SymmetricKey(data: Data(secret.utf8)))
        #expect(Data(mac) == (try decode(parts[2])))
    }
}

@Suite("serve configuration")
struct ServeConfigurationTests {
    @Test("serve refuses unusable configuration with exit 2 and a message naming the setting")
    func refusals() async throws {
        let cases: [([String: String], String)] = [
            ([:], "no JWT key configured"),
            (["JWT_SECRET": "short"], "at least 32"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "EVENT_BUS_BACKEND": "kafka"], "kafka is not available in this build"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "EVENT_BUS_BACKEND": "carrier-pigeon"], "EVENT_BUS_BACKEND"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "PORT": "http"], "PORT"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "POLICY_PATH": "/nonexistent/policies"], "POLICY_PATH"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "JWT_PUBLIC_KEY_FILE": "/nonexistent.pem"], "JWT_SECRET, JWT_PUBLIC_KEY_FILE"),
            (["JWT_PUBLIC_KEY_FILE": "/nonexistent.pem"], "JWT_PUBLIC_KEY_FILE"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "EVENT_LOG_DURABILITY": "maybe"], "EVENT_LOG_DURABILITY"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "OUTBOX_LIMIT_BYTES": "12"], "OUTBOX_LIMIT_BYTES"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "HTTP_HEADER_TIMEOUT": "0"], "HTTP_HEADER_TIMEOUT"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "HTTP_BODY_TIMEOUT": "soon"], "HTTP_BODY_TIMEOUT"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "HTTP_KEEPALIVE_TIMEOUT": "-1"], "HTTP_KEEPALIVE_TIMEOUT"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "HTTP_MAX_HEADER_BYTES": "100"], "HTTP_MAX_HEADER_BYTES"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "HTTP_MAX_HEADER_COUNT": "1"], "HTTP_MAX_HEADER_COUNT"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "MAX_OPEN_SOCKETS": "0"], "MAX_OPEN_SOCKETS"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "SOCKET_FD_RESERVE": "-5"], "SOCKET_FD_RESERVE"),
            (
                [
                    "JWT_SECRET": String(repeating: "s", count: 40), "EVENT_BUS_BACKEND": "redis", "REDIS_URL": "rediss://h:6380",
                    "REDIS_TLS_CA_FILE": "/nonexistent/ca.pem",
                ],
                "REDIS_TLS_CA_FILE /nonexistent/ca.pem"
            ),
            (
                [
                    "JWT_SECRET": String(repeating: "s", count: 40), "EVENT_BUS_BACKEND": "redis", "REDIS_URL": "rediss://h:6380",
                    "REDIS_TLS_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
                ],
                "REDIS_TLS_CERT_FILE is set without REDIS_TLS_KEY_FILE"
            ),
            (
                [
                    "JWT_SECRET": String(repeating: "s", count: 40), "EVENT_BUS_BACKEND": "redis", "REDIS_URL": "redis://h:6380",
                    "REDIS_TLS_CA_FILE": "/etc/ssl/certs/ca-certificates.crt",
                ],
                "REDIS_TLS_CA_FILE is set but REDIS_URL is redis:// (no TLS): use rediss://"
            ),
            (["JWT_SECRET": String(repeating: "s", count: 40), "EVENT_BUS_BACKEND": "redis", "REDIS_URL": "redis://h:http"], "REDIS_URL"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "EVENT_BUS_BACKEND": "nats"], "nats is not available in this build"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "REDIS_CONNECTIONS": "0"], "REDIS_CONNECTIONS"),
            (["JWT_SECRET": String(repeating: "s", count: 40), "REDIS_WAIT_REPLICAS": "many"], "REDIS_WAIT_REPLICAS"),
            // Nothing listens there: after BACKEND_START_TIMEOUT the node exits 2 naming Redis, without the password.
            (
                [
                    "JWT_SECRET": String(repeating: "s", count: 40), "EVENT_BUS_BACKEND": "redis", "REDIS_URL": "redis://:hunter2@127.0.0.1:1",
                    "BACKEND_START_TIMEOUT": "1",
                ],
                "REDIS_URL (redis://:***@127.0.0.1:1/0)"
            ),
        ]
        for (environment, message) in cases {
            var env = environment
            env["DATA_DIR"] = NSTemporaryDirectory() + "serve-config-\(UUID().uuidString)"
            let run = try await Gateway.run(["serve"], environment: env)
            #expect(run.status == 2, "\(environment)")
            #expect(run.stderr.contains(message), "\(environment): \(run.stderr)")
            #expect(!run.stderr.contains("Fatal error"), "\(environment)")
            #expect(!run.stderr.contains("hunter2"), "a password never reaches the log")
        }
    }

    @Test("an invalid policy stops serve with exit 2 and the located diagnostics")
    func invalidPolicy() async throws {
        let folder = NSTemporaryDirectory() + "serve-policy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "version: 1\ntopicz: []\n".write(toFile: folder + "/p.yaml", atomically: true, encoding: .utf8)
        let run = try await Gateway.run(
            ["serve", "--port", "0", "--policy", folder],
            environment: ["JWT_SECRET": String(repeating: "s", count: 40), "DATA_DIR": folder + "/data"]
        )
        #expect(run.status == 2)
        // The one diagnostic, whole; nothing else on stderr reads as a located error.
        let located = run.stderr.split(separator: "\n").filter { $0.contains(": error:") || $0.contains(": warning:") }
        #expect(located == ["\(folder)/p.yaml:2:1: error: unknown key 'topicz' in the policy file (did you mean 'topics'?)"], "\(run.stderr)")
    }
}
