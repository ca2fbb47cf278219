public import EventBus
public import GatewayModel
import ServiceLifecycle
import Synchronization

/// Rate limits shared by every node on one Redis (SPEC §6.4): GCRA in one Lua script
/// (``RateLimitScripts``), all checks of an action acquired together or not at all, exact in integer
/// microseconds, on Redis' clock.
///
/// Keys known to be over their limit are remembered in this process until their retry time, so a refused
/// flood costs no round trip: a request any of whose non-shadow checks is remembered is refused here, and
/// refusing counts nothing, which is what the script would have done.
public final class RedisRateLimitStore: RateLimitStore {
    /// Where the store's "now" comes from.
    public enum TimeSource: Sendable {
        /// Redis' `TIME`: one clock for every node.
        case redis
        /// Microseconds given by the caller: for tests that move time by hand.
        case manual(@Sendable () -> Int64)
    }

    private let client: RedisClient
    private let namespace: [UInt8]
    private let time: TimeSource
    /// Refused keys and when they may be asked again, in ``localMicros()``.
    private let refused = Mutex<[String: Int64]>([:])
    private let origin = ContinuousClock.now
    private let closed = Atomic<Bool>(false)
    /// The most keys remembered as refused; beyond it the oldest are forgotten (they just cost a round trip).
    let cacheLimit = 100_000

    /// Creates the store (connections are made on first use).
    /// - Parameters:
    ///   - url: the Redis server.
    ///   - namespace: prefix of every key, e.g. `rg:{crm.events}:`.
    ///   - connections: connections in the pool.
    ///   - time: where "now" comes from.
    public init(url: RedisURL, namespace: String, connections: Int = 2, time: TimeSource = .redis) {
        var settings = RedisConnection.Settings(url: url)
        settings.scripts = [RateLimitScripts.acquire]
        client = RedisClient(settings: settings, count: connections, name: "redis-limits")
        self.namespace = Array(namespace.utf8)
        self.time = time
    }

    /// Microseconds on the clock the refusal cache runs on: this process's monotonic clock, or the manual
    /// time when the store's time is manual (so tests that move time move the cache too).
    private func localMicros() -> Int64 {
        switch time {
        case .manual(let micros): return micros()
        case .redis:
            let (seconds, attoseconds) = origin.duration(to: .now).components
            return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        }
    }

    /// The key of one counter: the limit's scope, action, tenant and subject, and its parameters (so a
    /// reload that changes a limit starts its counter afresh), each part length-prefixed.
    static func key(_ check: LimitCheck) -> String {
        let key = check.key
        let gcra = check.limit.gcra
        let parts = [key.action.rawValue, key.scope.rawValue, key.company, key.subject]
        return parts.map { "\($0.utf8.count):\($0)" }.joined() + "\(gcra.limit)/\(gcra.periodNanos)/\(gcra.burst)"
    }

    public func acquire(_ checks: [LimitCheck]) async throws -> [RateLimitOutcome] {
        guard !checks.isEmpty else { return [] }
        guard !closed.load(ordering: .acquiring) else { throw RedisError.closed }
        if let known = acquireWithoutWaiting(checks) { return known }
        // Refusals are remembered from before the request: the retry time Redis gives counts from its "now".
        let sent = localMicros()
        var arguments: [[UInt8]] = []
        switch time {
        case .redis: arguments += [[], Array("0".utf8)]
        // Redis expires states on its own clock; time moved by hand must not see them vanish.
        case .manual(let micros): arguments += [Array(String(micros()).utf8), Array("86400000".utf8)]
        }
        arguments.append(Array(String(checks.count).utf8))
        for check in checks {
            let gcra = check.limit.gcra
            arguments.append(Array(Self.key(check).utf8))
            arguments.append(Array(String(gcra.limit).utf8))
            arguments.append(Array(String(max(1, gcra.periodNanos / 1000)).utf8))
            arguments.append(Array(String(gcra.burst).utf8))
            arguments.append(check.limit.shadow ? [UInt8(ascii: "1")] : [UInt8(ascii: "0")])
        }
        let replies = try await client.run(RateLimitScripts.acquire, keys: [namespace], arguments: arguments).elements
        guard replies.count == checks.count else { throw RedisError.unexpectedReply("\(replies.count) outcomes for \(checks.count) checks") }
        var outcomes: [RateLimitOutcome] = []
        outcomes.reserveCapacity(checks.count)
        for (check, reply) in zip(checks, replies) {
            let values = reply.elements.compactMap(\.int64)
            guard values.count == 5 else { throw RedisError.unexpectedReply("a limit outcome of \(values.count) values") }
            outcomes.append(
                RateLimitOutcome(
                    allowed: values[0] == 1,
                    exceeded: values[1] == 1,
                    limit: Int(check.limit.gcra.limit),
                    remaining: Int(values[2]),
                    retryAfterNanos: values[3] * 1000,
                    resetAfterNanos: values[4] * 1000
                )
            )
        }
        remember(checks, outcomes, sentAt: sent)
        return outcomes
    }

    /// A refusal answered from the cache of keys known to be over their limit, or `nil` (ask ``acquire(_:)``).
    public func acquireWithoutWaiting(_ checks: [LimitCheck]) -> [RateLimitOutcome]? {
        let now = localMicros()
        let keys = checks.map { $0.limit.shadow ? nil : Self.key($0) }
        let until = refused.withLock { refused -> [Int64?] in
            keys.map { key in
                guard let key, let until = refused[key] else { return nil }
                if until <= now {
                    refused[key] = nil
                    return nil
                }
                return until
            }
        }
        guard until.contains(where: { $0 != nil }) else { return nil }
        return zip(checks, until).map { check, until in
            RateLimitOutcome(
                allowed: until == nil,
                exceeded: until != nil,
                limit: Int(check.limit.gcra.limit),
                remaining: 0,
                retryAfterNanos: until.map { ($0 - now) * 1000 } ?? 0,
                resetAfterNanos: 0
            )
        }
    }

    private func remember(_ checks: [LimitCheck], _ outcomes: [RateLimitOutcome], sentAt now: Int64) {
        let over = zip(checks, outcomes).filter { !$0.0.limit.shadow && !$0.1.allowed && $0.1.retryAfterNanos > 0 }
        guard !over.isEmpty else { return }
        refused.withLock { refused in
            if refused.count >= cacheLimit { refused = refused.filter { $0.value > now } }
            if refused.count >= cacheLimit { refused.removeAll() }
            for (check, outcome) in over { refused[Self.key(check)] = now + outcome.retryAfterNanos / 1000 }
        }
    }

    /// Serves until graceful shutdown, then closes the connections.
    public func run() async throws {
        try? await gracefulShutdown()
        closed.store(true, ordering: .releasing)
        client.close()
    }

    /// A real round trip (`PING`) on every connection.
    public func health() async -> ComponentHealth {
        guard !closed.load(ordering: .acquiring) else { return .unhealthy("the rate-limit store is closed") }
        do {
            try await client.ping()
            return .healthy
        } catch {
            return .unhealthy("the rate limits in Redis cannot be reached: \(error)")
        }
    }
}
