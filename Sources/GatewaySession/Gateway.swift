public import GatewayModel
public import Logging
public import PolicyEnforcement
import Synchronization

/// The gateway's sessions, between the transports and the policy gate: WebSocket connections, long-polls,
/// replay and fan-out. Data flows one way: transport → ``Gateway`` (sessions) → ``PolicyGate`` (decide,
/// limit, audit, enrich) → `EventPipeline` → log → bus; deliveries come back up through the gate, which
/// filters and redacts them, to the sessions' outboxes. Nothing here decides a policy question or touches
/// the log or the bus itself.
public final class Gateway: Sendable {
    /// Limits of the sessions on this node.
    public struct Configuration: Sendable {
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
        public var maxPollBytes = 1 << 20
        /// `MEMORY_BUDGET_BYTES`: what all replays and poll answers together may hold (see ``MemoryBudget``).
        public var memoryBudgetBytes = 256 << 20
        /// What one replay reserves from the budget (see ``replayReservation(outboxLimitBytes:)``). Set by the
        /// transport, which knows its outbox limit.
        public var replayReservationBytes = Self.replayReservation(outboxLimitBytes: 4 << 20)
        /// How long a new replay or poll waits for budget before it is refused (close 1013 / 503).
        public var memoryBudgetPatience: Duration = .seconds(5)
        /// Client messages a connection may send per second (burst twice that) before it is closed with 4029.
        public var maxMessagesPerSecond = 50
        /// How often the retention sweep runs (when GDPR is enabled); `nil` never.
        public var retentionSweepInterval: Duration? = .seconds(60)
        /// Starts the writes of every frame the fan-out queued with ``FrameSink/sendDeferred(_:)``. The
        /// transport sets it; the fan-out calls it after each event, or, for the events the pipeline handed over
        /// together, after the last of them. Under load that is several events, and each connection gets them
        /// in one write; an idle node hands over one event at a time, so nothing waits for a batch to fill.
        public var startQueuedWrites: @Sendable () -> Void = {}
        /// Returns once the transport has written what was started (at most `limit` later). The pipeline's
        /// delivery waits for it before fanning out its next hand-over: while the event loops are still writing,
        /// the events appended meanwhile gather into one hand-over, and each connection gets them in one write.
        /// An idle transport returns at once, so an idle node delays nothing.
        public var waitForStartedWrites: @Sendable (_ limit: Duration) async -> Void = { _ in }

        /// The defaults.
        public init() {}

        /// What a replay reserves for a connection of `outboxLimitBytes`: the most it may hold unwritten, twice
        /// over for NIO's power-of-two buffers, plus a page of events read ahead.
        public static func replayReservation(outboxLimitBytes: Int) -> Int { 2 * outboxLimitBytes + (1 << 20) }
    }

    public let configuration: Configuration
    /// The one door to the bus.
    public let gate: PolicyGate
    let logger: Logger
    let metrics = GatewayMetrics()
    let registry = SubscriberRegistry()
    let pollWaiters = PollWaiters()
    let ids = UUIDv7Generator()
    let sessions = Mutex<[String: Session]>([:])
    let connectionCount = Atomic<Int>(0)
    /// Set when shutdown begins: waiting polls answer at once instead of sleeping.
    let shuttingDown = Atomic<Bool>(false)
    /// Whether the fan-out is subscribed to the bus (``subscribeToBus()``).
    let subscribed = Atomic<Bool>(false)
    /// Open batches of several events (the gate's ``PolicyGate/subscribe(deliver:batches:)``): while one is
    /// open, an event's fan-out leaves starting the writes to the batch's end.
    let openBatches = Atomic<Int>(0)
    /// Deliveries counted for `/dashboard`.
    let delivered = Atomic<Int>(0)
    /// The connections that asked for `dashboard.snapshot` messages.
    let dashboardViewers = Mutex<[String: Session]>([:])
    /// The totals and time of the previous dashboard snapshot, for rates.
    let dashboardRates = Mutex<(atMillis: Int64, published: Int, delivered: Int)>((0, 0, 0))
    /// Verifies tokens for `auth.refresh`.
    let authenticator: Authenticator?
    /// What replays and poll answers may hold, all together.
    public let memoryBudget: MemoryBudget

