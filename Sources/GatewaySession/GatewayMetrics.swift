import Metrics

/// The SPEC §9 series the sessions count (the gate counts decisions, refusals and publishes).
final class GatewayMetrics: Sendable {
    let connected = Counter(label: "websocket_connected_total")
    let disconnected = Counter(label: "websocket_disconnected_total")
    let active = Gauge(label: "websocket_active")
    let delivered = Counter(label: "event_delivered_total")
    let dropped = Counter(label: "event_dropped_total")
    let websocketErrors = Counter(label: "websocket_error_total")
    let longpollErrors = Counter(label: "longpoll_error_total")
    let subscriptionErrors = Counter(label: "subscription_error_total")
    let deliveryLatency = Metrics.Timer(label: "delivery_latency_seconds", preferredDisplayUnit: .seconds)
}
