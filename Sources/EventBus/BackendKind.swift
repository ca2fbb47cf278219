/// Which family of backends serves the log, the bus and the limits (`EVENT_BUS_BACKEND`).
public enum BackendKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The embedded default: SQLite log, in-process bus and limits (one node).
    case memory
    /// Redis Streams, pub/sub and GCRA scripts, shared by every node.
    case redis
    /// NATS JetStream and core NATS, shared by every node.
    case nats
    /// Kafka: named by the reference document, not supported (the composition root refuses it clearly).
    case kafka

    public var description: String { rawValue }
}
