import Foundation
import GatewayModel
import GatewayServer
import Testing

/// Region residency (SPEC §6.5) with two nodes of different regions over the same event log: each
/// node connects, stores, replays and polls only the companies whose `allowed_regions` hold its region.
@Suite("Region residency")
struct ResidencyTests {
    @Test(
        "two nodes over the same data: each refuses the other region's companies (4003 naming the home region, 403 on publish and poll), stores and replays only its own"
    )
    func twoRegions() async throws {
        let dataDir = TestServer.temporaryDirectory()
        let european: (inout ServerConfiguration) -> Void = { $0.nodeRegion = "eu-west-1" }
        try await withServer(dataDir: dataDir) { us in
            try await withServer(dataDir: dataDir, european) { eu in
                let service = await Tokens.service()
                let euUser = await Tokens.hs256(company: "456", roles: ["sales"])
                let usUser = await Tokens.hs256(company: "123", roles: ["sales"])

                // Connections: each node refuses the other region's company, naming its home region.
                let refusedEU = try await RawWebSocket.refusal(port: us.port, path: "/ws?token=\(euUser)")
                #expect(refusedEU.code == 4003 && refusedEU.reason.contains("eu-west-1"))
                let refusedUS = try await RawWebSocket.refusal(port: eu.port, path: "/ws?token=\(usUser)")
                #expect(refusedUS.code == 4003 && refusedUS.reason.contains("us-east-1"))

                // Publishing: refused (and so never stored) by the node that may not hold the data.
                let notServed = try await TestHTTP.publish(us, token: service, type: "deal.stage.updated", company: "456")
                #expect(notServed.status == 403 && (notServed.json["error"] as? [String: Any])?["code"] as? String == "region_not_served")
                #expect(try await TestHTTP.publish(eu, token: service, type: "deal.stage.updated", company: "123").status == 403)
                let stored = try await TestHTTP.publish(eu, token: service, type: "deal.stage.updated", company: "456", extra: ["n": 1])
                #expect(stored.status == 202)
                #expect(try await TestHTTP.publish(us, token: service, type: "deal.stage.updated", company: "123").status == 202)

                // Replay on the EU node: the EU company's event, tagged with its home region.
                let socket = try await TestSocket(url: eu.ws + "/ws?token=\(euUser)")
                _ = try await socket.next(type: "connection.established")
                try await socket.send(json: ["type": "subscribe", "topics": ["deal.stage.*"]])
                _ = try await socket.next(type: "subscription.confirmed")
                try await socket.send(json: ["type": "cursor.update", "cursor": "0"])
                let replayed = try #require(try await socket.next(type: "event")["data"] as? [String: Any])
                #expect(replayed["event_id"] as? String == stored.json["event_id"] as? String)
                #expect((replayed["metadata"] as? [String: Any])?["region"] as? String == "eu-west-1")
                await socket.close()

                // Polls: only on the company's own region's node.
                let euPoll = "/api/realtime/poll/?topics=deal.stage.*&timeout=0&cursor=0"
                let own = try await TestHTTP.get(eu.http + euPoll, token: euUser)
                #expect(own.status == 200 && (own.json["events"] as? [Any])?.count == 1)
                #expect(try await TestHTTP.get(us.http + euPoll, token: euUser).status == 403)
                #expect(try await TestHTTP.get(eu.http + euPoll, token: usUser).status == 403)
                let usOwn = try await TestHTTP.get(us.http + euPoll, token: usUser)
                #expect(usOwn.status == 200 && (usOwn.json["events"] as? [Any])?.count == 1)
            }
        }
    }
}
