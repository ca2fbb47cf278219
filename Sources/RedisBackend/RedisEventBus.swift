public import EventBus
public import GatewayModel
public import Logging
import ServiceLifecycle
import Synchronization

/// The event bus on Redis pub/sub, shared by every node on one Redis (SPEC §5).
///
/// Channels map to Redis channels one to one; a subscription channel ending in `.>` becomes a
/// `PSUBSCRIBE` of the prefix and `*`. Messages are `<position>:<bus encoding>`. One pub/sub connection per
/// node (``PubSubConnection``) receives everything in the order Redis ran the publishes, which for events
/// announced by ``RedisEventLog``'s append script is log order.
///
/// Pub/sub is at-most-once, so with a ``History`` every subscription (``SubscriptionFeed``) reads the
/// stream from the last position it delivered after the connection came back or its queue overflowed,
/// before it goes on live: a node's subscribers miss nothing across a break. Without one (the bus used
/// alone, as the conformance suite does), a break loses what was published meanwhile.
public final class RedisEventBus: EventBusBackend {
    /// Where a subscription catches up from: the log the events are in, and the prefix of their channels.
    public struct History: Sendable {
        /// The log (``RedisEventLog`` on the same Redis).
        public var log: any EventLog
        /// `EVENT_BUS_CHANNEL_PREFIX`: an event's channel is `<prefix>.<event type>`.
        public var channelPrefix: String
        /// Told every position the bus delivers (``RedisEventLog/observe(_:)``: appends never go below it).
        public var observe: @Sendable (Int64) -> Void

        /// Creates a history.
        public init(log: any EventLog, channelPrefix: String, observe: @escaping @Sendable (Int64) -> Void = { _ in }) {
            self.log = log
            self.channelPrefix = channelPrefix
            self.observe = observe
        }
    }

    private struct Subscriptions {
        var feeds: [Int: SubscriptionFeed] = [:]
        var tasks: [Int: Task<Void, Never>] = [:]
        var nextID = 0
    }

    private let client: RedisClient
    /// Redis channels are `rg:<db>:<bus channel>`: pub/sub ignores `SELECT`, so deployments on different
    /// databases of one Redis must not hear each other.
    private let redisPrefix: String
    private let history: History?
    private let queueLimit: Int
    private let logger: Logger
    private let subscriptions = Mutex(Subscriptions())
    private let closed = Atomic<Bool>(false)
    private let pubsub: Mutex<PubSubConnection?> = Mutex(nil)
    private let undecodableCount = Atomic<Int>(0)
    /// Messages that could not be decoded (another build's encoding, a foreign publisher).
    public var undecodable: Int { undecodableCount.load(ordering: .relaxed) }

    /// Creates the bus; the pub/sub connection opens at once and reconnects by itself.
    /// - Parameters:
    ///   - url: the Redis server.
    ///   - history: where subscriptions catch up after a break; `nil` for none.
    ///   - queueLimit: live events queued per subscription before it reads the stream instead.
    ///   - logger: where breaks, reconnections and catch-ups are reported.
    public init(url: RedisURL, history: History?, queueLimit: Int = 10_000, logger: Logger = Logger(label: "redis-bus")) {
        let settings = RedisConnection.Settings(url: url)
        client = RedisClient(settings: settings, count: 1, name: "redis-bus")
        redisPrefix = Self.redisChannel("", database: url.database)
        self.history = history
        self.queueLimit = queueLimit
        self.logger = logger
        let connection = PubSubConnection(
            settings: settings,
            name: "redis-pubsub",
            onMessage: { [weak self] channel, payload in self?.dispatch(channel: channel, payload: payload) },
            onLive: { [weak self] in self?.connectionIsLive() },
            onChange: { [weak self] up, reason in
                if !up { self?.connectionLost() }
                if up {
                    logger.notice("the Redis pub/sub connection is back", metadata: [LogKey.event: "event_bus.reconnected"])
                } else {
                    logger.warning(
                        "the Redis pub/sub connection broke",
                        metadata: [LogKey.event: "event_bus.disconnected", LogKey.error: "\(reason)"]
                    )
                }
            }
        )
        pubsub.withLock { $0 = connection }
    }

    /// The Redis channel of a bus channel on database `database`: `rg:<db>:<channel>`.
    public static func redisChannel(_ channel: String, database: Int) -> String { "rg:\(database):" + channel }

    /// A message: `<position>:<bus encoding>`.
    static func message(_ event: StoredEvent) -> [UInt8] { Array("\(event.position):".utf8) + event.encoded() }

    public func publish(channel: String, event: StoredEvent) async throws {
        guard !closed.load(ordering: .acquiring) else { throw EventBusError.closed }
        _ = try await client.connection.send([[Array("PUBLISH".utf8), Array((redisPrefix + channel).utf8), Self.message(event)]])[0].checked()
    }

