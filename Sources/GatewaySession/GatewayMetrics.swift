import CoreMetrics
import EventBus
import Foundation
import GatewayModel
import Logging
import Metrics
import NIOCore
import PolicyEngine
import PolicyLanguage
import Synchronization

/// The SPEC §9 metrics, created once; labelled series are created on first use and cached.
final class GatewayMetrics: Sendable {
    let connected = Counter(label: "websocket_connected_total")
    let disconnected = Counter(label: "websocket_disconnected_total")
    let active = Gauge(label: "websocket_active")
    let published = Counter(label: "event_published_total")
    let delivered = Counter(label: "event_delivered_total")
    let dropped = Counter(label: "event_dropped_total")
    let websocketErrors = Counter(label: "websocket_error_total")
    let longpollErrors = Counter(label: "longpoll_error_total")
    let subscriptionErrors = Counter(label: "subscription_error_total")
    let rateLimitRefused = Counter(label: "ratelimit_refused_total")
    let deliveryLatency = Metrics.Timer(label: "delivery_latency_seconds", preferredDisplayUnit: .seconds)
    private let decisions = Mutex<[String: Counter]>([:])

    /// Counts `count` policy decisions of `action` with `reason` (`allowed` for an allow); `result`
    /// defaults to `allow` or `deny` by the reason (`shadow_deny` for a shadow rule's would-be refusal).
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
