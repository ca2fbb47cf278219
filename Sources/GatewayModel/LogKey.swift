/// The structured-log metadata keys, declared once (swift-service-lifecycle's `LoggingConfiguration.Keys`).
/// `event` carries the SPEC §9 category; data goes in the other keys, never tokens, payloads or PII.
public enum LogKey {
    /// The SPEC §9 category (`websocket.connected`, `policy.decision`, ...).
    public static let event = "event"
    /// A WebSocket connection's id.
    public static let connectionID = "connection_id"
    /// A company id.
    public static let companyID = "company_id"
    /// A topic pattern or event type (comma-separated for several).
    public static let topic = "topic"
    /// Several topics.
    public static let topics = "topics"
    /// A policy action (`connect`, `subscribe`, `publish`, `poll`, `deliver`).
    public static let action = "action"
    /// `allow`, `deny` or `shadow_deny`.
    public static let result = "result"
    /// A reason code.
    public static let reason = "reason"
    /// `FILE:LINE:COLUMN` of the deciding rule.
    public static let rule = "rule"
    /// The active policy's version hash.
    public static let policyVersion = "policy_version"
    /// A rate limit's scope.
    public static let scope = "scope"
    /// A tenant plan.
    public static let plan = "plan"
    /// Whether a limit is a shadow limit.
    public static let shadow = "shadow"
    /// An event id.
    public static let eventID = "event_id"
    /// An event type.
    public static let eventType = "event_type"
    /// A region.
    public static let region = "region"
    /// An error's description.
    public static let error = "error"
    /// What started a policy reload (`file`, `signal`, `endpoint`).
    public static let trigger = "trigger"
    /// A backend part (`event_log`, `event_bus`, `rate_limits`).
    public static let component = "component"
    /// A limit asked for (in configuration).
    public static let requested = "requested"
    /// A limit in force.
    public static let limit = "limit"
    /// The process's descriptor limit (`RLIMIT_NOFILE`, soft).
    public static let descriptorLimit = "descriptor_limit"
}
