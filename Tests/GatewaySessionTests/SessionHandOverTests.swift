import GatewayModel
import NIOCore
import PolicyEngine
import PolicyLanguage
import Synchronization
import Testing

@testable import GatewaySession

/// The head of a log the test pretends to have: the live side appends, the replay reads up to it.
final class PretendHead: Sendable {
    let position = Atomic<Int64>(0)
}

/// Where a session's frames go in these tests: kept in order, never full.
final class RecordingSink: FrameSink {
    let frames = Mutex<[String]>([])
    func send(_ frame: ByteBuffer) -> Bool {
        frames.withLock { $0.append(String(buffer: frame)) }
        return true
    }
    func waitUntilWritable(timeout: Duration) async -> Bool { true }
}

/// The replay/live hand-over of one ``Session``, driven call by call: each event reaches the client once.
@Suite("Session hand-over")
struct SessionHandOverTests {
    static func session(sink: RecordingSink) throws -> Session {
        let policy = try PolicyCompiler().compile([
            PolicySource(path: "p.yaml", text: "version: 1\ntopics:\n  - pattern: \"deal.stage.*\"\n")
        ])
        let principal = Principal(userID: "u", companyID: CompanyID("123"), roles: ["sales"])
        return Session(
            id: "s",
            subject: PolicyEvaluator(policy: policy).subject(for: principal),
            companyID: CompanyID("123"),
            expiresAtMillis: .max,
            sink: sink,
            startPosition: 0
        )
    }

    @Test("events sent live before a replay are not replayed again; live events during it wait for it; then live goes on")
    func interleaved() throws {
        let sink = RecordingSink()
        let session = try Self.session(sink: sink)
        #expect(session.offerLive(position: 5, frame: ByteBuffer(string: "L5")) == .queued)
        #expect(session.beginReplay())
        #expect(session.queueReplayed(position: 3, frame: ByteBuffer(string: "R3")))
        #expect(!session.queueReplayed(position: 5, frame: ByteBuffer(string: "R5")), "sent live already")
        #expect(session.offerLive(position: 7, frame: ByteBuffer(string: "L7")) == .deferred, "the replay sends it")
        #expect(!session.finishReplay(at: 6, message: "resumed-6"), "a live event past the read arrived: read on")
        #expect(session.queueReplayed(position: 7, frame: ByteBuffer(string: "R7")))
        #expect(session.finishReplay(at: 7, message: "resumed"))
        #expect(session.offerLive(position: 7, frame: ByteBuffer(string: "L7")) == .deferred, "a late fan-out of a replayed event")
        #expect(session.offerLive(position: 8, frame: ByteBuffer(string: "L8")) == .queued)
        #expect(sink.frames.withLock { $0 } == ["L5", "R3", "R7", "resumed", "L8"])
        // A later cursor.update asks for the history again: it gets all of it.
        #expect(session.beginReplay())
        for position in Int64(1)...8 { session.queueReplayed(position: position, frame: ByteBuffer(string: "R\(position)")) }
        #expect(session.finishReplay(at: 8, message: "resumed"))
        #expect(sink.frames.withLock { Array($0.suffix(9)) } == ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "resumed"])
    }

    @Test("a replay racing live fan-out from another thread sends each event once, in log order after the live ones before it", arguments: 0..<20)
    func concurrent(round: Int) async throws {
        let sink = RecordingSink()
        let session = try Self.session(sink: sink)
        let head = PretendHead()
        let total: Int64 = 2000
        async let live: Void = {
            for position in 1...total {
                head.position.store(position, ordering: .sequentiallyConsistent)  // in the log before it is fanned out
                _ = session.offerLive(position: position, frame: ByteBuffer(string: "L\(position)"))
                if position % 4 == 0 { await Task.yield() }
            }
        }()
        async let replay: Void = {
            while head.position.load(ordering: .sequentiallyConsistent) < Int64(round * 10 + 1) { await Task.yield() }
            #expect(session.beginReplay())
            var read: Int64 = 0
            while true {
                let snapshot = head.position.load(ordering: .sequentiallyConsistent)
                if snapshot > read {
                    for position in (read + 1)...snapshot {
                        session.queueReplayed(position: position, frame: ByteBuffer(string: "R\(position)"))
                    }
                }
                read = snapshot
                if session.finishReplay(at: read, message: "resumed") { return }
                await Task.yield()
            }
        }()
        _ = await (live, replay)
        let frames = sink.frames.withLock { $0 }
        let positions = frames.compactMap { Int64($0.dropFirst()) }
        #expect(positions.count == Int(total), "each event once")
        #expect(Set(positions) == Set(1...total))
        // The live events sent before the replay began come first; from the replay's first event on, log order.
        let firstReplayed = frames.firstIndex { $0.hasPrefix("R") } ?? frames.count
        let after = frames[firstReplayed...].compactMap { Int64($0.dropFirst()) }
        #expect(after == after.sorted())
        #expect(frames.filter { $0 == "resumed" }.count == 1)
    }
}
