import GatewayModel
import HTTPTypes

extension ErrorCode {
    /// The code's HTTP status (``ErrorCode/httpStatusCode``, the one table) as the transport's type.
    var httpStatus: HTTPResponse.Status { HTTPResponse.Status(code: httpStatusCode) }
}
