import GatewayTesting
import NIOHTTP1
import Testing

/// The server refuses every body of the shared list with 400 `invalid_message` and the parser's message;
/// `RealtimeGatewayTests` checks `policy explain` against the same list.
@Suite("Publish bodies", .serialized)
struct PublishBodyTests {
    @Test("a body the publish parser refuses is answered 400 with its message", arguments: [PublishBodyFixtures.refused])
    func refused(_ cases: [PublishBodyFixtures.Refused]) async throws {
        try await withServer { server in
            let service = await Tokens.service()
            for refused in cases {
                let reply = try await TestHTTP.request(.POST, server.http + "/api/realtime/publish/", token: service, body: refused.body)
                let error = reply.json["error"] as? [String: Any]
                #expect(reply.status == 400, "\(refused)")
                #expect(error?["code"] as? String == "invalid_message", "\(refused)")
                #expect(error?["message"] as? String == refused.message, "\(refused)")
            }
        }
    }
}
