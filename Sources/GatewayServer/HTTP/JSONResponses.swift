import GatewayModel
import HTTPTypes
import Hummingbird
import PolicyEnforcement

/// JSON responses and the SPEC §2 error shape `{"error":{"code","message"}}`.
enum JSONResponse {
    static func ok(_ json: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    /// The error response of `code`, with the status the ``ErrorCode`` table gives it.
    static func error(_ code: ErrorCode, message: String, rateLimit: RateLimitOutcome? = nil) -> Response {
        error(status: code.httpStatus, code: code.rawValue, message: message, rateLimit: rateLimit)
    }

    /// A refusal of the gate.
    static func error(_ refusal: GateRefusal) -> Response {
        error(refusal.code, message: refusal.message, rateLimit: refusal.rateLimit)
    }

    /// An error response with any status and code (for the errors Hummingbird raises itself).
    static func error(status: HTTPResponse.Status, code: String, message: String, rateLimit: RateLimitOutcome? = nil) -> Response {
        var json = JSONWriter()
        json.raw(#"{"error":{"code":"#)
        json.string(code)
        json.raw(#","message":"#)
        json.string(message)
        if let rateLimit {
            json.raw(#","retry_after":"#)
            json.integer(Int64(rateLimit.retryAfterSeconds.rounded(.up)))
        }
        json.raw("}}")
        var headers: HTTPFields = [:]
        if let rateLimit { headers = rateLimitHeaders(rateLimit) }
        // Unavailable (a backend or the memory budget): the client may retry shortly, never a 202 then lost.
        if status == .serviceUnavailable && headers[.retryAfter] == nil { headers[.retryAfter] = "1" }
        return ok(json.text, status: status, headers: headers)
    }

    /// `Retry-After` and the `RateLimit-*` headers of SPEC §2.
    static func rateLimitHeaders(_ outcome: RateLimitOutcome) -> HTTPFields {
        var headers: HTTPFields = [:]
        headers[.retryAfter] = String(max(1, Int(outcome.retryAfterSeconds.rounded(.up))))
        headers[HTTPField.Name("RateLimit-Limit")!] = String(outcome.limit)
        headers[HTTPField.Name("RateLimit-Remaining")!] = String(max(0, outcome.remaining))
        headers[HTTPField.Name("RateLimit-Reset")!] = String(max(0, Int((Double(outcome.resetAfterNanos) / 1e9).rounded(.up))))
        return headers
    }
}
