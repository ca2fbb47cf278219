import CoreMetrics
public import EventBus
public import GatewayModel
public import Logging
public import PolicyEngine
public import PolicyLanguage
import Synchronization

/// The one door between the sessions and the bus: every connect, subscribe, publish, poll and delivery
/// is decided here, and nothing reaches the log or the bus any other way.
///
/// Each action is one call that decides with the active policy, acquires the decision's rate limits,
/// audits it (log line and metric), runs the shadow policy's dry run, and returns a plain verdict the
/// transport maps to wire and HTTP codes. Publishing then enriches the event and hands it to the
/// ``EventPipeline`` (append, then bus); deliveries, replays and polls are filtered (isolation,
/// residency, erasure) and redacted here.
///
/// ```swift
/// let gate = PolicyGate(configuration: .init(region: "us-east-1"), policy: compiled, backends: backends, logger: logger)
/// switch await gate.publish(principal, body: body) {
/// case .success(let accepted): ...        // 202
/// case .failure(let refusal): ...         // refusal.code -> HTTP status
/// }
/// ```
public final class PolicyGate: Sendable {
    /// Identity and switches of this node that decisions depend on.
    public struct Configuration: Sendable {
        /// `DEFAULT_REGION`.
        public var region: Region
        /// `--region`: the region this node holds data for; `nil` serves every company (SPEC §6.5).
        public var nodeRegion: Region?
        /// `EVENT_BUS_CHANNEL_PREFIX`.
        public var channelPrefix = "crm.events"
        /// `GDPR_ENABLED`: when false, events carry no `gdpr_context` on the wire (the log still records
        /// retention and data subject, so retention and erasure keep working).
        public var gdprEnabled = true
        /// `POLICY_AUDIT_ALLOWED`: log allowed decisions too, not only refusals.
        public var auditAllowedDecisions = false
        /// Events removed per write by the retention sweep: small enough that appends never wait long for it.
        public var retentionBatch = 500

        /// A configuration for a node whose default region is `region`, serving `nodeRegion` (every region when `nil`).
        public init(region: Region, nodeRegion: Region? = nil) {
            self.region = region
            self.nodeRegion = nodeRegion
        }
    }

    /// The node's settings.
    public let configuration: Configuration
    /// The policy in force.
    public let active: ActivePolicy
    /// Decision counts, audit lines and the dashboard's recent refusals.
    public let audit: PolicyAudit
    let limits: LimitEnforcer
    /// The parts below the gate.
    public let backends: BackendSet
    let forgotten = ForgottenSubjects()
    let ids = UUIDv7Generator()
    let logger: Logger
    let metrics: GateMetrics
    let pipeline: EventPipeline
    /// The subscriber's batch boundaries (``subscribe(deliver:batches:)``), read by the pipeline's delivery.
    private let batchHooks = BatchHooks()

    /// Holds the hooks for the pipeline's closure, which the gate's initializer builds before they are known.
    private final class BatchHooks: Sendable {
        let hooks = Mutex<BatchBoundaries?>(nil)
    }

    /// Where the delivery of several events handed over together begins and ends (see
    /// ``subscribe(deliver:batches:)``).
    public struct BatchBoundaries: Sendable {
        public var began: @Sendable () -> Void
        public var ended: @Sendable () -> Void
        /// After every hand-over (one event or several): the pipeline hands over the next only when this returns.
        public var delivered: @Sendable () async -> Void

        public init(
            began: @escaping @Sendable () -> Void,
            ended: @escaping @Sendable () -> Void,
            delivered: @escaping @Sendable () async -> Void = {}
        ) {
            self.began = began
            self.ended = ended
            self.delivered = delivered
        }
    }

