import GatewayModel
import GatewaySession
import Hummingbird

extension HTTPRoutes {
    /// `GET /api/realtime/policy/` (operator: admin without company): the active policy and the last reload.
    func policyStatus(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        if case .refused(let response) = await operatorPrincipal(request, context) { return response }
        return JSONResponse.ok(Self.statusJSON(await reloader.status))
    }

    /// The policy status as a JSON object: version, load time, files, health and the last reload.
    static func statusJSON(_ status: PolicyReloader.Status) -> String {
        var json = JSONWriter(capacity: 512)
        json.raw(#"{"version":"#)
        json.string(status.version)
        json.raw(#","loaded_at":"#)
        json.string(Timestamp.rfc3339(millis: status.loadedAtMillis))
        json.raw(#","files":["#)
        for (index, file) in status.files.enumerated() {
            if index > 0 { json.raw(",") }
            json.string(file)
        }
        json.raw(#"],"status":"#)
        json.string(status.isDegraded ? "degraded" : "healthy")
        json.raw(#","last_reload":"#)
        if let attempt = status.lastAttempt { write(attempt, into: &json) } else { json.raw("null") }
        json.raw("}")
        return json.text
    }

    /// `POST /api/realtime/policy/reload/` (operator): reloads now. 200 with the outcome when the policy
    /// compiled (`success` or `unchanged`); 400 `policy_invalid` with the diagnostics when it did not,
    /// in which case the previous policy keeps serving.
    func reloadPolicy(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        if case .refused(let response) = await operatorPrincipal(request, context) { return response }
        let attempt = await reloader.reload(trigger: .api)
        let version = await reloader.status.version
        var json = JSONWriter(capacity: 256)
        if attempt.outcome == .failure {
            json.raw(#"{"error":{"code":"policy_invalid","message":"#)
            json.string("the policy does not compile; version \(version) keeps serving")
            json.raw(#","diagnostics":["#)
            for (index, line) in attempt.errors.prefix(200).enumerated() {
                if index > 0 { json.raw(",") }
                json.string(line)
            }
            json.raw("]}}")
            return JSONResponse.ok(json.text, status: .badRequest)
        }
        json.raw(#"{"version":"#)
        json.string(version)
        json.raw(#","reload":"#)
        Self.write(attempt, into: &json)
        json.raw("}")
        return JSONResponse.ok(json.text)
    }

    static func write(_ attempt: PolicyReloader.Attempt, into json: inout JSONWriter) {
        json.raw(#"{"result":"#)
        json.string(attempt.outcome.rawValue)
        json.raw(#","trigger":"#)
        json.string(attempt.trigger.rawValue)
        json.raw(#","at":"#)
        json.string(Timestamp.rfc3339(millis: attempt.atMillis))
        if let swap = attempt.swap {
            json.raw(#","previous_version":"#)
            json.string(swap.previousVersion)
            json.raw(#","dropped_subscriptions":"#)
            json.integer(Int64(swap.droppedSubscriptions))
            json.raw(#","closed_connections":"#)
            json.integer(Int64(swap.closedConnections))
        }
        json.raw(#","errors":["#)
        for (index, line) in attempt.errors.prefix(200).enumerated() {
            if index > 0 { json.raw(",") }
            json.string(line)
        }
        json.raw("]}")
    }
}
