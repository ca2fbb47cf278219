import CoreMetrics
public import EventBus
import Foundation
public import GatewayModel
public import Logging
import NIOCore
public import PolicyEngine
public import PolicyLanguage
import Synchronization

/// The gateway's core, between the transports and the bus: sessions, publishing, polling, replay and
/// fan-out, with every action decided by the policy engine. Data flows one way:
/// transport → ``Gateway`` (session, policy, rate limits) → ``PublishPipeline`` → log → bus → fan-out → outboxes.
public final class Gateway: Sendable {
    /// Limits and identity of this node.
    public struct Configuration: Sendable {
        /// `DEFAULT_REGION`, reported in `connection.established` by a node that serves every region.
        public var region: Region
        /// `--region`: the region this node holds data for; `nil` serves every company (SPEC §6.5).
        public var nodeRegion: Region?
        /// `EVENT_BUS_CHANNEL_PREFIX`.
        public var channelPrefix = "crm.events"
        /// `MAX_CONNECTIONS`.
        public var maxConnections = 10_000
        /// Consecutive invalid messages before close 4008.
        public var maxInvalidMessages = 10
        /// The most events one poll returns (SPEC §4: 1000).
        public var maxPollLimit = 1000
        /// The most patterns one connection may hold.
        public var maxSubscriptionsPerConnection = 200
        /// Replay page size (rows read per query; a replay is paced by the reader on top of that).
        public var replayPageSize = 100
        /// The most envelope bytes one poll answer carries (at least one event, whatever its size).
        public var maxPollBytes = 8 << 20
        /// Client messages a connection may send per second (burst twice that) before it is closed with 4029.
        public var maxMessagesPerSecond = 50
        /// `GDPR_ENABLED`: when false, events carry no `gdpr_context` on the wire (the log still records
        /// retention and data subject, so retention and erasure keep working).
        public var gdprEnabled = true
        /// `POLICY_AUDIT_ALLOWED`: log a `policy.decision` line for allowed connects, subscribes, publishes
        /// and polls too, not only for refusals (deliveries are counted, never logged one by one when allowed).
        public var auditAllowedDecisions = false
        /// How often the retention sweeper runs (with `gdprEnabled`); `nil` never.
        public var retentionSweepInterval: Duration? = .seconds(60)
        /// Events removed per write by the sweeper: small enough that appends never wait long for it.
        public var retentionBatch = 500

        /// A configuration for a node whose default region is `region`, serving `nodeRegion` (every region when `nil`).
        public init(region: Region, nodeRegion: Region? = nil) {
            self.region = region
            self.nodeRegion = nodeRegion
        }
    }

    public let configuration: Configuration
    let evaluatorState: Mutex<PolicyEvaluator>
    let log: any EventLog
    let bus: any EventBusBackend
    let rateLimits: any RateLimitStore
    let logger: Logger
    let metrics = GatewayMetrics()
    let registry = SubscriberRegistry()
    let pollWaiters = PollWaiters()
    let ids = UUIDv7Generator()
    let sessions = Mutex<[String: Session]>([:])
    let connectionCount = Atomic<Int>(0)
    /// Set when shutdown begins: waiting polls answer at once instead of sleeping.
    let shuttingDown = Atomic<Bool>(false)
    let pipelineBox = Mutex<PublishPipeline?>(nil)
    /// Counts for `/dashboard`.
    let dashboard = DashboardStats()
    /// The connections that asked for `dashboard.snapshot` messages.
    let dashboardViewers = Mutex<[String: Session]>([:])
    /// The totals and time of the previous dashboard snapshot, for rates.
    let dashboardRates = Mutex<(atMillis: Int64, published: Int, delivered: Int)>((0, 0, 0))
    /// Data subjects erased under SPEC §7 (loaded from the log at start).
    let forgotten = Mutex<Set<ForgottenSubject>>([])
    /// Verifies tokens for `auth.refresh`.
    let authenticator: Authenticator?

