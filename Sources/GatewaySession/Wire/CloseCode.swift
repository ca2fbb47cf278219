/// Every WebSocket close code the gateway sends (SPEC §3), with its default reason and whether a client
/// may reconnect with the same token. One table: the transports and sessions name these cases, never numbers.
///
/// | code | case | reason | after it |
/// |---|---|---|---|
/// | 1000 | `normal` | | the client closed |
/// | 1001 | `goingAway` | server shutting down / unanswered pings | reconnect with backoff, then `cursor.update` |
/// | 1002 | `protocolError` | protocol error | reconnect |
/// | 1007 | `invalidPayload` | invalid UTF-8 | fix the client |
/// | 1006 | `abnormal` | (never on the wire: the connection ended without a close frame) | reconnect |
/// | 1008 | `slowConsumer` | slow consumer | reconnect, then `cursor.update` |
/// | 1009 | `messageTooBig` | message too big | fix the client |
/// | 1013 | `tryAgainLater` | connection limit reached | reconnect with backoff |
/// | 4001 | `unauthorized` | missing, invalid or expired token | terminal: get a new token |
/// | 4003 | `forbidden` | company or region not allowed | terminal |
/// | 4008 | `policyViolation` | too many invalid messages | terminal |
/// | 4029 | `rateLimited` | rate limit abuse | reconnect after a pause |
public enum CloseCode: UInt16, Sendable, CaseIterable {
    case normal = 1000
    case goingAway = 1001
    case protocolError = 1002
    case abnormal = 1006
    case invalidPayload = 1007
    case slowConsumer = 1008
    case messageTooBig = 1009
    case tryAgainLater = 1013
    case unauthorized = 4001
    case forbidden = 4003
    case policyViolation = 4008
    case rateLimited = 4029

    /// The reason sent when the caller gives none (≤ 32 bytes, never a token).
    public var defaultReason: String {
        switch self {
        case .normal, .abnormal: ""
        case .goingAway: "server shutting down"
        case .protocolError: "protocol error"
        case .invalidPayload: "invalid UTF-8"
        case .slowConsumer: "slow consumer"
        case .messageTooBig: "message too big"
        case .tryAgainLater: "connection limit reached"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .policyViolation: "too many invalid messages"
        case .rateLimited: "rate limited"
        }
    }

    /// Whether a client must not reconnect with the same token (SPEC §3: 4001, 4003, 4008).
    public var isTerminal: Bool { self == .unauthorized || self == .forbidden || self == .policyViolation }
}

extension Outbox {
    /// Closes with `code` and `reason` (its default reason when `nil`), cut to 32 bytes.
    public func close(_ code: CloseCode, reason: String? = nil) {
        let text = reason ?? code.defaultReason
        close(code: code.rawValue, reason: String(text.utf8.prefix(32)) ?? "")
    }
}
