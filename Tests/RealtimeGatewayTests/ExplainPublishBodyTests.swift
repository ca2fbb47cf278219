import Foundation
import GatewayTesting
import Testing

/// `policy explain --action publish` parses its event file with the server's own publish-body parser, so a
/// body the server refuses is refused here too, with the same message (the server side is checked in
/// `GatewayServerTests.PublishBodyTests` against the same list).
@Suite("Explain uses the publish parser")
struct ExplainPublishBodyTests {
    @Test("every body the publish endpoint refuses, explain refuses with the same message (exit 2)")
    func refusedLikeTheServer() async throws {
        #expect(!PublishBodyFixtures.refused.isEmpty)
        for refused in PublishBodyFixtures.refused {
            let folder = try Gateway.folder(["event.json": refused.body])
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let run = try await Gateway.run([
                "policy", "explain", "--principal", #"{"user_id":"svc","roles":["service"]}"#, "--action", "publish", "--event",
                folder + "/event.json",
            ])
            #expect(run.status == 2, "\(refused)")
            #expect(run.stderr.contains("is not a publish body: \(refused.message)"), "\(refused): \(run.stderr)")
        }
    }

    @Test("a body the server accepts is decided by explain")
    func acceptedBodyIsDecided() async throws {
        let folder = try Gateway.folder([
            "event.json": #"{"event_type":"deal.stage.updated","data":{"company_id":"123","contact_id":"c-1"},"idempotency_key":"k-1"}"#
        ])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let run = try await Gateway.run([
            "policy", "explain", "--principal", #"{"user_id":"svc","roles":["service"]}"#, "--action", "publish", "--event",
            folder + "/event.json",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("allow"))
    }
}
