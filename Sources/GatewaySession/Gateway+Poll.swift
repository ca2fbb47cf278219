import CoreMetrics
public import GatewayModel
import Logging
public import PolicyEnforcement
import Synchronization

extension Gateway {
    /// A long-poll request (SPEC §4), already parsed from the query.
    public struct PollRequest: Sendable {
        /// The patterns polled.
        public var topics: [String]
        /// Resume after this cursor; `nil` starts at the live head.
        public var cursor: String?
        /// How long to wait for the first event; 0 answers at once.
        public var timeout: Duration
        /// The most events to return (1-1000).
        public var limit: Int
        /// `company_id` from the query: must match the token's company; names the company for a service token.
        public var companyID: CompanyID?

        /// Creates a request.
        public init(topics: [String], cursor: String?, timeout: Duration, limit: Int, companyID: CompanyID?) {
            self.topics = topics
            self.cursor = cursor
            self.timeout = timeout
            self.limit = limit
            self.companyID = companyID
        }
    }

    /// The answer to a poll: the events (already encoded envelopes, redacted for the poller), the cursor to
    /// send next, and whether more were pending; or a refusal the transport maps to a status.
    public typealias PollResult = Result<PolledEvents, GateRefusal>

    /// A poll's 200 answer.
    public struct PolledEvents: Sendable {
        /// The envelopes, in log order.
        public var events: [String]
        /// The cursor to resume after (always present, SPEC §4).
        public var cursor: String
        /// Whether more than `limit` events (or more than the byte budget) were pending.
        public var hasMore: Bool
        /// The answer's bytes held against the memory budget: the transport releases it once the answer
        /// has gone to the socket (or the connection is gone).
        public var reservation: MemoryReservation?
    }

    /// Long-polls: returns at once when events after the cursor match, otherwise waits up to the
    /// timeout for the first. The returned cursor always moves past everything examined, so a client
    /// that stores it never misses an event and never re-reads the ones it was not allowed to see.
    public func poll(_ principal: Principal, _ request: PollRequest) async -> PollResult {
        let permit: PolicyGate.PollPermit
        switch await gate.poll(principal, topics: request.topics, companyID: request.companyID) {
        case .failure(let refusal):
            metrics.longpollErrors.increment()
            return .failure(refusal)
        case .success(let allowed): permit = allowed
        }
        var position: Int64
        do {
            if let cursor = request.cursor {
                switch try await gate.resolve(cursor: cursor, company: permit.company) {
                case .after(let after): position = after
                case .expired: return .failure(GateRefusal(.cursorExpired, "cursor is older than the retained history"))
                case .malformed: return .failure(GateRefusal(.invalidCursor, "'cursor' is not a cursor of this gateway"))
                }
            } else {
                position = try await gate.head()
            }
        } catch {
            metrics.longpollErrors.increment()
            return .failure(GateRefusal(.unavailable, "the event log is unavailable"))
        }
        let deadline = ContinuousClock.now + request.timeout
        // Rows read per query, and the envelope bytes one answer may carry: a poll never holds more than a
        // few megabytes, whatever `limit` and the event sizes (the rest waits behind `has_more`).
        let pageSize = 200
        var found: [String] = []
        var foundBytes = 0
        var reservation: MemoryReservation?
        do {
            while true {
                let generation = pollWaiters.generation(of: permit.company)
                let page = try await gate.read(after: position, company: permit.company, for: permit.subject, limit: pageSize) { type in
                    permit.patterns.contains { $0.matches(type) }
                }
                for event in page.events {
                    let size = event.envelope.utf8.count
                    var fits = found.count < request.limit && (found.isEmpty || foundBytes + size <= configuration.maxPollBytes)
                    if fits { fits = await reserve(Self.answerBytes(size), into: &reservation, waiting: found.isEmpty) }
                    if !fits {
                        guard !found.isEmpty else {
                            metrics.longpollErrors.increment()
                            return .failure(GateRefusal(.unavailable, "the gateway is at its memory budget: retry shortly"))
                        }
                        // Resume just before this event: past everything examined before it, seen or not.
                        return .success(PolledEvents(events: found, cursor: String(event.resumeBefore), hasMore: true, reservation: reservation))
                    }
                    found.append(event.envelope)
                    foundBytes += size
                }
                // Past every event examined, delivered or not.
                position = page.lastExamined
                guard page.exhausted else { continue }
                // Nothing of this company lies between the last event read and the snapshot's head.
                position = max(position, page.head)
                if !found.isEmpty {
                    return .success(PolledEvents(events: found, cursor: String(position), hasMore: false, reservation: reservation))
                }
                if ContinuousClock.now >= deadline || Task.isCancelled || shuttingDown.load(ordering: .acquiring) {
                    return .success(PolledEvents(events: [], cursor: String(position), hasMore: false, reservation: nil))
                }
                await pollWaiters.wait(for: permit.company, after: generation, until: deadline)
            }
        } catch {
            metrics.longpollErrors.increment()
            logger.error("poll failed", metadata: [LogKey.event: "longpoll.error", LogKey.error: "\(error)"])
            return .failure(GateRefusal(.unavailable, "the event log is unavailable"))
        }
    }

    /// What an envelope of `size` bytes costs the budget in an answer: the envelope, its copy in the body,
    /// and the body's power-of-two buffer.
    static func answerBytes(_ size: Int) -> Int { 3 * size + 64 }

    /// Adds `bytes` to a poll's reservation; the first event of an answer may wait for budget, later ones
    /// only take what is free (the answer ends there, with `has_more`).
    private func reserve(_ bytes: Int, into reservation: inout MemoryReservation?, waiting: Bool) async -> Bool {
        if let reservation { return memoryBudget.grow(reservation, by: bytes) }
        reservation =
            waiting
            ? await memoryBudget.reserve(bytes, waitingAtMost: configuration.memoryBudgetPatience)
            : memoryBudget.reserveWithoutWaiting(bytes)
        return reservation != nil
    }
}
