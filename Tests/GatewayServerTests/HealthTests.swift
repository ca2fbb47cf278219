import EventBus
import GatewayServer
import Testing

/// `/api/realtime/health/` reports each backend part from a real request to it: a part that stops makes the
/// node unhealthy (503) and names the part and why, while the others stay healthy.
@Suite("Health", .serialized)
struct HealthTests {
    @Test("a running node reports every part healthy, 200")
    func healthy() async throws {
        try await withServer { server in
            let health = try await TestHTTP.get(server.http + "/api/realtime/health/")
            #expect(health.status == 200 && health.json["status"] as? String == "healthy")
            let components = try #require(health.json["components"] as? [String: String])
            #expect(components == ["event_bus": "healthy", "cache": "healthy", "rate_limits": "healthy", "policy": "healthy"])
            #expect(health.json["errors"] == nil)
        }
    }

    @Test("the bus stopped: event_bus unhealthy, the node 503")
    func busStopped() async throws {
        try await withServer { server in
            await server.application.backends.bus.close()
            let health = try await TestHTTP.get(server.http + "/api/realtime/health/")
            #expect(health.status == 503 && health.json["status"] as? String == "unhealthy")
            let components = try #require(health.json["components"] as? [String: String])
            #expect(components["event_bus"] == "unhealthy" && components["cache"] == "healthy" && components["rate_limits"] == "healthy")
            let errors = try #require(health.json["errors"] as? [String: String])
            #expect(errors.keys.sorted() == ["event_bus"] && errors["event_bus"]?.contains("closed") == true)
        }
    }

    @Test("the event log closed: cache unhealthy, the node 503, publishes 503 instead of 202")
    func logClosed() async throws {
        try await withServer { server in
            try await server.application.backends.log.close()
            let health = try await TestHTTP.get(server.http + "/api/realtime/health/")
            #expect(health.status == 503)
            let components = try #require(health.json["components"] as? [String: String])
            #expect(components["cache"] == "unhealthy" && components["event_bus"] == "healthy")
            let publish = try await TestHTTP.publish(server, token: await Tokens.service(), type: "deal.stage.updated", company: "123")
            #expect(publish.status == 503 && (publish.json["error"] as? [String: Any])?["code"] as? String == "unavailable")
        }
    }
}
