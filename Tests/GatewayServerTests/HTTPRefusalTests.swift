import GatewayModel
import NIOHTTP1
import Testing

@testable import GatewayServer

/// The guard's head checks and the socket budget's arithmetic, as values.
@Suite("HTTP refusals")
struct HTTPRefusalTests {
    func head(_ method: HTTPMethod = .GET, _ headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: "/ws", headers: HTTPHeaders(headers))
    }

    @Test("Content-Length: one decimal number within the body limit")
    func contentLength() {
        #expect(HTTPRefusal.check(head(.POST, [("Content-Length", "1024")]), maxBodyBytes: 1024) == nil)
        #expect(HTTPRefusal.check(head(.POST, [("Content-Length", "1025")]), maxBodyBytes: 1024)?.code == .payloadTooLarge)
        #expect(HTTPRefusal.check(head(.POST, [("Content-Length", "99999999999999999999999")]), maxBodyBytes: 1024)?.code == .payloadTooLarge)
        for bad in ["-1", "1e3", "", " 5", "5,5", "0x10"] {
            #expect(HTTPRefusal.check(head(.POST, [("Content-Length", bad)]), maxBodyBytes: 1024)?.code == .malformedRequest, "\(bad)")
        }
        #expect(HTTPRefusal.check(head(.POST, [("Content-Length", "5"), ("Content-Length", "5")]), maxBodyBytes: 1024)?.code == .malformedRequest)
        #expect(
            HTTPRefusal.check(head(.POST, [("Content-Length", "5"), ("Transfer-Encoding", "chunked")]), maxBodyBytes: 1024)?.code == .malformedRequest
        )
    }

    @Test("WebSocket handshakes: version 13 and one key")
    func webSocket() {
        let upgrade = [("Upgrade", "websocket"), ("Connection", "keep-alive, Upgrade")]
        let good = upgrade + [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]
        #expect(HTTPRefusal.check(head(.GET, good), maxBodyBytes: 1024) == nil)
        let version = HTTPRefusal.check(head(.GET, upgrade + [("Sec-WebSocket-Key", "k"), ("Sec-WebSocket-Version", "8")]), maxBodyBytes: 1024)
        #expect(version?.code == .upgradeRequired && version?.webSocketVersion == true)
        #expect(HTTPRefusal.check(head(.GET, upgrade + [("Sec-WebSocket-Version", "13")]), maxBodyBytes: 1024)?.code == .malformedRequest)
        // Not an upgrade llhttp or NIO would act on: left to the routes.
        #expect(HTTPRefusal.check(head(.GET, [("Upgrade", "websocket")]), maxBodyBytes: 1024) == nil)
        #expect(HTTPRefusal.asksForUpgrade(head(.GET, [("Upgrade", "h2c"), ("Connection", "upgrade")])))
        #expect(!HTTPRefusal.asksForUpgrade(head(.GET, [("Connection", "upgrade")])))
    }

    @Test("the socket budget fits the descriptor limit less the reserve, and admits up to its limit")
    func socketBudget() {
        #expect(SocketBudget.effectiveLimit(requested: 11_024, descriptors: 256, reserve: 128) == 128)
        #expect(SocketBudget.effectiveLimit(requested: 100, descriptors: 1_048_576, reserve: 128) == 100)
        #expect(SocketBudget.effectiveLimit(requested: 100, descriptors: 64, reserve: 128) == 1)
        #expect(SocketBudget.effectiveLimit(requested: 100, descriptors: nil, reserve: 128) == 100)
        let budget = SocketBudget(limit: 2)
        #expect(budget.admit() && budget.admit() && !budget.admit())
        budget.release()
        #expect(budget.admit() && budget.count == 2)
    }
}
