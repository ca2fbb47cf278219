import EventBus
import EventStore
import Foundation
import GatewayModel
import GatewayTesting
import RedisBackend
import Testing

/// One storage place for a log under test: opened, reopened and wiped by the conformance suite.
protocol LogFixture: Sendable {
    /// Opens (creating when needed) the log in this place; the same place every time until ``wipe()``.
    /// `dedupWindowSeconds` is the idempotency window; `now` the log's clock where the backend takes one.
    func open(dedupWindowSeconds: Int, now: ManualMillis) async throws -> any EventLog
    /// Destroys everything stored, as a new `DATA_DIR` or a flushed Redis would (the log must be closed).
    func wipe() async throws
    /// Releases the place after the test.
    func remove()
}

/// A named way to make a log fixture: the conformance suite runs once per factory.
struct LogFactory: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () throws -> any LogFixture
    var testDescription: String { name }
}

/// A named way to make a bus; a new backend joins the suite by one more of these.
struct BusFactory: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () async throws -> any EventBusBackend
    var testDescription: String { name }
}

/// A store under test and how to move its time (by hand in memory; by waiting for a shared store's clock).
struct LimitsFixture: Sendable {
    let store: any RateLimitStore
    let advance: @Sendable (Duration) async throws -> Void
}

/// A named way to make a rate-limit store.
struct LimitsFactory: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () async throws -> LimitsFixture
    var testDescription: String { name }
}

/// The backends every conformance suite runs against. A new backend joins by adding one factory here.
enum Backends {
    static let logs: [LogFactory] = [
        LogFactory(name: "SQLiteEventLog") { try SQLiteLogFixture() },
        LogFactory(name: "RedisEventLog") { RedisLogFixture(tls: false) },
        LogFactory(name: "RedisEventLog over TLS") { RedisLogFixture(tls: true) },
    ]
    static let buses: [BusFactory] = [
        BusFactory(name: "MemoryEventBus") { MemoryEventBus() },
        // Pub/sub channels are global to a server: each bus gets a server of its own, so tests running at
        // once do not hear each other.
        BusFactory(name: "RedisEventBus") { try RedisEventBus(url: RedisURL(try await RedisServer(durable: false).url), history: nil) },
        BusFactory(name: "RedisEventBus over TLS") {
            let redis = try await RedisServer(durable: false, tls: .init(try await RedisServer.shared(tls: true).tls!.certificates))
            return RedisEventBus(url: try redis.clientURL(), history: nil)
        },
    ]
    static let limits: [LimitsFactory] = [
        LimitsFactory(name: "MemoryRateLimitStore") {
            let clock = ManualClock()
            return LimitsFixture(store: MemoryRateLimitStore(clock: clock)) { clock.advance(by: $0) }
        },
        LimitsFactory(name: "RedisRateLimitStore") { try await redisLimits(tls: false) },
        LimitsFactory(name: "RedisRateLimitStore over TLS") { try await redisLimits(tls: true) },
    ]

    /// A Redis store in a key namespace of its own on the shared (TLS) test server, on a clock the test moves.
    private static func redisLimits(tls: Bool) async throws -> LimitsFixture {
        let clock = ManualMicros(1_700_000_000_000_000)
        let url = try await RedisServer.shared(tls: tls).clientURL()
        let store = RedisRateLimitStore(url: url, namespace: "rg:{test-\(UUID().uuidString)}:", time: .manual { clock.now })
        return LimitsFixture(store: store) { duration in
            let (seconds, attoseconds) = duration.components
            clock.advance(by: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        }
    }
}

extension RedisServer {
    /// The server's URL as the backend takes it, with the test authority and client certificate for TLS.
    func clientURL() throws -> RedisURL {
        var url = try RedisURL(self.url)
        if let tls {
            url.tls = RedisTLS(
                caFile: tls.certificates.caFile,
                certificateFile: tls.certificates.clientCertificateFile,
                keyFile: tls.certificates.clientKeyFile
            )
        }
        return url
    }
}

/// A Redis log in a key namespace of its own (a channel prefix no other test uses) on the shared test server.
struct RedisLogFixture: LogFixture {
    let channelPrefix = "test-\(UUID().uuidString)"
    /// On the shared TLS-only server instead of the plain one.
    let tls: Bool

    func open(dedupWindowSeconds: Int, now: ManualMillis) async throws -> any EventLog {
        let url = try await RedisServer.shared(tls: tls).clientURL()
        return RedisEventLog(url: url, channelPrefix: channelPrefix, connections: 2, dedupWindowSeconds: dedupWindowSeconds, now: { now.now })
    }

    /// Deletes every key of the namespace, as a `FLUSHALL` would for this log.
    func wipe() async throws {
        let pattern = RedisEventLog.namespace(channelPrefix: channelPrefix).replacingOccurrences(of: "{", with: "\\{") + "*"
        try await RedisServer.shared(tls: tls).command(
            "EVAL",
            "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1",
            "0",
            pattern
        )
    }

    func remove() {
        Task { try? await wipe() }
    }
}

/// SQLite in a directory of its own.
struct SQLiteLogFixture: LogFixture {
    let directory: String
    var path: String { directory + "/events.sqlite" }

    init() throws {
        directory = NSTemporaryDirectory() + "event-store-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func open(dedupWindowSeconds: Int, now: ManualMillis) async throws -> any EventLog {
        try SQLiteEventLog(path: path, dedupWindowSeconds: dedupWindowSeconds, now: { now.now })
    }

    func wipe() async throws {
        try FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Events to append, with distinct UUIDv7-shaped ids.
enum Events {
    /// A new event of `company`; `n` makes its id and idempotency key unique within a test.
    static func new(
        _ n: Int,
        company: CompanyID = "123",
        type: String = "deal.stage.updated",
        subject: String? = nil,
        retentionDays: Int = 365,
        createdAtMillis: Int64 = 1_700_000_000_000,
        key: String? = nil
    ) -> NewEvent {
        let id = "01900000-0000-7000-8000-\(String(format: "%012d", n))"
        let event = StoredEvent(
            position: 0,
            eventID: id,
            eventType: type,
            companyID: company,
            region: "us-east-1",
            dataSubjectID: subject,
            retentionDays: retentionDays,
            createdAtMillis: createdAtMillis,
            envelope: #"{"event_id":"\#(id)","data":{"n":\#(n)}}"#
        )
        return NewEvent(event: event, idempotencyKey: key ?? id)
    }
}

extension AppendOutcome {
    /// The appended event, when this outcome is one.
    var appended: StoredEvent? {
        if case .appended(let event) = self { return event }
        return nil
    }
}

/// Waits until `condition` holds, checking every few milliseconds; fails the test after `timeout`.
func waitUntil(
    timeout: Duration = .seconds(30),
    _ what: String,
    sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting: \(what)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
