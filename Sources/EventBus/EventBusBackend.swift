public import GatewayModel

/// The reference document's event bus (publish / subscribe / unsubscribe / close): how an event that
/// is already in the log reaches the fan-out of every gateway node. Channels are
/// `EVENT_BUS_CHANNEL_PREFIX.event_type`; a subscription channel ending in `.>` matches every channel
/// under that prefix (NATS' convention).
///
/// Guarantees every implementation keeps:
/// - Positions come from the ``EventLog``: the bus carries each ``StoredEvent`` with the position the log
///   gave it and never assigns, changes or reorders positions. A networked bus ships
///   ``StoredEvent/encoded()`` and rebuilds it with ``StoredEvent/init(decoding:)``.
/// - Order: a subscription's handler sees the events of one publisher in the order they were published,
///   which is log order, because the publish pipeline publishes in log order.
/// - Backpressure: a handler is awaited; the next event reaches that subscription only after the handler
///   returned. The in-process bus runs handlers inside `publish`, with no task hop, so a slow handler slows
///   the publisher; a networked bus buffers per subscription and, when the buffer is full, drops the
///   subscription's live feed and resubscribes from the log (never a silent gap).
/// - After `close()`, `publish` and `subscribe` throw ``EventBusError/closed`` and `health()` is unhealthy.
public protocol EventBusBackend: BackendComponent {
    /// Publishes `event` on `channel`; returns once every in-process handler ran or the broker took it.
    func publish(channel: String, event: StoredEvent) async throws

    /// Calls `handler` for every event published on one of `channels`, one at a time, in publish order.
    func subscribe(_ channels: [String], handler: @escaping @Sendable (StoredEvent) async -> Void) async throws

    /// Stops delivering `channels`.
    func unsubscribe(_ channels: [String]) async throws

    /// Stops all delivery.
    func close() async
}

extension EventBusBackend {
    /// Whether a subscription `channel` covers a published channel.
    public static func channel(_ subscription: String, covers published: String) -> Bool {
        if subscription.hasSuffix(".>") {
            let prefix = subscription.dropLast(1)
            return published.hasPrefix(prefix) && published.count > prefix.count
        }
        return subscription == published
    }
}
