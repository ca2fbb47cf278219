import NIOCore
import NIOHTTP1

/// Holds every HTTP request on a connection to ``HTTPLimits`` before the gateway sees it. It sits right after
/// NIO's request decoder (before the upgrade handler), sees request parts coming in and response parts going
/// out, and answers what the gateway must not: 408 when the headers or the body are late, 431 for headers over
/// the limits, 400 for bytes the decoder refuses (not HTTP, conflicting lengths) and malformed WebSocket
/// handshakes, 426 for a WebSocket version other than 13, 413 for a declared or streamed body over the limit.
/// Each such answer ends the connection (``HTTPLimits/lingerTimeout``). It also closes a connection after the
/// response when the request did not ask to keep it alive (HTTP/1.0), and an idle keep-alive connection.
///
/// Deadlines run only while a request is being received: none runs between a request's end and its
/// response's end, so a long poll may wait as long as it likes. On a WebSocket upgrade it stands aside (no
/// deadline; it forwards bytes untouched) and ``GatewayChildChannel`` removes it.
final class HTTPRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum Phase: Equatable {
        /// Waiting for a request's head: the header deadline runs.
        case awaitingHead
        /// A response ended and no byte of the next request came yet: the keep-alive deadline runs.
        case idle
        /// Between a head and its end: the body deadline runs.
        case receivingBody
        /// The request is in; its response is being produced: no deadline.
        case processing
        /// After a request llhttp treats as an upgrade: it parses nothing more, and raw bytes may follow. Nothing
        /// inbound is looked at; the connection ends after the response unless it switched protocols.
        case passthrough
        /// Answered with an error (or ending): the output is closed, what comes in is dropped until the peer
        /// closes or the linger time passes.
        case closing
    }

    private let limits: HTTPLimits
    private(set) var phase = Phase.awaitingHead
    private var deadline: Scheduled<Void>?
    private var started = false
    /// Requests received whole whose response has not ended.
    private var unanswered = 0
    /// A response's head went out and its end not yet.
    private var responding = false
    /// The last request asked for the connection to end after its response (HTTP/1.0 without keep-alive).
    private var closeAfterResponse = false
    /// 101 went out: what is written from now on is WebSocket bytes.
    private var switched = false
    /// The current request asked for an upgrade (see ``Phase/passthrough``).
    private var upgradeAsked = false
    private var bodyBytes = 0
    /// The request still coming in was answered already (a route that did not wait for the body).
    private var answeredEarly = false

    init(limits: HTTPLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadline()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        schedule(limits.headerTimeout, context: context)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .passthrough:
            context.fireChannelRead(data)
            return
        case .closing:
            return
        case .awaitingHead, .idle, .receivingBody, .processing:
            break
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            cancelDeadline()
            if let refusal = HTTPRefusal.check(head, maxBodyBytes: limits.maxBodyBytes) {
                refuse(refusal, context: context)
                return
            }
            closeAfterResponse = !head.isKeepAlive
            bodyBytes = 0
            answeredEarly = false
            phase = .receivingBody
            upgradeAsked = HTTPRefusal.asksForUpgrade(head)
            schedule(limits.bodyTimeout, context: context)
            context.fireChannelRead(data)
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            guard bodyBytes <= limits.maxBodyBytes else {
                refuse(.bodyTooLarge(limits.maxBodyBytes), context: context)
                return
            }
            context.fireChannelRead(data)
        case .end:
            cancelDeadline()
            if answeredEarly {
                phase = .idle
                schedule(limits.keepAliveTimeout, context: context)
            } else {
                unanswered += 1
                phase = upgradeAsked ? .passthrough : .processing
            }
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Bytes arrived without completing a head: the next request has begun, its header deadline starts now.
        if phase == .idle {
            phase = .awaitingHead
            schedule(limits.headerTimeout, context: context)
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if phase == .closing, let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if phase == .closing { return }  // what the decoder says about bytes after its error, or a reset
        guard let parserError = error as? HTTPParserError, phase != .passthrough else {
            context.fireErrorCaught(error)
            return
        }
        refuse(parserError == .headerOverflow ? .headersTooLarge : .malformed, context: context)
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !switched, phase != .closing else {
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            if head.status == .switchingProtocols {
                switched = true
                cancelDeadline()
                context.write(data, promise: promise)
                return
            }
            responding = true
            if closeAfterResponse && unanswered <= 1 {
                head.headers.replaceOrAdd(name: "connection", value: "close")
                context.write(wrapOutboundOut(.head(head)), promise: promise)
            } else {
                context.write(data, promise: promise)
            }
        case .body:
            context.write(data, promise: promise)
        case .end:
            responding = false
            if phase == .receivingBody && unanswered == 0 { answeredEarly = true }
            unanswered = max(0, unanswered - 1)
            guard unanswered > 0 || (phase != .passthrough && !closeAfterResponse) else {
                // The decoder parses nothing after an upgrade request, and a request without keep-alive ends here.
                let written = context.eventLoop.makePromise(of: Void.self)
                if let promise { written.futureResult.cascade(to: promise) }
                context.write(data, promise: written)
                written.futureResult.assumeIsolated().whenComplete { _ in self.closeGracefully(context: context) }
                return
            }
            if phase == .processing && unanswered == 0 {
                phase = .idle
                schedule(limits.keepAliveTimeout, context: context)
            }
            context.write(data, promise: promise)
        }
    }

    // MARK: Deadlines and answers

    private func schedule(_ amount: TimeAmount, context: ChannelHandlerContext) {
        cancelDeadline()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: amount) {
            self.deadline = nil
            self.deadlinePassed(context: context)
        }
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }

    private func deadlinePassed(context: ChannelHandlerContext) {
        switch phase {
        case .awaitingHead, .receivingBody:
            refuse(phase == .awaitingHead ? .timedOutHeaders : .timedOutBody, context: context)
        case .idle, .closing:
            context.close(promise: nil)
        case .processing, .passthrough:
            break
        }
    }

    /// Answers with `refusal` when no response is under way (otherwise only closes), then closes.
    private func refuse(_ refusal: HTTPRefusal, context: ChannelHandlerContext) {
        cancelDeadline()
        guard !responding, unanswered == 0, !(answeredEarly && phase == .receivingBody) else {
            phase = .closing
            context.close(promise: nil)
            return
        }
        phase = .closing
        let parts = refusal.responseParts()
        for part in parts.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(parts[parts.count - 1])).assumeIsolated().whenComplete { _ in
            self.closeGracefully(context: context)
        }
    }

    /// Closes the output (the client reads the answer, then the end), keeps reading and dropping until the peer
    /// closes too or ``HTTPLimits/lingerTimeout`` passes, then closes: closing with unread input would reset the
    /// connection, and a reset can destroy the answer before the client reads it.
    private func closeGracefully(context: ChannelHandlerContext) {
        phase = .closing
        guard context.channel.isActive else { return }
        context.close(mode: .output, promise: nil)
        schedule(limits.lingerTimeout, context: context)
    }
}
