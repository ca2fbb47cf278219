public import GatewayModel

/// The reference document's event bus (publish / subscribe / unsubscribe / close): how an event that
/// is already in the log reaches the fan-out of every gateway node. Channels are
/// `EVENT_BUS_CHANNEL_PREFIX.event_type`; a subscription channel ending in `.>` matches every channel
/// under that prefix (NATS' convention).
///
/// Handlers receive events in log order, one at a time; a handler that takes its time holds back the
/// next event (backpressure), so a bus must buffer or re-read from the log rather than skip.
public protocol EventBusBackend: Sendable {
    /// Publishes `event` on `channel`.
    func publish(channel: String, event: StoredEvent) async throws

    /// Calls `handler` for every event published on one of `channels`.
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
