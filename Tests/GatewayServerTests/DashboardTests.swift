import Foundation
import Testing

/// `/dashboard` and its feed: the page is served, and an admin connection receives a snapshot a second.
@Suite("Dashboard")
struct DashboardTests {
    @Test("GET /dashboard serves the page; an admin (also one without company) gets snapshots whose numbers follow the traffic; others are refused")
    func feed() async throws {
        try await withServer { server in
            let page = try await TestHTTP.get(server.http + "/dashboard")
            #expect(page.status == 200 && page.text.contains("dashboard.subscribe") && page.text.contains(#"id="published""#))

            let viewer = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: nil, roles: ["admin"]))")
            _ = try await viewer.next(type: "connection.established")
            try await viewer.send(json: ["type": "dashboard.subscribe"])
            let first = try #require(try await viewer.next(type: "dashboard.snapshot")["data"] as? [String: Any])
            #expect(first["connections"] as? Int == 1)
            #expect(((first["policy"] as? [String: Any])?["version"] as? String)?.count == 12)
            let before = first["published_total"] as? Int ?? -1

            let sales = await Tokens.hs256(roles: ["sales"])
            let socket = try await TestSocket(url: server.ws + "/ws?token=\(sales)")
            _ = try await socket.next(type: "connection.established")
            try await socket.send(json: ["type": "subscribe", "topics": ["account.status.changed"]])
            _ = try await socket.next(type: "error")
            try await socket.send(json: ["type": "dashboard.subscribe"])
            #expect(((try await socket.next(type: "error"))["data"] as? [String: Any])?["code"] as? String == "forbidden")
            let companyAdmin = try await TestSocket(url: server.ws + "/ws?token=\(await Tokens.hs256(company: "123", roles: ["admin"]))")
            _ = try await companyAdmin.next(type: "connection.established")
            try await companyAdmin.send(json: ["type": "dashboard.subscribe"])
            #expect(((try await companyAdmin.next(type: "error"))["data"] as? [String: Any])?["code"] as? String == "forbidden")
            await companyAdmin.close()
            for _ in 0..<3 {
                #expect(try await TestHTTP.publish(server, token: await Tokens.service(), type: "deal.stage.updated", company: "123").status == 202)
            }
            // The snapshot that shows the traffic (one comes every second).
            let latest = try await eventuallyValue("a snapshot with the three publishes and two connections", interval: .zero) {
                () async throws -> [String: Any]? in
                let snapshot = try #require(try await viewer.next(type: "dashboard.snapshot")["data"] as? [String: Any])
                let caughtUp = (snapshot["published_total"] as? Int ?? 0) >= before + 3 && snapshot["connections"] as? Int == 2
                return caughtUp ? snapshot : nil
            }
            #expect(latest["published_total"] as? Int == before + 3)
            #expect(latest["connections"] as? Int == 2)
            #expect((latest["refusals"] as? [String: Any])?["subscribe role_not_allowed"] as? Int == 1)
            let recent = latest["recent_decisions"] as? [[String: Any]] ?? []
            #expect(recent.contains { $0["reason"] as? String == "role_not_allowed" && $0["topic"] as? String == "account.status.changed" })
            await socket.close()
            await viewer.close()
        }
    }
}
