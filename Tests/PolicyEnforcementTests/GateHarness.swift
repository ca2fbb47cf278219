import EventBus
import EventStore
import Foundation
import GatewayModel
import InMemoryLogging
import Logging
import PolicyEnforcement
import PolicyLanguage
import Synchronization

/// The gate's own policy: small, and independent of the shipped `policies/` an operator edits.
let gatePolicy = """
    version: 1
    defaults:
      region: us-east-1
      gdpr: { consent: true, purpose: service_delivery, retention_days: 30 }
    topics:
      - pattern: "deal.stage.*"
        subscribe: { roles: [sales, manager] }
        publish: { roles: [service] }
        gdpr: { purpose: sales_pipeline, data_subject: "data.contact_id" }
        pii: ["data.contact_email"]
      - pattern: "deal.stage.*"
        subscribe: { roles: [manager] }
        shadow: true
      - pattern: "activity.*"
        subscribe: { roles: [sales] }
        publish: { roles: [service] }
    tenants:
      default: { plan: roomy, home_region: us-east-1, allowed_regions: [us-east-1] }
      companies:
        "123": {}
        "456": { home_region: eu-west-1, allowed_regions: [eu-west-1] }
        "789": { enabled: false }
        "555": { plan: tight }
    plans:
      roomy:
        rate_limits:
          - { scope: user, action: subscribe, limit: 1000, per: second }
      tight:
        rate_limits:
          - { scope: user, action: connect, limit: 1, per: minute }
          - { scope: user, action: subscribe, limit: 1, per: minute }
          - { scope: company, action: publish, limit: 1, per: minute }
          - { scope: user, action: poll, limit: 1, per: minute }
          - { scope: user, action: deliver, limit: 1, per: minute }
    """

/// A rate-limit store in this process that answers only by waiting, as a shared (Redis) store does: the
/// real in-memory store behind a `nil` from ``acquireWithoutWaiting(_:)``.
final class WaitingRateLimitStore: RateLimitStore {
    let store = MemoryRateLimitStore(clock: ContinuousClock())
    let waited = Atomic<Int>(0)

    func acquire(_ checks: [LimitCheck]) async throws -> [RateLimitOutcome] {
        waited.add(1, ordering: .relaxed)
        await Task.yield()
        return store.acquire(checks)
    }

    func acquireWithoutWaiting(_ checks: [LimitCheck]) -> [RateLimitOutcome]? { nil }

    func run() async throws {}

    func health() async -> ComponentHealth { .healthy }
}

/// A gate over real embedded backends (SQLite in a temporary folder, the memory bus) with a log that keeps
/// its lines, running while `body` does.
final class GateHarness: Sendable {
    let gate: PolicyGate
    let logs: InMemoryLogHandler
    let delivered = Mutex<[StoredEvent]>([])

    init(gate: PolicyGate, logs: InMemoryLogHandler) {
        self.gate = gate
        self.logs = logs
    }

    static func compiled(_ text: String = gatePolicy) throws -> CompiledPolicy {
        try PolicyCompiler().compile([PolicySource(path: "gate-policy.yaml", text: text)])
    }

    static func with<T: Sendable>(
        limits: any RateLimitStore = MemoryRateLimitStore(clock: ContinuousClock()),
        nodeRegion: Region? = nil,
        auditAllowed: Bool = false,
        _ body: @Sendable (GateHarness) async throws -> T
    ) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let log = try SQLiteEventLog(path: folder + "/events.sqlite")
        defer { try? log.closeNow() }
        let logs = InMemoryLogHandler()
        var configuration = PolicyGate.Configuration(region: "us-east-1", nodeRegion: nodeRegion)
        configuration.auditAllowedDecisions = auditAllowed
        let gate = PolicyGate(
            configuration: configuration,
            policy: try compiled(),
            backends: BackendSet(kind: .memory, log: log, bus: MemoryEventBus(), limits: limits),
            logger: Logger(label: "gate-test") { _ in logs }
        )
        let harness = GateHarness(gate: gate, logs: logs)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await gate.run { event in harness.delivered.withLock { $0.append(event) } }
                return nil
            }
            defer { gate.stop() }
            let result = try await body(harness)
            gate.stop()
            while let next = try await group.next() { if next != nil { break } }
            return result
        }
    }

    /// The `policy.decision` lines logged so far.
    var decisionLines: [InMemoryLogHandler.Entry] { logs.entries.filter { $0.metadata[LogKey.event] == "policy.decision" } }
}

extension Principal {
    static func sales(_ company: String = "123", user: String = "u-1") -> Principal {
        Principal(userID: user, companyID: CompanyID(company), roles: ["sales"])
    }
    static let service = Principal(userID: "svc", companyID: nil, roles: ["service"])
}

/// A publish body of `deal.stage.updated` for company 123 with `extra` data fields.
func body(_ extra: [String: JSONValue]) -> JSONValue { body("deal.stage.updated", extra: extra) }

/// A publish body of `type` for `company`, with `extra` data fields.
func body(_ type: String = "deal.stage.updated", company: String = "123", extra: [String: JSONValue] = [:]) -> JSONValue {
    var data: [String: JSONValue] = ["company_id": .string(company)]
    data.merge(extra) { $1 }
    return .object(["event_type": .string(type), "data": .object(data)])
}
