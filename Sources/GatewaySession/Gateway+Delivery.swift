import CoreMetrics
import GatewayModel
import Logging
import NIOCore
import PolicyEnforcement
import Synchronization

extension Gateway {
    /// Fan-out of one event that is in the log, handed up by the gate's bus subscription: the gate routes
    /// it once and decides each subscriber of the event's company whose subscription matches; the frame is
    /// encoded once per redaction variant and the same bytes are queued to every connection of that variant.
    func fanOut(_ event: StoredEvent) async {
        // Frames are queued without starting writes; unless a batch of several events is open, they start here.
        defer { if openBatches.load(ordering: .relaxed) == 0 { configuration.startQueuedWrites() } }
        pollWaiters.notify(event.companyID)
        if PolicyGate.isNotice(event) { return deliverNotice(event) }
        let subscribers = registry.subscribers(company: event.companyID, eventType: event.eventType)
        guard !subscribers.isEmpty, var round = gate.deliveries(of: event) else { return }
        var frames: [UInt64: ByteBuffer] = [:]
        var delivered = 0
        var dropped = 0
        // A lone event's first connections need not wait for its last ones to be queued: its writes start every
        // `startWritesEvery` frames. In a batch, each connection's frames wait for the batch's end, so that they
        // share one write.
        let alone = openBatches.load(ordering: .relaxed) == 0
        for session in subscribers {
            guard let mask = round.admit(session.subject, connectionID: session.id) else { continue }
            if round.hasDeliverLimits, let refusal = await gate.acquireDeliverLimits(session.subject) {
                closeOverDeliverLimit(session, refusal)
                dropped += 1
                continue
            }
            let frame: ByteBuffer
            if let cached = frames[mask] {
                frame = cached
            } else {
                guard let envelope = round.envelope(redacting: mask) else { continue }
                frame = ByteBuffer(string: ServerMessage.event(envelope: envelope))
                frames[mask] = frame
            }
            switch session.offerLive(position: event.position, frame: frame) {
            case .queued:
                delivered += 1
                if alone, delivered % Self.startWritesEvery == 0 { configuration.startQueuedWrites() }
            case .deferred: break
            case .dropped: dropped += 1
            }
        }
        round.finish()
        metrics.delivered.increment(by: Int64(delivered))
        self.delivered.add(delivered, ordering: .relaxed)
        if dropped > 0 { metrics.dropped.increment(by: Int64(dropped)) }
        metrics.deliveryLatency.recordMilliseconds(max(0, Timestamp.nowMillis() - event.createdAtMillis))
        logger.debug(
            "event delivered",
            metadata: [
                LogKey.event: "event.delivered", LogKey.eventID: "\(event.eventID)", LogKey.eventType: "\(event.eventType)",
                "deliveries": "\(delivered)", "dropped": "\(dropped)",
            ]
        )
    }

    /// How many frames of a lone event are queued before their writes start (the rest start at its end).
    static let startWritesEvery = 128

    /// A connection over its plan's `deliver` limits (SPEC §6.4) is closed with 4029 (transient: clients
    /// reconnect after a pause and resume by cursor), so no event is skipped silently: the deliveries it
    /// missed come back by replay, which the reader paces and which does not count.
    private func closeOverDeliverLimit(_ session: Session, _ refusal: RateLimitOutcome) {
        let now = Timestamp.nowMillis()
        let first = session.state.withLock { state -> Bool in
            guard now >= state.deliverLimitedUntilMillis else { return false }
            state.deliverLimitedUntilMillis = now + Int64((refusal.retryAfterSeconds * 1000).rounded(.up))
            return true
        }
        guard first else { return }
        logger.info(
            "delivery rate limited",
            metadata: [LogKey.event: "ratelimit.refused", LogKey.action: "deliver", LogKey.connectionID: "\(session.id)"]
        )
        session.outbox.close(.rateLimited, reason: "delivery rate limited")
    }

    /// `cursor.update`: replays every stored event after the cursor that matches the connection's
    /// subscriptions and that the gate lets it see, in log order, then hands over to live delivery
    /// without a gap (see ``Session``).
    func replay(_ session: Session, from cursor: String) async {
        let start: Int64
        do {
            switch try await gate.resolve(cursor: cursor, company: session.companyID) {
            case .after(let position): start = position
            case .expired:
                session.outbox.enqueue(
                    text: ServerMessage.error(code: .cursorExpired, message: "cursor is older than the retained history", now: Timestamp.now())
                )
                return
            case .malformed:
                session.outbox.enqueue(text: ServerMessage.error(code: .invalidMessage, message: "'cursor' is not a cursor", now: Timestamp.now()))
                return
            }
        } catch {
            session.outbox.enqueue(text: ServerMessage.error(code: .internal, message: "the event log is unavailable", now: Timestamp.now()))
            return
        }
        guard session.beginReplay() else {
            session.outbox.enqueue(text: ServerMessage.error(code: .invalidMessage, message: "a replay is already running", now: Timestamp.now()))
            return
        }
        // What the replay may make the connection hold, reserved before anything is read; given back when
        // the replay ends, whichever way.
        guard let reservation = await memoryBudget.reserve(configuration.replayReservationBytes, waitingAtMost: configuration.memoryBudgetPatience)
        else {
            session.abortReplay()
            refuseOverBudget(session)
            return
        }
        defer { reservation.release() }
        var position = start
        var replayed = 0
        do {
            while true {
                // Paced by the reader: a client far behind is replayed as fast as it reads, never dropped for it.
                guard !Task.isCancelled, await session.outbox.waitUntilWritable() else { break }
                let page = try await gate.read(
                    after: position,
                    company: session.companyID,
                    for: session.subject,
                    limit: configuration.replayPageSize,
                    matches: { session.matches($0) }
                )
                for event in page.events {
                    guard await session.outbox.waitUntilWritable() else {
                        // Not reading for 30 s (or closing): give up the replay; the client resumes by cursor later.
                        session.outbox.close(.slowConsumer)
                        break
                    }
                    if session.queueReplayed(position: event.position, frame: ByteBuffer(string: ServerMessage.event(envelope: event.envelope))) {
                        replayed += 1
                    }
                }
                if session.outbox.isClosing { break }
                position = page.lastExamined
                guard page.exhausted else { continue }
                // Read up to the snapshot's head: nothing of this company lies between.
                position = max(position, page.head)
                if session.finishReplay(at: position, message: ServerMessage.cursorResumed(cursor: String(position), replayed: replayed)) {
                    return
                }
            }
            session.abortReplay()
        } catch {
            session.abortReplay()
            logger.error(
                "replay failed",
                metadata: [LogKey.event: "websocket.error", LogKey.connectionID: "\(session.id)", LogKey.error: "\(error)"]
            )
            session.outbox.enqueue(text: ServerMessage.error(code: .internal, message: "replay failed", now: Timestamp.now()))
        }
    }

    /// A replay the memory budget cannot take now: the client is told and closed with 1013 (transient), so
    /// it reconnects with backoff and resumes from the same cursor.
    private func refuseOverBudget(_ session: Session) {
        logger.warning(
            "replay refused: memory budget exhausted",
            metadata: [LogKey.event: "websocket.error", LogKey.connectionID: "\(session.id)", "budget_bytes": "\(memoryBudget.limitBytes)"]
        )
        metrics.websocketErrors.increment()
        session.outbox.enqueue(
            text: ServerMessage.error(code: .unavailable, message: "the gateway is busy: reconnect and resume from your cursor", now: Timestamp.now())
        )
        session.outbox.close(.tryAgainLater, reason: "server busy, try again later")
    }
}
