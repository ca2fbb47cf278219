import EventBus
public import GatewayModel
public import PolicyEngine

extension PolicyGate {
    /// A stored event a reader may see, as it may see it.
    public struct VisibleEvent: Sendable {
        /// Its log position (the cursor after it).
        public var position: Int64
        /// The position of the event read just before it in the same page (or the page's start): a
        /// reader that stops before this event resumes there without missing anything.
        public var resumeBefore: Int64
        /// The envelope, redacted for the reader.
        public var envelope: String
    }

    /// One page of the log as one reader sees it.
    public struct VisiblePage: Sendable {
        /// The events the reader may see, in log order.
        public var events: [VisibleEvent]
        /// The position of the last event examined, seen or not (the start when none was).
        public var lastExamined: Int64
        /// The log's head when the page was read: no event of the company lies between the page's last
        /// event and it when ``exhausted``.
        public var head: Int64
        /// Whether the page ended before `limit` events: the reader has caught up with ``head``.
        public var exhausted: Bool
    }

    /// Reads up to `limit` events of `company` after `position`, keeping those that `matches` (by event
    /// type; erasure notices always pass) and that the policy now in force lets `subject` see (isolation,
    /// residency, erasure), redacted for it. Replay and long-polling read the log only through here.
    public func read(
        after position: Int64,
        company: CompanyID,
        for subject: Subject,
        limit: Int,
        matches: (String) -> Bool
    ) async throws -> VisiblePage {
        let page = try await log.read(after: position, company: company, limit: limit)
        // A reload during a long read: decide with the policy now in force, the reader resolved against it.
        let evaluator = self.evaluator
        let subject = evaluator.current(subject)
        var visible: [VisibleEvent] = []
        var previous = position
        for event in page.events {
            defer { previous = event.position }
            let notice = Self.isNotice(event)
            guard notice || matches(event.eventType), !forgotten.contains(event) else { continue }
            let mask: UInt64
            if notice {
                mask = 0
            } else {
                let verdict = evaluator.deliver(subject, evaluator.route(eventType: event.eventType, companyID: event.companyID))
                guard verdict.isAllowed else { continue }
                mask = verdict.redactionMask
            }
            var variants = EnvelopeVariants(event: event, policy: evaluator.policy)
            guard let envelope = variants.envelope(redacting: mask) else { continue }
            visible.append(VisibleEvent(position: event.position, resumeBefore: previous, envelope: envelope))
        }
        // Entries the log passed over (it could not decode them) count as examined; the reader goes on after them.
        return VisiblePage(
            events: visible,
            lastExamined: max(previous, page.scannedThrough ?? previous),
            head: page.head,
            exhausted: page.events.count < limit && page.scannedThrough == nil
        )
    }
}
