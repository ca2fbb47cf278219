import CoreMetrics
import Synchronization

/// The SPEC §9 series the gate counts: policy decisions by action, result and reason, rate-limit
/// refusals and published events. Labelled series are created on first use and cached.
final class GateMetrics: Sendable {
    let rateLimitRefused = Counter(label: "ratelimit_refused_total")
    let published = Counter(label: "event_published_total")
    /// Events handed to the bus, readable (for the dashboard's rates; the Prometheus counter is not).
    let publishedCount = Atomic<Int>(0)
    private let decisions = Mutex<[String: Counter]>([:])

    /// Counts `count` decisions of `action` with `reason` (`allowed` for an allow); `result` defaults to
    /// `allow` or `deny` by the reason (`shadow_deny` for a shadow rule's would-be refusal).
    func decision(action: String, reason: String, result: String? = nil, count: Int = 1) {
        let result = result ?? (reason == "allowed" ? "allow" : "deny")
        let key = action + "|" + result + "|" + reason
        let counter = decisions.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: "policy_decisions_total", dimensions: [("action", action), ("result", result), ("reason", reason)])
            cache[key] = counter
            return counter
        }
        counter.increment(by: Int64(count))
    }
}
