import GatewayModel
import Logging
import PolicyEnforcement
import PolicyEngine
import Synchronization

extension Gateway {
    /// `dashboard.subscribe`: operators receive a `dashboard.snapshot` every second; others get `forbidden`.
    func subscribeDashboard(_ session: Session) {
        // The node's numbers and every tenant's refusals: for operators (admin, no company), not a company's admins.
        guard session.subject.isAdmin, session.subject.principal.companyID == nil else {
            session.outbox.enqueue(
                text: ServerMessage.error(
                    code: .forbidden,
                    message: "the dashboard needs an operator token (admin, no company)",
                    now: Timestamp.now()
                )
            )
            return
        }
        dashboardViewers.withLock { $0[session.id] = session }
        logger.info(
            "dashboard subscribed",
            metadata: [LogKey.event: "subscription.created", LogKey.connectionID: "\(session.id)", LogKey.topics: "dashboard"]
        )
    }

    /// Sends one `dashboard.snapshot` to every dashboard connection. `policy` is the policy status as
    /// a JSON object (version, last reload), which the server layer knows; rates are per second since
    /// the previous snapshot.
    public func pushDashboard(policy: String) {
        let viewers = dashboardViewers.withLock { Array($0.values) }
        guard !viewers.isEmpty else { return }
        let now = Timestamp.nowMillis()
        let published = gate.published
        let delivered = self.delivered.load(ordering: .relaxed)
        let (publishRate, deliveryRate) = dashboardRates.withLock { last -> (Double, Double) in
            defer { last = (now, published, delivered) }
            let seconds = Double(max(1, now - last.atMillis)) / 1000
            guard last.atMillis > 0 else { return (0, 0) }
            return (Double(published - last.published) / seconds, Double(delivered - last.delivered) / seconds)
        }
        let (refusals, recent) = gate.audit.snapshot
        var json = JSONWriter(capacity: 2048)
        json.raw(#"{"type":"dashboard.snapshot","data":{"timestamp":"#)
        json.string(Timestamp.rfc3339(millis: now))
        json.raw(#","region":"#)
        if let region = gate.configuration.nodeRegion { json.string(region.rawValue) } else { json.raw("null") }
        json.raw(#","connections":"#)
        json.integer(Int64(activeConnections))
        json.raw(#","published_total":"#)
        json.integer(Int64(published))
        json.raw(#","delivered_total":"#)
        json.integer(Int64(delivered))
        json.raw(#","publish_rate":"#)
        json.number((publishRate * 10).rounded() / 10)
        json.raw(#","delivery_rate":"#)
        json.number((deliveryRate * 10).rounded() / 10)
        json.raw(#","policy":"#)
        json.raw(policy)
        json.raw(#","refusals":{"#)
        for (index, key) in refusals.keys.sorted().enumerated() {
            if index > 0 { json.raw(",") }
            json.string(key)
            json.raw(":")
            json.integer(Int64(refusals[key] ?? 0))
        }
        json.raw(#"},"recent_decisions":["#)
        for (index, decision) in recent.reversed().enumerated() {
            if index > 0 { json.raw(",") }
            json.raw(#"{"at":"#)
            json.string(Timestamp.rfc3339(millis: decision.atMillis))
            json.raw(#","action":"#)
            json.string(decision.action)
            json.raw(#","result":"#)
            json.string(decision.result)
            json.raw(#","reason":"#)
            json.string(decision.reason)
            json.raw(#","rule":"#)
            if let rule = decision.rule { json.string(rule) } else { json.raw("null") }
            json.raw(#","topic":"#)
            if let topic = decision.topic { json.string(topic) } else { json.raw("null") }
            json.raw("}")
        }
        json.raw("]}}")
        let text = json.text
        for session in viewers { session.outbox.enqueue(text: text) }
    }
}
