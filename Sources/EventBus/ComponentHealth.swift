/// What a backend part reports when asked whether it can serve: `/health` and the composition root read it.
public enum ComponentHealth: Sendable, Hashable, CustomStringConvertible {
    /// The part answered a real request just now.
    case healthy
    /// The part cannot serve; the reason names what failed (never a secret or a payload).
    case unhealthy(String)

    /// Whether the part can serve.
    public var isHealthy: Bool { self == .healthy }

    public var description: String {
        switch self {
        case .healthy: "healthy"
        case .unhealthy(let reason): "unhealthy: \(reason)"
        }
    }
}