    /// Creates the core; call ``run()`` to start the publish pipeline and timers.
    public init(
        configuration: Configuration,
        policy: CompiledPolicy,
        log: any EventLog,
        bus: any EventBusBackend,
        rateLimits: any RateLimitStore,
        authenticator: Authenticator?,
        logger: Logger
    ) {
        self.configuration = configuration
        self.evaluatorState = Mutex(PolicyEvaluator(policy: policy, nodeRegion: configuration.nodeRegion))
        self.log = log
        self.bus = bus
        self.rateLimits = rateLimits
        self.logger = logger
        self.authenticator = authenticator
    }

    /// The evaluator of the active policy.
    public var evaluator: PolicyEvaluator { evaluatorState.withLock { $0 } }

    /// The active policy's version.
    public var policyVersion: String { evaluator.policy.version }

    var pipeline: PublishPipeline {
        pipelineBox.withLock { box in
            if let box { return box }
            let created = PublishPipeline(log: log) { [weak self] events in await self?.broadcast(events) }
            box = created
            return created
        }
    }

    /// Subscribes this node to the bus, then runs the publish pipeline and the token-expiry sweep until
    /// the task is cancelled or ``shutdown()`` is called.
    public func run() async throws {
        try await bus.subscribe([configuration.channelPrefix + ".>"]) { [weak self] event in self?.fanOut(event) }
        let pipeline = self.pipeline
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pipeline.run() }
            group.addTask { [weak self] in
                var tick = 0
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    self?.closeExpiredSessions()
                    tick += 1
                    // Hourly: idempotency keys past the dedup window.
                    if tick % 3600 == 0 { _ = try? await self?.log.expireIdempotencyKeys() }
                }
            }
            if configuration.gdprEnabled, let interval = configuration.retentionSweepInterval {
                group.addTask { [weak self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        _ = try? await self?.sweepRetention()
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Closes every connection with 1001, waits (at most `grace`) until they are gone, then stops the
    /// publish pipeline, which drains what was queued and makes ``run()`` return.
    public func shutdown(grace: Duration = .seconds(5)) async {
        shuttingDown.store(true, ordering: .releasing)
        pollWaiters.notifyAll()
        for session in sessions.withLock({ Array($0.values) }) { session.outbox.close(code: 1001, reason: "server shutting down") }
        let deadline = ContinuousClock.now + grace
        while sessions.withLock({ !$0.isEmpty }), ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        pipeline.stop()
    }

    /// Publishes appended events on the bus, in order.
    private func broadcast(_ events: [StoredEvent]) async {
        for event in events {
            do {
                try await bus.publish(channel: configuration.channelPrefix + "." + event.eventType, event: event)
                metrics.published.increment()
                dashboard.published.add(1, ordering: .relaxed)
            } catch {
                // The event is durable; nodes that missed it serve it by replay and polling.
                logger.error("event bus publish failed", metadata: ["event": "websocket.error", "error": "\(error)"])
            }
        }
    }

    /// Removes every event whose own retention has passed at `nowMillis` (SPEC §6.6), a batch per
    /// write with a pause between, so publishing and replay are never held up for long; returns how
    /// many were removed.
    @discardableResult
    public func sweepRetention(nowMillis: Int64 = Timestamp.nowMillis()) async throws -> Int {
        var removed = 0
        while true {
            let count = try await log.purgeExpired(nowMillis: nowMillis, limit: configuration.retentionBatch)
            removed += count
            guard count == configuration.retentionBatch, !Task.isCancelled else { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        if removed > 0 { logger.info("retention purged events", metadata: ["event": "retention.purged", "events": "\(removed)"]) }
        return removed
    }

    /// Whether the event log answers.
    public func isLogHealthy() async -> Bool { (try? await log.head()) != nil }

    /// How many WebSocket connections are open.
    public var activeConnections: Int { connectionCount.load(ordering: .relaxed) }

}
