public import GatewayModel

/// A message from a WebSocket client (SPEC §3, the reference's shapes).
public enum ClientMessage: Sendable, Equatable {
    case subscribe(topics: [String])
    case unsubscribe(topics: [String])
    case cursorUpdate(cursor: String)
    case ping
    case authRefresh(token: String)
    /// `dashboard.subscribe` (admin only): one `dashboard.snapshot` a second for `/dashboard`.
    case dashboardSubscribe

    /// Why a frame is not a usable message: the `error` code and message to answer with.
    public struct Problem: Error, Sendable, Equatable {
        /// `invalid_message` or `unknown_type`.
        public var code: ErrorCode
        /// Human-readable, never echoing a token.
        public var message: String
    }

    /// The most topics one subscribe or unsubscribe may name.
    public static let maximumTopics = 100

    /// Parses one text frame.
    public static func parse(_ text: String) -> Result<ClientMessage, Problem> {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch {
            return .failure(Problem(code: .invalidMessage, message: "message is not valid JSON: \(error)"))
        }
        guard case .object(let object) = value else {
            return .failure(Problem(code: .invalidMessage, message: "message is not a JSON object"))
        }
        guard case .string(let type)? = object["type"] else {
            return .failure(Problem(code: .invalidMessage, message: "message has no string field 'type'"))
        }
        switch type {
        case "subscribe", "unsubscribe":
            guard case .array(let items)? = object["topics"] else {
                return .failure(Problem(code: .invalidMessage, message: "'topics' must be an array of strings"))
            }
            var topics: [String] = []
            for item in items {
                guard case .string(let topic) = item else {
                    return .failure(Problem(code: .invalidMessage, message: "'topics' must be an array of strings"))
                }
                topics.append(topic)
            }
            guard !topics.isEmpty, topics.count <= maximumTopics else {
                return .failure(Problem(code: .invalidMessage, message: "'topics' must name 1-\(maximumTopics) topics"))
            }
            return .success(type == "subscribe" ? .subscribe(topics: topics) : .unsubscribe(topics: topics))
        case "cursor.update":
            switch object["cursor"] {
            case .string(let cursor)?: return .success(.cursorUpdate(cursor: cursor))
            case .number(let number)? where (number.int64Value ?? -1) >= 0:
                // A log position written as a number (`-0` reads as `0`).
                return .success(.cursorUpdate(cursor: String(number.int64Value ?? 0)))
            default: return .failure(Problem(code: .invalidMessage, message: "'cursor' must be a string"))
            }
        case "ping":
            return .success(.ping)
        case "auth.refresh":
            guard case .string(let token)? = object["token"] else {
                return .failure(Problem(code: .invalidMessage, message: "'token' must be a string"))
            }
            return .success(.authRefresh(token: token))
        case "dashboard.subscribe":
            return .success(.dashboardSubscribe)
        default:
            return .failure(Problem(code: .unknownType, message: "unknown message type"))
        }
    }
}
