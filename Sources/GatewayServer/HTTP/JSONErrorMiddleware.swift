import GatewayModel
import Hummingbird

/// Turns the errors Hummingbird raises itself (no such route, wrong method, a malformed request) into
/// the SPEC's JSON error body, `{"error": {"code", "message"}}`, like every error the gateway answers.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let status = Int(error.status.code)
            let code: String =
                switch error.status {
                case .notFound: ErrorCode.notFound.rawValue
                case .methodNotAllowed: "method_not_allowed"
                case .contentTooLarge: ErrorCode.payloadTooLarge.rawValue
                case .badRequest: ErrorCode.invalidMessage.rawValue
                default: status >= 500 ? ErrorCode.internal.rawValue : "http_\(status)"
                }
            let message =
                error.body ?? (error.status == .notFound ? "no such endpoint: \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return JSONResponse.error(status: error.status, code: code, message: message)
        }
    }
}
