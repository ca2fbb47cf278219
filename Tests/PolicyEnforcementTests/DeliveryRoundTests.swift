import EventBus
import EventStore
import Foundation
import GatewayModel
import Logging
import PolicyEnforcement
import Synchronization
import Testing

/// Events appended while the fan-out is busy, or while the transport is still writing the previous hand-over,
/// reach it together, as one round, so that the transport can write them to each connection at once; an idle
/// node's events reach it one at a time, with no round.
@Suite("Delivery rounds")
struct DeliveryRoundTests {
    /// What the subscriber saw: each event, and where rounds began and ended, in order.
    final class Trace: Sendable {
        let steps = Mutex<[String]>([])
        let firstArrived = Atomic<Bool>(false)
        let release = Atomic<Bool>(false)

        func record(_ step: String) { steps.withLock { $0.append(step) } }

        /// Holds the first caller until the test sets `release`; later callers pass.
        func holdFirst() async {
            guard !firstArrived.exchange(true, ordering: .relaxed) else { return }
            while !release.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(1)) }
        }

        /// Waits until `count` steps were recorded.
        func waitForSteps(_ count: Int) async throws {
            while steps.withLock({ $0.count }) < count { try await Task.sleep(for: .milliseconds(1)) }
        }

        func waitForFirst() async throws {
            while !firstArrived.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(1)) }
        }
    }

    @Test("events appended while the fan-out was busy are one round, in log order; a lone event is not a round")
    func roundsWhileBusy() async throws {
        let trace = Trace()
        let batches = PolicyGate.BatchBoundaries(began: { trace.record("began") }, ended: { trace.record("ended") })
        try await Self.withPipeline(
            deliver: { event in
                trace.record(String(event.position))
                // The first event holds the fan-out until the test has appended the others behind it.
                await trace.holdFirst()
            },
            batches: batches,
            body: { gate in
                var positions: [String] = []
                positions.append(try await Self.publish(gate))
                try await trace.waitForFirst()
                // Appended one by one (each its own batch) while the fan-out is held.
                for _ in 0..<5 { positions.append(try await Self.publish(gate)) }
                trace.release.store(true, ordering: .relaxed)
                try await trace.waitForSteps(8)
                // Idle again: the next event comes alone, outside any round.
                positions.append(try await Self.publish(gate))
                try await trace.waitForSteps(9)
                #expect(trace.steps.withLock { $0 } == [positions[0], "began"] + positions[1...5] + ["ended", positions[6]])
            }
        )
    }

    @Test("the next hand-over waits until the transport wrote the one before; events appended meanwhile are one round")
    func handOverWaitsForWrites() async throws {
        let trace = Trace()
        let batches = PolicyGate.BatchBoundaries(
            began: { trace.record("began") },
            ended: { trace.record("ended") },
            delivered: {
                trace.record("written")
                // The first hand-over's writes "take" until the test has appended the others behind it.
                await trace.holdFirst()
            }
        )
        try await Self.withPipeline(
            deliver: { event in trace.record(String(event.position)) },
            batches: batches,
            body: { gate in
                var positions: [String] = []
                positions.append(try await Self.publish(gate))
                try await trace.waitForFirst()
                // Each published alone, answered at once (durable), while the first one's writes are under way.
                for _ in 0..<4 { positions.append(try await Self.publish(gate)) }
                #expect(trace.steps.withLock { $0 } == [positions[0], "written"])
                trace.release.store(true, ordering: .relaxed)
                try await trace.waitForSteps(9)
                #expect(trace.steps.withLock { $0 } == [positions[0], "written", "began"] + positions[1...4] + ["ended", "written"])
            }
        )
    }

    /// A gate over a fresh SQLite log and the memory bus, its fan-out `deliver` with `batches`; the pipeline runs
    /// while `body` does.
    static func withPipeline(
        deliver: @escaping @Sendable (StoredEvent) async -> Void,
        batches: PolicyGate.BatchBoundaries,
        body: (PolicyGate) async throws -> Void
    ) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rounds-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let log = try SQLiteEventLog(path: folder + "/events.sqlite")
        defer { try? log.closeNow() }
        let gate = PolicyGate(
            configuration: PolicyGate.Configuration(region: "us-east-1"),
            policy: try GateHarness.compiled(),
            backends: BackendSet(kind: .memory, log: log, bus: MemoryEventBus(), limits: MemoryRateLimitStore(clock: ContinuousClock())),
            logger: Logger(label: "rounds-test")
        )
        try await gate.subscribe(deliver: deliver, batches: batches)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await gate.runPipeline() }
            defer { gate.stop() }
            try await body(gate)
            gate.stop()
            try await group.waitForAll()
        }
    }

    /// Publishes one event of company 123 and returns its position.
    static func publish(_ gate: PolicyGate) async throws -> String {
        guard case .success(let accepted) = await gate.publish(.service, body: body()) else { throw RoundTestFailure() }
        return accepted.cursor
    }

    struct RoundTestFailure: Error {}
}
