import GatewayModel
import GatewaySession
import Hummingbird

extension HTTPRoutes {
    /// `POST /api/realtime/gdpr/forget/` (admin) `{"data_subject_id": "..."}` (SPEC §7). An admin whose
    /// token names a company erases the subject in that company; an admin without company erases it in
    /// the company `company_id` names, or with `"all_companies": true` in every company. 200 with how
    /// many events were purged.
    func forget(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        let principal: Principal
        switch await admin(request, context) {
        case .refused(let response): return response
        case .value(let value): principal = value
        }
        let body: JSONValue
        switch await self.body(request) {
        case .refused(let response): return response
        case .value(let value): body = value
        }
        guard case .object(let fields) = body, Set(fields.keys).isSubset(of: ["data_subject_id", "company_id", "all_companies"]) else {
            return JSONResponse.error(
                .invalidMessage,
                message: #"the body must be {"data_subject_id": "...", "company_id"?: "...", "all_companies"?: true}"#
            )
        }
        guard let subject = fields["data_subject_id"]?.identifierString, (1...256).contains(subject.utf8.count) else {
            return JSONResponse.error(.invalidMessage, message: "'data_subject_id' must be a string of 1-256 characters")
        }
        var company = principal.companyID
        if let asked = fields["company_id"] {
            guard let text = asked.identifierString, CompanyID.isWellFormed(text) else {
                return JSONResponse.error(.invalidMessage, message: "'company_id' must be a company id")
            }
            if let own = company, own.rawValue != text {
                return JSONResponse.error(.companyMismatch, message: "an admin of one company may only erase subjects in it")
            }
            company = CompanyID(text)
        }
        // Subject ids are often per-tenant numbers: erasing one in every company must be asked for by name.
        if company == nil, fields["all_companies"] != .bool(true) {
            return JSONResponse.error(
                .invalidMessage,
                message: "a token without company must name 'company_id', or set \"all_companies\": true to erase the subject in every company"
            )
        }
        let outcome: ForgetOutcome
        do {
            outcome = try await gateway.forget(dataSubjectID: subject, company: company)
        } catch {
            return JSONResponse.error(.unavailable, message: "the event log is unavailable; retry")
        }
        var json = JSONWriter(capacity: 256)
        json.raw(#"{"data_subject_id":"#)
        json.string(subject)
        json.raw(#","scope":"#)
        json.string(company?.rawValue ?? "all")
        json.raw(#","purged":"#)
        json.integer(Int64(outcome.purged))
        json.raw(#","companies":["#)
        for (index, affected) in outcome.companies.enumerated() {
            if index > 0 { json.raw(",") }
            json.string(affected.rawValue)
        }
        json.raw(#"],"already_forgotten":"#)
        json.raw(outcome.alreadyForgotten ? "true" : "false")
        json.raw("}")
        return JSONResponse.ok(json.text)
    }
}
