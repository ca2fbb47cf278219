import Dispatch
import Foundation
import Synchronization

/// A command to Redis: its words as bytes (binary-safe, sent with `redisAppendCommandArgv`).
public typealias RedisCommand = [[UInt8]]

/// One blocking hiredis connection on a thread of its own, never on an event loop.
///
/// Requests queue here; the thread takes everything queued, writes it in one go and reads the replies in
/// order (pipelining), so concurrent callers share round trips. A broken connection fails the requests in
/// flight with ``RedisError/unavailable(_:)`` and is opened again on the next request, after a capped
/// exponential backoff with jitter; during the backoff requests fail at once instead of waiting. Each new
/// connection runs the handshake first (`AUTH`, `SELECT`, `SCRIPT LOAD` of every script), so scripts are
/// loaded again after a Redis restart.
public final class RedisConnection: Sendable {
    /// How the connection is opened and paced.
    public struct Settings: Sendable {
        /// Where the server is.
        public var url: RedisURL
        /// How long opening the TCP connection may take.
        public var connectTimeout: Duration = .seconds(2)
        /// How long one reply may take before the connection is dropped as broken.
        public var commandTimeout: Duration = .seconds(5)
        /// The first wait after a failed connection attempt; it doubles up to ``maximumBackoff``.
        public var initialBackoff: Duration = .milliseconds(50)
        /// The longest wait between connection attempts.
        public var maximumBackoff: Duration = .seconds(2)
        /// Scripts loaded on every new connection.
        public var scripts: [RedisScript] = []

        /// Settings for `url` with the defaults above.
        public init(url: RedisURL) { self.url = url }
    }

    private struct Job {
        var commands: [RedisCommand]
        var reply: CheckedContinuation<[RedisReply], any Error>
    }

    private struct State {
        var jobs: [Job] = []
        var closed = false
        var lastError = "not connected yet"
        var connected = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    let settings: Settings

    /// Starts the connection's thread; the first request connects.
    public init(settings: Settings, name: String) {
        Self.ignoreBrokenPipes
        self.settings = settings
        let worker = Worker(settings: settings)
        let thread = Thread { [self] in self.serve(worker) }
        thread.name = name
        thread.start()
    }

    /// hiredis writes with `write(2)`: a write to a connection Redis closed would raise SIGPIPE, whose default
    /// action ends the process. Ignored once, before the first connection (NIO itself never relies on it).
    static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Sends `commands` in one pipeline and returns their replies in order (error replies included).
    /// - Throws: ``RedisError/unavailable(_:)`` when the connection is down or broke before every reply came.
    public func send(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        try await withCheckedThrowingContinuation { continuation in
            let closed = state.withLock { state -> Bool in
                if state.closed { return true }
                state.jobs.append(Job(commands: commands, reply: continuation))
                return false
            }
            if closed { continuation.resume(throwing: RedisError.closed) } else { wake.signal() }
        }
    }

    /// Sends one command and returns its reply, throwing an error reply as ``RedisError/server(_:)``.
    public func call(_ words: String...) async throws -> RedisReply {
        try await send([words.map { Array($0.utf8) }])[0].checked()
    }

    /// Runs `script` by SHA with `keys` and `arguments`; a server that lost the script gets its source.
    public func run(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]]) async throws -> RedisReply {
        try await run(script, keys: keys, arguments: arguments, then: nil).reply
    }

    /// Runs `script` by SHA and then `next` in the same pipeline, on this one connection (as `WAIT` must
    /// follow the write it waits for); returns both replies.
    public func run(
        _ script: RedisScript,
        keys: [[UInt8]],
        arguments: [[UInt8]],
        then next: RedisCommand?
    ) async throws -> (reply: RedisReply, next: RedisReply?) {
        let tail = [Array(String(keys.count).utf8)] + keys + arguments
        let following = next.map { [$0] } ?? []
        var replies = try await send([[Array("EVALSHA".utf8), Array(script.sha.utf8)] + tail] + following)
        if case .error(let message) = replies[0], message.hasPrefix("NOSCRIPT") {
            replies = try await send([[Array("EVAL".utf8), Array(script.source.utf8)] + tail] + following)
        }
        return (try replies[0].checked(), replies.count > 1 ? replies[1] : nil)
    }

    /// Whether the last attempt connected, and why not when it did not.
    public var status: (connected: Bool, lastError: String) { state.withLock { ($0.connected, $0.lastError) } }

    /// Fails queued requests and ends the thread after the request in hand.
    public func close() {
        let jobs = state.withLock { state -> [Job] in
            state.closed = true
            defer { state.jobs = [] }
            return state.jobs
        }
        for job in jobs { job.reply.resume(throwing: RedisError.closed) }
        wake.signal()
    }

    private func serve(_ worker: Worker) {
        while true {
            wake.wait()
            let (jobs, closed) = state.withLock { state -> ([Job], Bool) in
                defer { state.jobs = [] }
                return (state.jobs, state.closed)
            }
            if !jobs.isEmpty { process(jobs, worker) }
            if closed {
                worker.disconnect()
                return
            }
        }
    }

    private func process(_ jobs: [Job], _ worker: Worker) {
        let link: RedisLink
        switch worker.connected() {
        case .success(let open):
            link = open
            state.withLock { $0.connected = true }
        case .failure(let error):
            state.withLock {
                $0.connected = false
                $0.lastError = error.description
            }
            for job in jobs { job.reply.resume(throwing: error) }
            return
        }
        for job in jobs {
            for command in job.commands { link.append(command) }
        }
        var index = 0
        while index < jobs.count {
            var replies: [RedisReply] = []
            replies.reserveCapacity(jobs[index].commands.count)
            for _ in jobs[index].commands {
                guard let reply = link.reply() else {
                    let error = RedisError.unavailable(link.errorText)
                    state.withLock {
                        $0.connected = false
                        $0.lastError = error.description
                    }
                    worker.disconnect()
                    for job in jobs[index...] { job.reply.resume(throwing: error) }
                    return
                }
                replies.append(reply)
            }
            jobs[index].reply.resume(returning: replies)
            index += 1
        }
    }
}
