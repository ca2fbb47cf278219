import GRDB
import Synchronization

/// Checkpoints an SQLite WAL beside its writer, so that no commit ever runs a checkpoint (SQLite's
/// automatic one held one append in a hundred for about 5 ms).
///
/// Every `interval`, a connection of its own runs a passive checkpoint, once `afterCommits` appends were
/// committed since the last one or `atLeastEvery` has passed with any: it never waits for the writer or for
/// readers. Not after every few commits: the first commit after a complete checkpoint starts the WAL over,
/// and SQLite syncs the WAL's new header then (even at `synchronous = NORMAL`), which cost a paced
/// publisher's 202 about 0.3 ms whenever a checkpoint had run since the previous publish.
///
/// SQLite starts the WAL over when a commit begins while every frame is checkpointed; under a steady stream
/// of commits that may never be so (commits land while the checkpoint copies), and the WAL would grow with
/// every write. So once the WAL holds `restartFrames` frames, one more passive
/// checkpoint runs on the writer's own queue, between two commits, where what is left to copy is only what
/// came since the pass before; the next commit then starts the WAL over.
final class WALCheckpointer: Sendable {
    private let connection: DatabaseQueue
    private let task: Task<Void, Never>
    private let closed = Atomic<Bool>(false)
    /// How many checkpoints ran on the writer's queue (the WAL had reached `restartFrames`).
    let writerCheckpoints: Counter
    /// How many checkpoints failed (they are retried on the next round).
    let failures: Counter
    /// How many rounds found another checkpoint running (SQLITE_BUSY: two passive checkpoints cannot run at
    /// once, and the writer's own one may hold the lock): nothing is wrong, the next round copies what is left.
    let busyRounds: Counter
    /// The last checkpoint error, for tests and diagnostics.
    let lastFailure: Failure
    /// How many rounds of the loop finished, successful or not: tests wait on it instead of on a schedule.
    let rounds: Counter
    /// Appends committed since the last checkpoint.
    private let commits: Counter
    /// How many rounds checkpointed (the others found too few appends since the last one).
    let checkpoints: Counter

    /// The description of the last error, shared with the loop.
    final class Failure: Sendable {
        private let value = Mutex<String?>(nil)
        func record(_ error: any Error) { value.withLock { $0 = "\(error)" } }
        var description: String? { value.withLock { $0 } }
    }

    /// A shared count.
    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func add() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
        /// The count, set back to zero.
        func take() -> Int { value.exchange(0, ordering: .relaxed) }
    }

    /// Counts one committed append (the writer calls it).
    func noteCommit() { commits.add() }

    init(
        path: String,
        configuration: Configuration,
        writer: DatabasePool,
        interval: Duration,
        afterCommits: Int,
        atLeastEvery: Duration,
        restartFrames: Int
    ) throws {
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        let writerCheckpoints = Counter()
        let failures = Counter()
        let busyRounds = Counter()
        let rounds = Counter()
        let commits = Counter()
        let checkpoints = Counter()
        let lastFailure = Failure()
        self.commits = commits
        self.checkpoints = checkpoints
        self.connection = connection
        self.lastFailure = lastFailure
        self.rounds = rounds
        self.writerCheckpoints = writerCheckpoints
        self.failures = failures
        self.busyRounds = busyRounds
        // The loop holds the connections, not this object, so dropping the log cancels it (deinit).
        task = Task.detached {
            var pending = 0
            var lastCheckpoint = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                pending += commits.take()
                guard pending >= afterCommits || (pending > 0 && ContinuousClock.now - lastCheckpoint >= atLeastEvery) else {
                    rounds.add()
                    continue
                }
                pending = 0
                lastCheckpoint = ContinuousClock.now
                checkpoints.add()
                do {
                    let (frames, _) = try await connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
                    if frames >= restartFrames {
                        _ = try await writer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
                        writerCheckpoints.add()
                    }
                } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                    busyRounds.add()
                } catch {
                    lastFailure.record(error)
                    failures.add()
                }
                rounds.add()
            }
        }
    }

    deinit { task.cancel() }

    /// One passive checkpoint now, on the checkpointer's connection: the WAL's frame count and how many of
    /// them are in the database file.
    func checkpoint() async throws -> (walFrames: Int, checkpointed: Int) {
        guard !closed.load(ordering: .acquiring) else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the event log is closed") }
        let result = try await connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        return (result.walFrameCount, result.checkpointedFrameCount)
    }

    /// Stops the loop and waits for a checkpoint under way; ``closeNow()`` then closes the connection.
    func stop() async {
        task.cancel()
        await task.value
    }

    /// Stops the loop and closes the connection at once (a checkpoint under way finishes first).
    func closeNow() throws {
        closed.store(true, ordering: .releasing)
        task.cancel()
        try connection.close()
    }
}
