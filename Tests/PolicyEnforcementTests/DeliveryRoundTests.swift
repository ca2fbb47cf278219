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
    }

    @Test("events appended while the fan-out was busy are one round, in log order; a lone event is not a round")
    func roundsWhileBusy() async throws {
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
        let trace = Trace()
        let batches = PolicyGate.BatchBoundaries(
            began: { trace.steps.withLock { $0.append("began") } },
            ended: { trace.steps.withLock { $0.append("ended") } }
        )
        try await gate.subscribe(
            deliver: { event in
                trace.steps.withLock { $0.append(String(event.position)) }
                // The first event holds the fan-out until the test has appended the others behind it.
                if !trace.firstArrived.exchange(true, ordering: .relaxed) {
                    while !trace.release.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(1)) }
                }
            },
            batches: batches
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await gate.runPipeline() }
            defer { gate.stop() }
            var positions: [String] = []
            positions.append(try await Self.publish(gate))
            while !trace.firstArrived.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(1)) }
            // Appended one by one (each its own batch) while the fan-out is held.
            for _ in 0..<5 { positions.append(try await Self.publish(gate)) }
            trace.release.store(true, ordering: .relaxed)
            while trace.steps.withLock({ $0.count }) < 8 { try await Task.sleep(for: .milliseconds(1)) }
            // Idle again: the next event comes alone, outside any round.
            positions.append(try await Self.publish(gate))
            while trace.steps.withLock({ $0.count }) < 9 { try await Task.sleep(for: .milliseconds(1)) }
            #expect(trace.steps.withLock { $0 } == [positions[0], "began"] + positions[1...5] + ["ended", positions[6]])
            gate.stop()
            try await group.waitForAll()
        }
    }

    @Test("the next hand-over waits until the transport wrote the one before; events appended meanwhile are one round")
    func handOverWaitsForWrites() async throws {
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
        let trace = Trace()
        let batches = PolicyGate.BatchBoundaries(
            began: { trace.steps.withLock { $0.append("began") } },
            ended: { trace.steps.withLock { $0.append("ended") } },
            delivered: {
                trace.steps.withLock { $0.append("written") }
                // The first hand-over's writes "take" until the test has appended the others behind it.
                if !trace.firstArrived.exchange(true, ordering: .relaxed) {
                    while !trace.release.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(1)) }
                }
            }
        )
        try await gate.subscribe(deliver: { event in trace.steps.withLock { $0.append(String(event.position)) } }, batches: batches)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await gate.runPipeline() }
            defer { gate.stop() }
            var positions: [String] = []
            positions.append(try await Self.publish(gate))
            while !trace.firstArrived.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(1)) }
            // Each published alone, answered at once (durable), while the first one's writes are under way.
            for _ in 0..<4 { positions.append(try await Self.publish(gate)) }
            #expect(trace.steps.withLock { $0 } == [positions[0], "written"])
            trace.release.store(true, ordering: .relaxed)
            while trace.steps.withLock({ $0.count }) < 9 { try await Task.sleep(for: .milliseconds(1)) }
            #expect(trace.steps.withLock { $0 } == [positions[0], "written", "began"] + positions[1...4] + ["ended", "written"])
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
