import EventBus
import Foundation
import GatewayModel
import GatewaySession
import Hummingbird
import PolicyEnforcement

/// The HTTP endpoints of SPEC §2 (publish, batch publish, long-poll, health, metrics, the SDK).
struct HTTPRoutes {
    let gateway: Gateway
    let authenticator: Authenticator
    let reloader: PolicyReloader
    let metrics: MetricsEndpoint
    let maxBodyBytes: Int

    func register(on router: Router<GatewayRequestContext>) {
        // First, so that it also wraps the not-found responder.
        router.add(middleware: JSONErrorMiddleware())
        router.get("/api/realtime/health/") { _, _ in await health() }
        router.get("/metrics") { _, _ in metrics.response() }
        router.get("/realtime.js") { _, _ in WebAsset.sdk.response() }
        router.get("/dashboard") { _, _ in WebAsset.dashboard.response() }
        router.post("/api/realtime/publish/") { request, context in await publish(request, context) }
        router.post("/api/realtime/publish/batch/") { request, context in await publishBatch(request, context) }
        router.get("/api/realtime/poll/") { request, context in await poll(request, context) }
        router.get("/api/realtime/policy/") { request, context in await policyStatus(request, context) }
        router.post("/api/realtime/policy/reload/") { request, context in await reloadPolicy(request, context) }
        router.post("/api/realtime/gdpr/forget/") { request, context in await forget(request, context) }
        router.get("/ws") { request, context in webSocketOverHTTP(request, context) }
    }

    /// Where an endpoint reads its token: long-polling (like `/ws`) also takes `?token=`, which browsers need;
    /// publishing and the admin endpoints take only the `Authorization` header, so that service and operator
    /// tokens never end up in URLs, proxy logs or browser history.
    enum TokenSource {
        case headerOrQuery
        case headerOnly
    }

    /// The bearer token of a request: the `Authorization` header, else `?token=`.
    static func token(of request: Request) -> String? {
        token(authorization: request.headers[.authorization], query: request.uri.queryParameters.get("token"))
    }

    /// The bearer token of an `Authorization` header, else the `?token=` query parameter.
    static func token(authorization: String?, query: String?) -> String? {
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        return query
    }

    /// The verified principal, or the 401 to answer with. With `.headerOnly` a request carrying `?token=` is
    /// refused whatever its header holds: the token has already been written into a URL.
    func principal(_ request: Request, _ context: GatewayRequestContext, from source: TokenSource = .headerOnly) async -> Checked<Principal> {
        if source == .headerOnly, request.uri.queryParameters.get("token") != nil {
            return .refused(
                JSONResponse.error(
                    .unauthorized,
                    message: "this endpoint does not take ?token=: send the token in the Authorization header (Authorization: Bearer <token>)"
                )
            )
        }
        guard let token = Self.token(of: request) else {
            return .refused(JSONResponse.error(.unauthorized, message: "a bearer token is required"))
        }
        do {
            var principal = try await authenticator.verify(token, remember: true).principal
            principal.ip = context.clientIP
            return .value(principal)
        } catch {
            return .refused(JSONResponse.error(.unauthorized, message: error.description))
        }
    }

