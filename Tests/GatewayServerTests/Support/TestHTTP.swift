import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// HTTP calls for tests through AsyncHTTPClient; bodies come back parsed.
enum TestHTTP {
    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var text: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:] }
    }

    static func request(
        _ method: HTTPMethod,
        _ url: String,
        token: String? = nil,
        body: String? = nil,
        timeout: TimeAmount = .seconds(90)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: buffer))
    }

    static func get(_ url: String, token: String? = nil) async throws -> Reply { try await request(.GET, url, token: token) }

    static func post(_ url: String, token: String?, json: Any) async throws -> Reply {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        return try await request(.POST, url, token: token, body: body)
    }

    /// Publishes one event as the service principal; returns the reply.
    static func publish(
        _ server: TestServer,
        token: String,
        type: String,
        company: String,
        extra: [String: Any] = [:],
        key: String? = nil
    ) async throws
        -> Reply
    {
        var data: [String: Any] = ["company_id": company]
        data.merge(extra) { $1 }
        var body: [String: Any] = ["event_type": type, "data": data]
        if let key { body["idempotency_key"] = key }
        return try await post(server.http + "/api/realtime/publish/", token: token, json: body)
    }
}