    public func subscribe(_ channels: [String], handler: @escaping @Sendable (StoredEvent) async -> Void) async throws {
        guard !closed.load(ordering: .acquiring) else { throw EventBusError.closed }
        // The head before the subscription exists: every event after it reaches the feed, live or by catch-up.
        let start = try? await history?.log.head()
        let observe = history?.observe
        let delivered: @Sendable (StoredEvent) async -> Void = { event in
            observe?(event.position)
            await handler(event)
        }
        let feed = SubscriptionFeed(
            channels: Set(channels),
            start: start,
            queueLimit: queueLimit,
            history: history,
            logger: logger,
            handler: delivered
        )
        subscriptions.withLock { subscriptions in
            let id = subscriptions.nextID
            subscriptions.nextID += 1
            subscriptions.feeds[id] = feed
            subscriptions.tasks[id] = Task { await feed.run() }
        }
        let (exact, patterns) = redisChannels(channels)
        guard let connection = pubsub.withLock({ $0 }) else { return }
        connection.add(channels: exact, patterns: patterns)
        // Nothing published after this returns is missed (unless the connection is down; then the feed
        // goes live, and catches up, when it is back).
        await connection.confirm()
        if connection.status.connected { feed.connectionIsLive() }
    }

    public func unsubscribe(_ channels: [String]) async throws {
        let removed = Set(channels)
        let (ended, counts) = subscriptions.withLock { subscriptions -> ([SubscriptionFeed], [String: Int]) in
            var ended: [SubscriptionFeed] = []
            var counts: [String: Int] = [:]
            for (id, feed) in subscriptions.feeds {
                let (held, empty) = feed.remove(removed)
                for channel in held { counts[channel, default: 0] += 1 }
                if empty {
                    ended.append(feed)
                    subscriptions.tasks[id] = nil
                    subscriptions.feeds[id] = nil
                }
            }
            return (ended, counts)
        }
        for feed in ended { feed.close() }
        // One Redis subscription per feed that held the channel (they were counted one per feed).
        for (channel, count) in counts {
            let (exact, patterns) = redisChannels([channel])
            for _ in 0..<count { pubsub.withLock { $0 }?.remove(channels: exact, patterns: patterns) }
        }
    }

    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let (feeds, tasks) = subscriptions.withLock { subscriptions in
            defer { subscriptions = Subscriptions() }
            return (Array(subscriptions.feeds.values), Array(subscriptions.tasks.values))
        }
        for feed in feeds { feed.close() }
        for task in tasks { await task.value }
        pubsub.withLock { $0 }?.close()
        client.close()
    }

    /// Serves until graceful shutdown, then closes.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Unhealthy when closed, when the pub/sub connection is down, or when a `PING` gets no answer.
    public func health() async -> ComponentHealth {
        guard !closed.load(ordering: .acquiring) else { return .unhealthy("the event bus is closed") }
        if let connection = pubsub.withLock({ $0 }) {
            // A connection being opened (at start, after a break) gets a moment before it counts as down.
            let deadline = ContinuousClock.now + .milliseconds(500)
            while !connection.status.connected && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
            let status = connection.status
            if !status.connected { return .unhealthy("the Redis pub/sub connection is down: \(status.lastError)") }
        }
        do {
            try await client.ping()
            return .healthy
        } catch {
            return .unhealthy("\(error)")
        }
    }

    /// How many times a subscription's live queue overflowed and it read the stream instead.
    public var overflows: Int { subscriptions.withLock { $0.feeds.values.reduce(0) { $0 + $1.overflows.load(ordering: .relaxed) } } }

    /// Bus channels as Redis channels and patterns (under ``redisPrefix``).
    func redisChannels(_ channels: [String]) -> (exact: [String], patterns: [String]) {
        var exact: [String] = []
        var patterns: [String] = []
        for channel in channels {
            if channel.hasSuffix(".>") {
                patterns.append(Self.globEscaped(redisPrefix + String(channel.dropLast())) + "*")
            } else {
                exact.append(redisPrefix + channel)
            }
        }
        return (exact, patterns)
    }

    /// `text` with Redis glob's special characters escaped.
    static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "?*[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    private func dispatch(channel redisChannel: String, payload: [UInt8]) {
        guard redisChannel.hasPrefix(redisPrefix) else { return }
        let channel = String(redisChannel.dropFirst(redisPrefix.count))
        guard let colon = payload.firstIndex(of: UInt8(ascii: ":")),
            let position = Int64(String(decoding: payload[..<colon], as: UTF8.self)),
            var event = try? StoredEvent(decoding: Array(payload[(colon + 1)...]))
        else {
            undecodableCount.add(1, ordering: .relaxed)
            return
        }
        event.position = position
        let feeds = subscriptions.withLock { Array($0.feeds.values) }
        for feed in feeds { feed.offer(event, channel: channel) }
    }

    private func connectionLost() {
        let feeds = subscriptions.withLock { Array($0.feeds.values) }
        for feed in feeds { feed.connectionLost() }
    }

    private func connectionIsLive() {
        let feeds = subscriptions.withLock { Array($0.feeds.values) }
        for feed in feeds { feed.connectionIsLive() }
    }
}