    /// The request's JSON body, or the 400/413 to answer with.
    func body(_ request: Request) async -> Checked<JSONValue> {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            return .refused(JSONResponse.error(.payloadTooLarge, message: "the body is over \(maxBodyBytes) bytes"))
        }
        do {
            return .value(try buffer.withUnsafeReadableBytes { try JSONValue(parsingUTF8: $0) })
        } catch {
            return .refused(JSONResponse.error(.invalidMessage, message: "the body is not valid JSON: \(error)"))
        }
    }

    /// The verified principal when it holds the `admin` role, or the 401/403 to answer with.
    func admin(_ request: Request, _ context: GatewayRequestContext) async -> Checked<Principal> {
        switch await principal(request, context) {
        case .refused(let response): return .refused(response)
        case .value(let principal):
            guard principal.roles.contains("admin") else {
                return .refused(JSONResponse.error(.forbidden, message: "this endpoint requires the admin role"))
            }
            return .value(principal)
        }
    }

    /// The verified principal when it is an operator: the `admin` role and no company. The policy and
    /// the dashboard are the whole node's, not one tenant's, so a company's own admins may not use them.
    func operatorPrincipal(_ request: Request, _ context: GatewayRequestContext) async -> Checked<Principal> {
        switch await admin(request, context) {
        case .refused(let response): return .refused(response)
        case .value(let principal):
            guard principal.companyID == nil else {
                return .refused(
                    JSONResponse.error(.forbidden, message: "this endpoint needs an operator token: the admin role and no company")
                )
            }
            return .value(principal)
        }
    }

    /// SPEC §2 health: each backend part answers a real request (`event_bus` the bus, `cache` the event log,
    /// `rate_limits` the limit store); any unhealthy part makes the node unhealthy (503). A failed policy reload
    /// only degrades `policy`: the previous policy still serves. Unhealthy parts say why under `errors`.
    func health() async -> Response {
        let parts = await gateway.gate.health()
        let names = ["bus": "event_bus", "log": "cache", "limits": "rate_limits"]
        let policy = await reloader.status.isDegraded ? "degraded" : "healthy"
        let healthy = parts.allSatisfy { $0.health.isHealthy }
        var json = JSONWriter()
        json.raw(#"{"status":"#)
        json.string(healthy ? "healthy" : "unhealthy")
        json.raw(#","components":{"#)
        for part in parts {
            json.string(names[part.component] ?? part.component)
            json.raw(part.health.isHealthy ? #":"healthy","# : #":"unhealthy","#)
        }
        json.raw(#""policy":"#)
        json.string(policy)
        json.raw("}")
        if !healthy {
            json.raw(#","errors":{"#)
            for (index, part) in parts.filter({ !$0.health.isHealthy }).enumerated() {
                if index > 0 { json.raw(",") }
                json.string(names[part.component] ?? part.component)
                json.raw(":")
                json.string(part.health.description)
            }
            json.raw("}")
        }
        json.raw(#","policy_version":"#)
        json.string(gateway.policyVersion)
        json.raw(#","connections":"#)
        json.integer(Int64(gateway.activeConnections))
        json.raw(#","timestamp":"#)
        json.string(Timestamp.now())
        json.raw("}")
        return JSONResponse.ok(json.text, status: healthy ? .ok : .serviceUnavailable)
    }

    /// The verified principal and the JSON body of a publish, or the response that refuses it.
    func authenticatedBody(_ request: Request, _ context: GatewayRequestContext) async -> Checked<(Principal, JSONValue)> {
        switch await principal(request, context) {
        case .refused(let response): return .refused(response)
        case .value(let principal):
            switch await body(request) {
            case .refused(let response): return .refused(response)
            case .value(let body): return .value((principal, body))
            }
        }
    }

    func publish(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        switch await authenticatedBody(request, context) {
        case .refused(let response): return response
        case .value(let (principal, body)): return Self.response(await gateway.publish(principal, body: body))
        }
    }

    func publishBatch(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        let (principal, body): (Principal, JSONValue)
        switch await authenticatedBody(request, context) {
        case .refused(let response): return response
        case .value(let value): (principal, body) = value
        }
        guard case .object(let object) = body, case .array(let events)? = object["events"], object.count == 1 else {
            return JSONResponse.error(.invalidMessage, message: #"the body must be {"events":[...]}"#)
        }
        guard (1...PolicyGate.maximumBatch).contains(events.count) else {
            return JSONResponse.error(.invalidMessage, message: "a batch carries 1-\(PolicyGate.maximumBatch) events")
        }
        let results = await gateway.publishBatch(principal, events: events)
        var json = JSONWriter(capacity: 64 * results.count)
        json.raw(#"{"results":["#)
        for (index, result) in results.enumerated() {
            if index > 0 { json.raw(",") }
            switch result {
            case .success(let accepted):
                Self.accepted(&json, accepted)
            case .failure(let refusal):
                json.raw(#"{"status":"#)
                json.integer(Int64(refusal.code.httpStatusCode))
                json.raw(#","error":{"code":"#)
                json.string(refusal.code.rawValue)
                json.raw(#","message":"#)
                json.string(refusal.message)
                json.raw("}}")
            }
        }
        json.raw("]}")
        return JSONResponse.ok(json.text, status: .accepted)
    }

    static func accepted(_ json: inout JSONWriter, _ accepted: PolicyGate.Accepted) {
        json.raw(#"{"event_id":"#)
        json.string(accepted.eventID)
        json.raw(#","cursor":"#)
        json.string(accepted.cursor)
        json.raw(#","duplicate":"#)
        json.raw(accepted.duplicate ? "true" : "false")
        json.raw("}")
    }

    static func response(_ result: Gateway.PublishResult) -> Response {
        switch result {
        case .success(let accepted):
            var json = JSONWriter()
            Self.accepted(&json, accepted)
            return JSONResponse.ok(json.text, status: .accepted)
        case .failure(let refusal):
            return JSONResponse.error(refusal)
        }
    }

    func poll(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        let principal: Principal
        switch await self.principal(request, context, from: .headerOrQuery) {
        case .refused(let response): return response
        case .value(let value): principal = value
        }
        let query = request.uri.queryParameters
        guard let topicList = query.get("topics"), !topicList.isEmpty else {
            return JSONResponse.error(.invalidMessage, message: "'topics' is required: a comma-separated list of patterns")
        }
        let topics = topicList.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard (1...ClientMessage.maximumTopics).contains(topics.count) else {
            return JSONResponse.error(.invalidMessage, message: "'topics' must name 1-\(ClientMessage.maximumTopics) patterns")
        }
        var timeout = 30.0
        if let text = query.get("timeout") {
            guard let seconds = Double(text), seconds.isFinite, seconds >= 0 else {
                return JSONResponse.error(.invalidMessage, message: "'timeout' must be a number of seconds, 0 or more")
            }
            timeout = min(seconds, 60)
        }
        var limit = 100
        if let text = query.get("limit") {
            guard let number = Int(text), (1...gateway.configuration.maxPollLimit).contains(number) else {
                return JSONResponse.error(
                    .invalidMessage,
                    message: "'limit' must be a whole number from 1 to \(gateway.configuration.maxPollLimit)"
                )
            }
            limit = number
        }
        let company = query.get("company_id").flatMap { $0.isEmpty ? nil : CompanyID($0) }
        let cursor = query.get("cursor").flatMap { $0.isEmpty || $0 == "null" || $0 == "undefined" ? nil : $0 }
        let result = await gateway.poll(
            principal,
            Gateway.PollRequest(topics: topics, cursor: cursor, timeout: .milliseconds(Int64(timeout * 1000)), limit: limit, companyID: company)
        )
        switch result {
        case .failure(let refusal):
            return JSONResponse.error(refusal)
        case .success(let polled):
            return PollAnswer.response(polled, channel: context.channel)
        }
    }
}

/// A checked input, or the error response that refuses the request.
enum Checked<Value> {
    case value(Value)
    case refused(Response)
}

/// A file of the module's `Web/` resources, read once and served as it is.
struct WebAsset: Sendable {
    let text: String
    let contentType: String

    init(_ name: String, _ fileExtension: String, contentType: String, missing: String) {
        let url = Bundle.module.url(forResource: name, withExtension: fileExtension, subdirectory: "Web")
        text = url.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? missing
        self.contentType = contentType
    }

    func response() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: contentType, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// `/realtime.js`, the SDK.
    static let sdk = WebAsset(
        "realtime",
        "js",
        contentType: "application/javascript; charset=utf-8",
        missing: "console.error('realtime.js is missing from this build');"
    )
    /// `/dashboard`: one static page (no build step) that feeds itself from the gateway's WebSocket.
    static let dashboard = WebAsset(
        "dashboard",
        "html",
        contentType: "text/html; charset=utf-8",
        missing: "<!doctype html><p>dashboard.html is missing from this build</p>"
    )
}
