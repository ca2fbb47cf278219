public import GatewayModel
public import PolicyEnforcement
import Synchronization

extension Gateway {
    /// The answer to one publish: accepted (202) or refused with a code the transport maps to a status.
    public typealias PublishResult = Result<PolicyGate.Accepted, GateRefusal>

    static let shuttingDownRefusal = GateRefusal(.unavailable, "the gateway is shutting down; retry on another node with the same idempotency_key")

    /// Publishes one event given as the JSON body of `POST /api/realtime/publish/` (already parsed):
    /// the gate decides, limits, enriches and appends; this returns once the event is durable.
    public func publish(_ principal: Principal, body: JSONValue) async -> PublishResult {
        if shuttingDown.load(ordering: .acquiring) { return .failure(Self.shuttingDownRefusal) }
        return await gate.publish(principal, body: body)
    }

    /// Publishes a batch (`{"events":[...]}`): each event is decided on its own; the accepted ones are
    /// appended together, in the order given. Returns one result per event.
    public func publishBatch(_ principal: Principal, events: [JSONValue]) async -> [PublishResult] {
        if shuttingDown.load(ordering: .acquiring) { return events.map { _ in .failure(Self.shuttingDownRefusal) } }
        return await gate.publishBatch(principal, events: events)
    }
}
