public import GatewayModel

/// Server → client messages, encoded once as JSON text (SPEC §3; the reference's shapes).
public enum ServerMessage {
    /// `connection.established`.
    public static func established(
        userID: String,
        companyID: CompanyID?,
        connectionID: String,
        region: String,
        policyVersion: String,
        now: String
    ) -> String {
        var json = JSONWriter()
        json.raw(#"{"type":"connection.established","data":{"user_id":"#)
        // Numeric user ids go out as numbers, as in the reference (`"user_id": 123`).
        if let number = Int64(userID), String(number) == userID { json.integer(number) } else { json.string(userID) }
        json.raw(#","company_id":"#)
        if let companyID { json.string(companyID.rawValue) } else { json.raw("null") }
        json.raw(#","server_time":"#)
        json.string(now)
        json.raw(#","connection_id":"#)
        json.string(connectionID)
        json.raw(#","region":"#)
        json.string(region)
        json.raw(#","policy_version":"#)
        json.string(policyVersion)
        json.raw("}}")
        return json.text
    }

    /// `subscription.confirmed` or `unsubscription.confirmed`.
    public static func topics(_ type: String, _ topics: [String], now: String) -> String {
        var json = JSONWriter()
        json.raw(#"{"type":"#)
        json.string(type)
        json.raw(#","data":{"topics":["#)
        for (index, topic) in topics.enumerated() {
            if index > 0 { json.raw(",") }
            json.string(topic)
        }
        json.raw(#"],"timestamp":"#)
        json.string(now)
        json.raw("}}")
        return json.text
    }

    /// `error`, with the optional topic and `retry_after` (seconds).
    public static func error(code: ErrorCode, message: String, topic: String? = nil, retryAfter: Double? = nil, now: String) -> String {
        var json = JSONWriter()
        json.raw(#"{"type":"error","data":{"message":"#)
        json.string(message)
        json.raw(#","code":"#)
        json.string(code.rawValue)
        if let topic {
            json.raw(#","topic":"#)
            json.string(topic)
        }
        if let retryAfter {
            json.raw(#","retry_after":"#)
            json.number((retryAfter * 1000).rounded(.up) / 1000)
        }
        json.raw(#","timestamp":"#)
        json.string(now)
        json.raw("}}")
        return json.text
    }

    /// `pong`.
    public static func pong(now: String) -> String { #"{"type":"pong","data":{"timestamp":"\#(now)"}}"# }

    /// `cursor.resumed`.
    public static func cursorResumed(cursor: String, replayed: Int) -> String {
        var json = JSONWriter()
        json.raw(#"{"type":"cursor.resumed","data":{"cursor":"#)
        json.string(cursor)
        json.raw(#","replayed":"#)
        json.integer(Int64(replayed))
        json.raw("}}")
        return json.text
    }

    /// `auth.refreshed`: the new token's expiry.
    public static func authRefreshed(expiresAt: String) -> String { #"{"type":"auth.refreshed","data":{"expires_at":"\#(expiresAt)"}}"# }

    /// `event`: wraps a stored envelope without re-encoding it.
    public static func event(envelope: String) -> String { #"{"type":"event","data":"# + envelope + "}" }
}
