import NIOCore

/// The bounds on receiving an HTTP request (README's "HTTP limits" table): deadlines for the headers, the
/// body and the idle time between keep-alive requests, and the sizes the decoder and ``HTTPRequestGuard``
/// hold requests to. They cover receiving a request, never producing its response (a long poll waits 60 s).
struct HTTPLimits: Sendable {
    /// `HTTP_HEADER_TIMEOUT`: from the connection's start (or the first byte after a keep-alive pause) to the
    /// end of the request's headers; then 408 and close.
    var headerTimeout: TimeAmount = .seconds(10)
    /// `HTTP_BODY_TIMEOUT`: from the end of the headers to the end of the body; then 408 and close.
    var bodyTimeout: TimeAmount = .seconds(30)
    /// `HTTP_KEEPALIVE_TIMEOUT`: an idle keep-alive connection (a response sent, no byte of a next request) is closed.
    var keepAliveTimeout: TimeAmount = .seconds(75)
    /// `HTTP_MAX_HEADER_BYTES`: the request target plus every header name and value; over it, 431 and close.
    var maxHeaderBytes = 32 * 1024
    /// `HTTP_MAX_HEADER_COUNT`: header fields in one request; over it, 431 and close.
    var maxHeaderCount = 100
    /// `MAX_MESSAGE_BYTES`: the largest body; a larger `Content-Length` (or a longer chunked body) is 413 and close.
    var maxBodyBytes = 1 << 20
    /// How long a connection answered with an error and closed for writing keeps reading (and dropping) what the
    /// client still sends, so that the client reads the answer rather than a reset (nginx's lingering close).
    var lingerTimeout: TimeAmount = .seconds(2)
}
