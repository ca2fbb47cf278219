import GatewayModel
import NIOCore
import NIOHTTP1

/// An answer ``HTTPRequestGuard`` gives in place of the gateway, after which it closes the connection: a
/// status, the SPEC's JSON error body `{"error":{"code","message"}}` and `Connection: close`.
struct HTTPRefusal: Sendable, Equatable {
    let code: ErrorCode
    let message: String
    /// Set on a refused WebSocket version (RFC 6455 §4.2.2): the version the server speaks.
    var webSocketVersion = false

    static let timedOutHeaders = HTTPRefusal(code: .requestTimeout, message: "the request's headers did not arrive in time")
    static let timedOutBody = HTTPRefusal(code: .requestTimeout, message: "the request's body did not arrive in time")
    static let headersTooLarge = HTTPRefusal(code: .headersTooLarge, message: "the request's headers are over the size or count limit")
    static let malformed = HTTPRefusal(code: .malformedRequest, message: "not a valid HTTP/1.1 request")

    static func bodyTooLarge(_ limit: Int) -> HTTPRefusal {
        HTTPRefusal(code: .payloadTooLarge, message: "the body is over \(limit) bytes")
    }

    /// The refusal of a request head the gateway must not see, or `nil` when it may go on. NIO's decoder
    /// (llhttp) has already refused what it can parse no further (both `Content-Length` and `Transfer-Encoding`,
    /// repeated or non-numeric lengths); these checks need the whole head.
    static func check(_ head: HTTPRequestHead, maxBodyBytes: Int) -> HTTPRefusal? {
        let lengths = head.headers["content-length"]
        if !lengths.isEmpty {
            guard !head.headers.contains(name: "transfer-encoding") else {
                return HTTPRefusal(code: .malformedRequest, message: "Content-Length and Transfer-Encoding together")
            }
            guard lengths.count == 1, let text = lengths.first, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                return HTTPRefusal(code: .malformedRequest, message: "Content-Length is not one decimal number")
            }
            // All digits: a number too large for Int is over any limit.
            guard let length = Int(text), length <= maxBodyBytes else { return bodyTooLarge(maxBodyBytes) }
        }
        if isWebSocketUpgrade(head) {
            guard head.headers["sec-websocket-version"] == ["13"] else {
                var refusal = HTTPRefusal(code: .upgradeRequired, message: "only WebSocket version 13 is supported")
                refusal.webSocketVersion = true
                return refusal
            }
            let keys = head.headers["sec-websocket-key"]
            guard keys.count == 1, let key = keys.first, !key.isEmpty else {
                return HTTPRefusal(code: .malformedRequest, message: "a WebSocket upgrade needs one Sec-WebSocket-Key")
            }
        }
        return nil
    }

    /// A `GET` asking for a WebSocket (`Upgrade: websocket`, `Connection: upgrade`), as NIO's upgrader reads one.
    static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.method == .GET && asksForUpgrade(head)
            && head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
    }

    /// Whether llhttp treats the request as an upgrade (it then parses nothing after it): `Upgrade` with
    /// `Connection: upgrade`, or `CONNECT`.
    static func asksForUpgrade(_ head: HTTPRequestHead) -> Bool {
        if head.method == .CONNECT { return true }
        return head.headers.contains(name: "upgrade")
            && head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    /// The response parts of this refusal.
    func responseParts() -> [HTTPServerResponsePart] {
        var json = JSONWriter()
        json.raw(#"{"error":{"code":"#)
        json.string(code.rawValue)
        json.raw(#","message":"#)
        json.string(message)
        json.raw("}}")
        let body = ByteBuffer(string: json.text)
        var headers = HTTPHeaders([
            ("content-type", "application/json"),
            ("content-length", String(body.readableBytes)),
            ("cache-control", "no-store"),
            ("connection", "close"),
        ])
        if webSocketVersion { headers.add(name: "sec-websocket-version", value: "13") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: code.httpStatusCode), headers: headers)
        return [.head(head), .body(.byteBuffer(body)), .end(nil)]
    }
}
