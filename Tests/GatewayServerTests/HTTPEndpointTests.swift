import Foundation
import GatewayServer
import NIOHTTP1
import Testing

@testable import GatewaySession

/// Publish, batch publish, long-polling, health, metrics and the SDK over real HTTP.
@Suite("HTTP endpoints", .serialized)
struct HTTPEndpointTests {
    @Test("publish refuses bad input with the SPEC's statuses and error shape")
    func publishErrors() async throws {
        try await withServer { server in
            let url = server.http + "/api/realtime/publish/"
            let service = await Tokens.service()
            let noToken = try await TestHTTP.request(.POST, url, body: "{}")
            #expect(noToken.status == 401)
            #expect((noToken.json["error"] as? [String: Any])?["code"] as? String == "unauthorized")
            #expect(try await TestHTTP.request(.POST, url, token: "bad.token.here", body: "{}").status == 401)
            let cases: [(String, Int, String)] = [
                ("not json", 400, "invalid_message"),
                ("[]", 400, "invalid_message"),
                (#"{"event_type":"deal.stage.updated"}"#, 400, "invalid_message"),
                (#"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"extra":1}"#, 400, "invalid_message"),
                (#"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"gdpr_context":{"retention_days":"x"}}"#, 400, "invalid_message"),
                (#"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"gdpr_context":{"retention_days":0}}"#, 400, "gdpr_invalid"),
                (#"{"event_type":"Deal..x","data":{"company_id":"123"}}"#, 400, "topic_malformed"),
                (#"{"event_type":"nope.never","data":{"company_id":"123"}}"#, 403, "topic_not_whitelisted"),
                (#"{"event_type":"deal.stage.updated","data":{}}"#, 400, "company_missing"),
                (#"{"event_type":"deal.stage.updated","data":{"company_id":"789"}}"#, 403, "company_disabled"),
                (#"{"event_type":"deal.stage.updated","data":{"company_id":"456"}}"#, 403, "region_not_served"),
                (#"{"event_type":"deal.stage.updated","data":{"company_id":"123"},"region":"eu-west-1"}"#, 403, "region_not_allowed"),
            ]
            for (body, status, code) in cases {
                let reply = try await TestHTTP.request(.POST, url, token: service, body: body)
                #expect(reply.status == status, "\(body)")
                let error = reply.json["error"] as? [String: Any]
                #expect(error?["code"] as? String == code, "\(body): \(reply.text)")
                let message = error?["message"] as? String ?? ""
                #expect(!message.isEmpty, "\(body)")
            }
            // A sales token of company 123 may publish deal events for its own company only.
            let sales = await Tokens.hs256(company: "123", roles: ["sales"])
            #expect(try await TestHTTP.publish(server, token: sales, type: "deal.stage.updated", company: "123").status == 202)
            let mismatch = try await TestHTTP.publish(server, token: sales, type: "deal.stage.updated", company: "999")
            #expect(mismatch.status == 403 && (mismatch.json["error"] as? [String: Any])?["code"] as? String == "company_mismatch")
            let role = try await TestHTTP.publish(server, token: sales, type: "account.status.changed", company: "123")
            #expect(role.status == 403 && (role.json["error"] as? [String: Any])?["code"] as? String == "role_not_allowed")
        }
    }

    @Test("a body over MAX_MESSAGE_BYTES is 413")
    func bodyTooLarge() async throws {
        let small: (inout ServerConfiguration) -> Void = { $0.maxMessageBytes = 2048 }
        try await withServer(small) { server in
            let body = #"{"event_type":"deal.stage.updated","data":{"company_id":"123","pad":""# + String(repeating: "x", count: 4000) + #""}}"#
            let reply = try await TestHTTP.request(.POST, server.http + "/api/realtime/publish/", token: await Tokens.service(), body: body)
            #expect(reply.status == 413)
        }
    }

    @Test("publish rate limits answer 429 with Retry-After and RateLimit headers")
    func publishRateLimit() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            for _ in 0..<2 { #expect(try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "555").status == 202) }
            let refused = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "555")
            #expect(refused.status == 429)
            #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "rate_limited")
            #expect(Int(refused.headers.first(name: "Retry-After") ?? "") ?? 0 >= 1)
            #expect(refused.headers.first(name: "RateLimit-Limit") == "2")
            #expect(refused.headers.first(name: "RateLimit-Remaining") == "0")
            #expect(refused.headers.first(name: "RateLimit-Reset") != nil)
            // Another company is not affected.
            #expect(try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123").status == 202)
        }
    }

    @Test("batch publish decides each event on its own and appends the accepted ones in order")
    func batchPublish() async throws {
        try await withServer { server in
            let reply = try await TestHTTP.post(
                server.http + "/api/realtime/publish/batch/",
                token: await Tokens.service(),
                json: [
                    "events": [
                        ["event_type": "deal.stage.updated", "data": ["company_id": "123", "n": 1]],
                        ["event_type": "nope.never", "data": ["company_id": "123"]],
                        ["event_type": "deal.stage.created", "data": ["company_id": "123", "n": 2]],
                    ]
                ]
            )
            #expect(reply.status == 202)
            let results = try #require(reply.json["results"] as? [[String: Any]])
            #expect(results.count == 3)
            #expect(results[0]["event_id"] is String && results[2]["event_id"] is String)
            #expect(results[1]["status"] as? Int == 403)
            #expect(Int(results[2]["cursor"] as? String ?? "") ?? 0 > Int(results[0]["cursor"] as? String ?? "") ?? 0)
            let empty = try await TestHTTP.post(server.http + "/api/realtime/publish/batch/", token: await Tokens.service(), json: ["events": []])
            #expect(empty.status == 400)
        }
    }

    @Test("long-polling: head start, cursors always present, has_more and limit, waiting, validation")
    func longPolling() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            let user = await Tokens.hs256()
            let poll = server.http + "/api/realtime/poll/?topics=deal.stage.*,activity.*&company_id=123"
            // No cursor: starts at the live head, answers at once with timeout=0, and still names a cursor.
            let first = try await TestHTTP.get(poll + "&timeout=0", token: user)
            #expect(first.status == 200)
            #expect((first.json["events"] as? [Any])?.isEmpty == true)
            let head = try #require(first.json["cursor"] as? String)
            #expect(first.json["has_more"] as? Bool == false)
            #expect(first.json["timestamp"] is String)
            for index in 0..<5 {
                _ = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123", extra: ["n": index])
            }
            _ = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "999", extra: ["n": 99])
            let page = try await TestHTTP.get(poll + "&timeout=0&limit=3&cursor=\(head)", token: user)
            #expect((page.json["events"] as? [[String: Any]])?.count == 3)
            #expect(page.json["has_more"] as? Bool == true)
            let rest = try await TestHTTP.get(poll + "&timeout=0&cursor=\(page.json["cursor"] as? String ?? "")", token: user)
            let numbers = (rest.json["events"] as? [[String: Any]] ?? []).compactMap { ($0["data"] as? [String: Any])?["n"] as? Int }
            #expect(numbers == [3, 4])
            #expect(rest.json["has_more"] as? Bool == false)
            // A waiting poll returns as soon as an event arrives: long before its timeout, the longest allowed.
            let cursor = try #require(rest.json["cursor"] as? String)
            let started = ContinuousClock.now
            async let waited = TestHTTP.get(poll + "&timeout=60&cursor=\(cursor)", token: user)
            try await eventually("the poll is waiting") { server.gateway.pollWaiters.count == 1 }
            _ = try await TestHTTP.publish(server, token: service, type: "activity.task.completed", company: "123", extra: ["n": 7])
            let woken = try await waited
            #expect((woken.json["events"] as? [[String: Any]])?.count == 1)
            #expect(ContinuousClock.now - started < .seconds(30), "woken by the event, not at the poll's timeout")
            // A timeout far shorter than a timer tick still returns (the wait never outlives its deadline).
            for _ in 0..<20 {
                let tiny = try await TestHTTP.get(poll + "&timeout=0.001&cursor=\(woken.json["cursor"] as? String ?? "")", token: user)
                #expect(tiny.status == 200)
            }
            // An empty wait returns the cursor after the timeout.
            let quiet = try await TestHTTP.get(poll + "&timeout=1&cursor=\(woken.json["cursor"] as? String ?? "")", token: user)
            #expect((quiet.json["events"] as? [Any])?.isEmpty == true && quiet.json["cursor"] is String)
            // Validation.
            for query in ["&timeout=-1", "&timeout=abc", "&limit=0", "&limit=1001", "&cursor=garbage"] {
                #expect(try await TestHTTP.get(poll + query, token: user).status == 400, "\(query)")
            }
            #expect(try await TestHTTP.get(server.http + "/api/realtime/poll/?timeout=0", token: user).status == 400)
            #expect(try await TestHTTP.get(poll + "&timeout=0").status == 401)
            #expect(
                try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&company_id=999&timeout=0", token: user).status == 403
            )
            #expect(try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=nope.never&timeout=0", token: user).status == 403)
            // The token may also come as ?token=.
            #expect(try await TestHTTP.get(poll + "&timeout=0&token=\(user)").status == 200)
        }
    }

    @Test("a poll answer carries at most about 1 MiB of events; the rest follows behind has_more, in order")
    func pollByteBudget() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            let user = await Tokens.hs256()
            let padding = String(repeating: "x", count: 300_000)
            let start = try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0", token: user)
            var cursor = try #require(start.json["cursor"] as? String)
            for index in 0..<20 {
                let reply = try await TestHTTP.publish(
                    server,
                    token: service,
                    type: "deal.stage.updated",
                    company: "123",
                    extra: ["n": index, "pad": padding]
                )
                #expect(reply.status == 202)
            }
            let url = server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&limit=100&cursor="
            var numbers: [Int] = []
            var answers = 0
            while true {
                let answer = try await TestHTTP.get(url + cursor, token: user)
                let events = try #require(answer.json["events"] as? [[String: Any]])
                answers += 1
                // Three events of 300 kB fit in 1 MiB, a fourth does not.
                #expect(events.count <= 3 && answer.text.utf8.count < (1 << 20) + 400_000)
                numbers += events.compactMap { ($0["data"] as? [String: Any])?["n"] as? Int }
                cursor = try #require(answer.json["cursor"] as? String)
                guard answer.json["has_more"] as? Bool == true else { break }
                try #require(answers < 40)
            }
            #expect(numbers == Array(0..<20))
            #expect(answers >= 7)
        }
    }

    @Test("a poll is rate limited with 429 and headers")
    func pollRateLimit() async throws {
        try await withServer { server in
            let user = await Tokens.hs256(company: "555")
            let url = server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0"
            #expect(try await TestHTTP.get(url, token: user).status == 200)
            let refused = try await TestHTTP.get(url, token: user)
            #expect(refused.status == 429)
            #expect(refused.headers.first(name: "Retry-After") != nil)
        }
    }

    @Test("unknown endpoints and wrong methods answer with the JSON error body too")
    func jsonErrors() async throws {
        try await withServer { server in
            let missing = try await TestHTTP.get(server.http + "/api/realtime/nope/?token=secret-looking")
            #expect(missing.status == 404)
            let error = missing.json["error"] as? [String: Any]
            #expect(error?["code"] as? String == "not_found" && !(missing.text.contains("secret-looking")))
            let wrongMethod = try await TestHTTP.request(.DELETE, server.http + "/api/realtime/health/")
            #expect([404, 405].contains(wrongMethod.status))
            #expect((wrongMethod.json["error"] as? [String: Any])?["code"] as? String != nil, "\(wrongMethod.text)")
        }
    }

    @Test("health, metrics and the SDK are served")
    func operations() async throws {
        try await withServer { server in
            let health = try await TestHTTP.get(server.http + "/api/realtime/health/")
            #expect(health.status == 200)
            #expect(health.json["status"] as? String == "healthy")
            let components = try #require(health.json["components"] as? [String: String])
            #expect(components["event_bus"] == "healthy" && components["cache"] == "healthy" && components["policy"] == "healthy")
            _ = try await TestHTTP.publish(server, token: await Tokens.service(), type: "deal.stage.updated", company: "123")
            let metrics = try await TestHTTP.get(server.http + "/metrics")
            #expect(metrics.status == 200)
            for name in ["event_published_total", "policy_decisions_total", "websocket_active"] {
                #expect(metrics.text.contains(name), "\(name)")
            }
            let sdk = try await TestHTTP.get(server.http + "/realtime.js")
            #expect(sdk.status == 200)
            #expect(sdk.headers.first(name: "Content-Type")?.contains("javascript") == true)
            #expect(sdk.text.contains("cursor.update"))
            #expect(try await TestHTTP.get(server.http + "/nowhere").status == 404)
        }
    }

    @Test("publish, batch publish and the admin endpoints refuse ?token= (401: use the Authorization header); poll keeps it")
    func tokensStayOutOfURLs() async throws {
        try await withServer { server in
            let service = await Tokens.service()
            let admin = await Tokens.hs256(user: "ops", company: nil, roles: ["admin"])
            let companyAdmin = await Tokens.hs256(company: "123", roles: ["admin"])
            let event: [String: Any] = ["event_type": "deal.stage.updated", "data": ["company_id": "123"]]
            let cases: [(String, String, Any?)] = [
                ("/api/realtime/publish/?token=\(service)", "POST", event),
                ("/api/realtime/publish/batch/?token=\(service)", "POST", ["events": [event]]),
                ("/api/realtime/policy/?token=\(admin)", "GET", nil),
                ("/api/realtime/policy/reload/?token=\(admin)", "POST", [String: Any]()),
                ("/api/realtime/gdpr/forget/?token=\(companyAdmin)", "POST", ["data_subject_id": "c-url"]),
            ]
            for (path, method, json) in cases {
                let body = try json.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
                // Refused also with a good header beside it: the token is in a URL already.
                for header in [nil, path.contains("publish") ? service : path.contains("gdpr") ? companyAdmin : admin] {
                    let reply = try await TestHTTP.request(method == "GET" ? .GET : .POST, server.http + path, token: header, body: body)
                    #expect(reply.status == 401, "\(path)")
                    let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains("Authorization"), "\(path): \(message)")
                }
            }
            // Nothing was published or erased; the header alone works.
            #expect(try await TestHTTP.post(server.http + "/api/realtime/publish/", token: service, json: event).status == 202)
            #expect(try await TestHTTP.get(server.http + "/api/realtime/policy/", token: admin).status == 200)
            // Long-polling keeps ?token= (browsers need it), as the WebSocket does.
            let user = await Tokens.hs256()
            #expect(try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0&token=\(user)").status == 200)
        }
    }
}