    /// Creates the sessions layer over `gate`; call ``run()`` to start delivery and timers.
    /// - Parameters:
    ///   - configuration: session limits.
    ///   - gate: the policy gate, built over the backend set by the composition root.
    ///   - authenticator: verifies `auth.refresh` tokens; `nil` refuses refreshes.
    ///   - logger: for connection lifecycle lines.
    public init(configuration: Configuration, gate: PolicyGate, authenticator: Authenticator?, logger: Logger) {
        self.configuration = configuration
        self.gate = gate
        self.logger = logger
        self.authenticator = authenticator
        self.memoryBudget = MemoryBudget(limitBytes: configuration.memoryBudgetBytes)
    }

    /// The active policy's version.
    public var policyVersion: String { gate.active.version }

    /// Runs delivery (the gate's bus subscription and publish pipeline) and the token-expiry, idempotency
    /// and retention timers until the task is cancelled or ``shutdown()`` is called.
    /// Subscribes the fan-out to the bus; returns once the subscription is in place. The composition root
    /// calls it before the server accepts connections (a node on Redis would otherwise admit clients whose
    /// first events it had not subscribed to yet); ``run()`` calls it when nobody did.
    public func subscribeToBus() async throws {
        guard !subscribed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let batches = PolicyGate.BatchBoundaries(
            began: { [weak self] in self?.openBatches.add(1, ordering: .relaxed) },
            ended: { [weak self] in
                guard let self else { return }
                openBatches.subtract(1, ordering: .relaxed)
                configuration.startQueuedWrites()
            },
            delivered: { [weak self] in await self?.configuration.waitForStartedWrites(Self.writesPatience) }
        )
        try await gate.subscribe(deliver: { [weak self] event in await self?.fanOut(event) }, batches: batches)
    }

    /// The longest a hand-over waits for the previous one's writes (a stalled event loop delays, never stops,
    /// delivery).
    static let writesPatience: Duration = .milliseconds(50)

    public func run() async throws {
        let gate = self.gate
        let retention = gate.configuration.gdprEnabled ? configuration.retentionSweepInterval : nil
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.subscribeToBus()
                await gate.runPipeline()
            }
            group.addTask { [weak self] in
                var tick = 0
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    self?.closeExpiredSessions()
                    tick += 1
                    // Hourly: idempotency keys past the dedup window.
                    if tick % 3600 == 0 { _ = try? await gate.expireIdempotencyKeys() }
                }
            }
            if let retention {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: retention)
                        _ = try? await gate.sweepRetention()
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Closes every connection with 1001, waits (at most `grace`) until they are gone, then stops the
    /// gate's pipeline, which drains what was queued and makes ``run()`` return.
    public func shutdown(grace: Duration = .seconds(5)) async {
        shuttingDown.store(true, ordering: .releasing)
        pollWaiters.notifyAll()
        for session in sessions.withLock({ Array($0.values) }) { session.outbox.close(CloseCode.goingAway) }
        let deadline = ContinuousClock.now + grace
        while sessions.withLock({ !$0.isEmpty }), ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        gate.stop()
    }

    /// Removes every event whose retention has passed (see ``PolicyGate/sweepRetention(nowMillis:)``).
    @discardableResult
    public func sweepRetention(nowMillis: Int64 = Timestamp.nowMillis()) async throws -> Int {
        try await gate.sweepRetention(nowMillis: nowMillis)
    }

    /// How many WebSocket connections are open.
    public var activeConnections: Int { connectionCount.load(ordering: .relaxed) }
}