    /// Creates the gate over a backend set.
    /// - Parameters:
    ///   - configuration: the node's settings.
    ///   - policy: the policy to start with.
    ///   - backends: the event log, the bus and the rate-limit store the composition root built.
    ///   - logger: where audit lines go.
    public init(configuration: Configuration, policy: CompiledPolicy, backends: BackendSet, logger: Logger) {
        let bus = backends.bus
        let metrics = GateMetrics()
        self.configuration = configuration
        self.active = ActivePolicy(policy, nodeRegion: configuration.nodeRegion)
        self.metrics = metrics
        self.audit = PolicyAudit(auditAllowed: configuration.auditAllowedDecisions, logger: logger, metrics: metrics)
        self.limits = LimitEnforcer(store: backends.limits, logger: logger, metrics: metrics)
        self.backends = backends
        self.logger = logger
        let channelPrefix = configuration.channelPrefix
        let announced = backends.log.announcesAppends
        let batchHooks = self.batchHooks
        self.pipeline = EventPipeline(log: backends.log) { events in
            // Several events handed over at once (the fan-out was behind) are marked as one batch.
            let hooks = announced ? nil : batchHooks.hooks.withLock { $0 }
            let batch = events.count > 1 ? hooks : nil
            batch?.began()
            for event in events {
                // A log that announces its appends (Redis) published them in the append itself.
                guard !announced else {
                    metrics.published.increment()
                    metrics.publishedCount.add(1, ordering: .relaxed)
                    continue
                }
                do {
                    try await bus.publish(channel: channelPrefix + "." + event.eventType, event: event)
                    metrics.published.increment()
                    metrics.publishedCount.add(1, ordering: .relaxed)
                } catch {
                    // The event is durable; nodes that missed it serve it by replay and polling.
                    logger.error("event bus publish failed", metadata: [LogKey.event: "websocket.error", LogKey.error: "\(error)"])
                }
            }
            batch?.ended()
            // The next hand-over waits for this one's writes: meanwhile appended events gather into it.
            await hooks?.delivered()
        }
    }

    /// The event log.
    var log: any EventLog { backends.log }

    /// Every backend part's health, from a real request to each (`/api/realtime/health/`).
    public func health() async -> [(component: String, health: ComponentHealth)] { await backends.health() }

    /// The evaluator of the policy in force.
    public var evaluator: PolicyEvaluator { active.evaluator }

    /// How many events this node handed to the bus.
    public var published: Int { metrics.publishedCount.load(ordering: .relaxed) }

    /// Loads the subjects forgotten before this start, so their events stay refused (SPEC §7).
    public func loadForgottenSubjects() async throws {
        forgotten.insert(contentsOf: try await log.forgottenSubjects())
    }

    /// Subscribes to every channel of this node's prefix, handing each event (in log order) to
    /// `deliver`, then runs the publish pipeline until ``stop()``, when it drains what was queued.
    public func run(deliver: @escaping @Sendable (StoredEvent) async -> Void) async throws {
        try await subscribe(deliver: deliver)
        await runPipeline()
    }

    /// Subscribes to every channel of this node's prefix, handing each event (in log order) to `deliver`;
    /// returns once the subscription is in place (on a shared bus: once its broker applied it). Call it before
    /// the node accepts connections, so nothing a client could be owed is published before it.
    /// - Parameter batches: called around the delivery of several events this node appended and hands over
    ///   together (everything appended while the fan-out was busy), so that the subscriber can write them to
    ///   each connection at once. Events from other nodes come one at a time, outside batches.
    public func subscribe(deliver: @escaping @Sendable (StoredEvent) async -> Void, batches: BatchBoundaries? = nil) async throws {
        batchHooks.hooks.withLock { $0 = batches }
        try await backends.bus.subscribe([configuration.channelPrefix + ".>"], handler: deliver)
    }

    /// Runs the publish pipeline until ``stop()``, when it drains what was queued.
    public func runPipeline() async { await pipeline.run() }

    /// Refuses new publishes and lets ``run(deliver:)`` return once the queued ones are appended.
    public func stop() { pipeline.stop() }

    /// The newest position of the log: where a new connection's live stream starts.
    public func head() async throws -> Int64 { try await log.head() }

    /// Resolves a client's cursor within `company` (SPEC §4: a position or an `event_id`).
    public func resolve(cursor: String, company: CompanyID) async throws -> CursorPosition {
        try await log.resolve(cursor: cursor, company: company)
    }

    /// Forgets idempotency keys older than the dedup window; returns how many.
    @discardableResult
    public func expireIdempotencyKeys() async throws -> Int { try await log.expireIdempotencyKeys() }

    /// Removes every event whose own retention has passed at `nowMillis` (SPEC §6.6), a batch per write with
    /// a pause between, so publishing and replay are never held up for long; returns how many were removed.
    @discardableResult
    public func sweepRetention(nowMillis: Int64 = Timestamp.nowMillis()) async throws -> Int {
        var removed = 0
        while true {
            let count = try await log.purgeExpired(nowMillis: nowMillis, limit: configuration.retentionBatch)
            removed += count
            guard count == configuration.retentionBatch, !Task.isCancelled else { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        if removed > 0 { logger.info("retention purged events", metadata: [LogKey.event: "retention.purged", "events": "\(removed)"]) }
        return removed
    }
}
