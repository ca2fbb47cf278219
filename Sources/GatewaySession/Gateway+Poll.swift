import CoreMetrics
import EventBus
import Foundation
public import GatewayModel
import Logging
import NIOCore
import PolicyEngine
import PolicyLanguage
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

    /// The answer to a poll.
    public enum PollResult: Sendable {
        /// 200: the events (already encoded envelopes, redacted for the poller), the cursor to send next,
        /// and whether more were pending.
        case events([String], cursor: String, hasMore: Bool)
        /// Refused with status, code and message; `rateLimit` for 429.
        case refused(status: Int, code: String, message: String, rateLimit: RateLimitOutcome?)
    }

    /// Long-polls: returns at once when events after the cursor match, otherwise waits up to the
    /// timeout for the first. The returned cursor always moves past everything examined, so a client
    /// that stores it never misses an event and never re-reads the ones it was not allowed to see.
    public func poll(_ principal: Principal, _ request: PollRequest) async -> PollResult {
        let evaluator = self.evaluator
        let subject = evaluator.subject(for: principal)
        var trace: DecisionTrace? = nil
        let decision = evaluator.poll(subject, topics: request.topics, trace: &trace)
        audit(
            AuditedDecision(
                action: .poll,
                reason: decision.reason,
                location: decision.location,
                company: principal.companyID,
                topic: request.topics.joined(separator: ",")
            ),
            policyVersion: evaluator.policy.version
        )
        if decision.isAllowed, let shadow = evaluator.shadow {
            let wouldBe = shadow.poll(subject, topics: request.topics, trace: &trace)
            if !wouldBe.isAllowed {
                auditShadow(
                    AuditedDecision(
                        action: .poll,
                        reason: wouldBe.reason,
                        location: wouldBe.location,
                        company: principal.companyID,
                        topic: request.topics.joined(separator: ",")
                    ),
                    policyVersion: evaluator.policy.version
                )
            }
        }
        guard decision.isAllowed else {
            metrics.longpollErrors.increment()
            return .refused(status: decision.reason.httpStatus, code: decision.reason.rawValue, message: decision.message, rateLimit: nil)
        }
        guard let company = principal.companyID else {
            return .refused(status: 403, code: "company_missing", message: "long-polling needs a token bound to a company", rateLimit: nil)
        }
        if let asked = request.companyID, asked != company {
            return .refused(status: 403, code: "company_mismatch", message: "company_id does not match the token's company", rateLimit: nil)
        }
        if let refusal = await acquire(decision.limits) {
            metrics.longpollErrors.increment()
            return .refused(status: 429, code: "rate_limited", message: "rate limit exceeded", rateLimit: refusal)
        }
        let patterns = request.topics.compactMap { try? TopicPattern($0) }
        var position: Int64
        do {
            if let cursor = request.cursor {
                switch try await log.resolve(cursor: cursor, company: company) {
                case .after(let after): position = after
                case .expired:
                    return .refused(status: 410, code: "cursor_expired", message: "cursor is older than the retained history", rateLimit: nil)
                case .malformed:
                    return .refused(status: 400, code: "invalid_cursor", message: "'cursor' is not a cursor of this gateway", rateLimit: nil)
                }
            } else {
                position = try await log.head()
            }
        } catch {
            metrics.longpollErrors.increment()
            return .refused(status: 503, code: "unavailable", message: "the event log is unavailable", rateLimit: nil)
        }
        let deadline = ContinuousClock.now + request.timeout
        // Rows read per query, and the envelope bytes one answer may carry: a poll never holds more than a
        // few megabytes, whatever `limit` and the event sizes (the rest waits behind `has_more`).
        let pageSize = 200
        var found: [String] = []
        var foundBytes = 0
        do {
            while true {
                let generation = pollWaiters.generation(of: company)
                let page = try await log.read(after: position, company: company, limit: pageSize)
                // A reload during the wait: decide with the policy now in force, and the principal resolved against it.
                let evaluator = self.evaluator
                let subject = evaluator.current(subject)
                var hasMore = false
                for event in page.events {
                    let notice = Self.isNotice(event)
                    if notice || patterns.contains(where: { $0.matches(event.eventType) }) {
                        if !isForgotten(event), let mask = notice ? 0 : evaluator.redactionMask(for: event, to: subject) {
                            if found.count == request.limit || (!found.isEmpty && foundBytes + event.envelope.utf8.count > configuration.maxPollBytes)
                            {
                                hasMore = true
                                break
                            }
                            var variants = EventVariants(event: event, policy: evaluator.policy)
                            if let envelope = variants.envelope(redacting: mask) {
                                found.append(envelope)
                                foundBytes += envelope.utf8.count
                            }
                        }
                    }
                    // Past every event examined, delivered or not.
                    position = event.position
                }
                if hasMore { return .events(found, cursor: String(position), hasMore: true) }
                let exhausted = page.events.count < pageSize
                guard exhausted else { continue }
                // Nothing of this company lies between the last event read and the snapshot's head.
                position = max(position, page.head)
                if !found.isEmpty { return .events(found, cursor: String(position), hasMore: false) }
                if ContinuousClock.now >= deadline || Task.isCancelled || shuttingDown.load(ordering: .acquiring) {
                    return .events([], cursor: String(position), hasMore: false)
                }
                await pollWaiters.wait(for: company, after: generation, until: deadline)
            }
        } catch {
            metrics.longpollErrors.increment()
            logger.error("poll failed", metadata: ["event": "longpoll.error", "error": "\(error)"])
            return .refused(status: 503, code: "unavailable", message: "the event log is unavailable", rateLimit: nil)
        }
    }
}
