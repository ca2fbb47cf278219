import GatewayModel
import GatewaySession
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// One upgraded WebSocket connection, served by NIO alone. Frames arrive decoded by NIO's codec; control
/// frames are answered here; text messages are handed, in order, to the ``Gateway`` by a task that exists
/// only while messages wait (``MessageInbox``); frames to the client are written by the session's
/// ``ChannelFrameSink``. An idle connection therefore holds no Swift task.
///
/// Every upgrade is accepted, so that a bad token is answered with a close code the browser can see
/// (SPEC §3): the token is verified and the session admitted after the upgrade, while early messages wait.
/// Closing: the server's close frame goes out after every frame queued before it, then the connection waits
/// for the client's close frame (reading, and dropping, what the client sent before it: closing a socket on
/// unread bytes resets the connection and can lose the close frame) and is cut after five seconds (two for a
/// slow consumer, which is not reading) if none comes. The wait starts again while the close frame is still
/// queued in front of the socket and the client keeps reading what is ahead of it.
final class WebSocketConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// What every connection shares (one reference per connection).
    final class Settings: Sendable {
        let gateway: Gateway
        let authenticator: Authenticator
        let maxMessageBytes: Int
        let outboxLimitBytes: Int
        /// How often the server pings; a connection that has not answered the previous ping is closed (1001).
        let pingInterval: TimeAmount

        init(gateway: Gateway, authenticator: Authenticator, maxMessageBytes: Int, outboxLimitBytes: Int, pingInterval: TimeAmount) {
            self.gateway = gateway
            self.authenticator = authenticator
            self.maxMessageBytes = maxMessageBytes
            self.outboxLimitBytes = outboxLimitBytes
            self.pingInterval = pingInterval
        }
    }

    /// What the upgrade request carried.
    struct Opening: Sendable {
        var token: String?
        /// `?company_id=`, which must agree with the token (the reference client sends it).
        var companyID: String?
        var ip: String?

        init(head: HTTPRequestHead, ip: String?) {
            let uri = URI(head.uri)
            token = HTTPRoutes.token(authorization: head.headers.first(name: "authorization"), query: uri.queryParameters.get("token"))
            companyID = uri.queryParameters.get("company_id")
            self.ip = ip
        }
    }

    private enum Phase {
        /// Verifying the token and admitting the session.
        case opening
        case open(Session)
        /// Our close frame is out; waiting for the client's.
        case closing(Session?)
        case closed
    }

    /// Messages waiting in the inbox past which the connection stops reading (TCP then pushes back).
    static let pausingDepth = 32

    private let settings: Settings
    /// Until the admission starts: the token is not kept for the connection's lifetime.
    private var opening: Opening?
    private var phase = Phase.opening
    private var context: ChannelHandlerContext?
    private let inbox = MessageInbox(resumeDepth: 8)
    /// Where the session's frames go; made when the handler is added.
    private var sink: ChannelFrameSink?
    /// A fragmented message being assembled, and whether it is text.
    private var message: ByteBuffer?
    private var messageIsText = true
    private var pinger: LoopPinger?
    /// This connection's place in its ``LoopPinger``.
    var pingSlot = -1
    private var awaitingPong = false
    private var cutOff: Scheduled<Void>?
    /// A `read` held back while the inbox is full.
    private var readHeld = false

    init(settings: Settings, opening: Opening) {
        self.settings = settings
        self.opening = opening
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard let opening else { return }
        self.opening = nil
        // Made here, on the loop, so that a close written before the session exists can still stop what the
        // admission queues (`connection.established`).
        let sink = ChannelFrameSink(channel: context.channel, limitBytes: settings.outboxLimitBytes, watchesWritability: false)
        self.sink = sink
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        Admission.start(settings, opening, sink: sink) { result in this.value.admitted(result) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        let session: Session?
        switch phase {
        case .open(let open):
            session = open
            sink?.writable.signal()
        case .closing(let closing): session = closing
        case .opening, .closed: session = nil
        }
        phase = .closed
        stopPinging()
        cutOff?.cancel()
        inbox.close()
        if let session {
            session.outbox.close(.abnormal)
            settings.gateway.close(session)
        }
        context.fireChannelInactive()
    }

    private func admitted(_ result: Result<Session, CloseReason>) {
        switch (phase, result) {
        case (.opening, .success(let session)):
            guard let loop = context?.eventLoop else {
                session.outbox.close(.abnormal)
                settings.gateway.close(session)
                return
            }
            phase = .open(session)
            let this = NIOLoopBound(self, eventLoop: loop)
            session.outbox.onCloseRequested { code, reason in
                loop.execute { this.value.close(CloseReason(code, reason)) }
            }
            startPinging()
            drain()
        case (.opening, .failure(let refusal)):
            close(refusal)
        case (_, .success(let session)):
            // The connection ended while the session was being admitted.
            session.outbox.close(.abnormal)
            settings.gateway.close(session)
        case (_, .failure):
            break
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // RFC 6455 §5.1: a client masks every frame; §5.2: no extension is negotiated, so no reserved bit is set.
        guard frame.maskKey != nil else { return protocolError("unmasked frame") }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else { return protocolError("reserved bit set") }
        switch frame.opcode {
        case .text, .binary:
            guard message == nil else { return protocolError("new message inside a fragmented one") }
            messageIsText = frame.opcode == .text
            if frame.fin { received(frame.unmaskedData) } else { message = frame.unmaskedData }
        case .continuation:
            guard var assembled = message else { return protocolError("continuation without a message") }
            message = nil
            guard assembled.readableBytes + frame.length <= settings.maxMessageBytes else {
                return close(CloseReason(.messageTooBig, "message too big"), cutAfter: .seconds(1))
            }
            var data = frame.unmaskedData
            assembled.writeBuffer(&data)
            if frame.fin { received(assembled) } else { message = assembled }
        case .ping:
            guard frame.fin, frame.length <= 125 else { return protocolError("bad ping") }
            switch phase {
            case .opening, .open:
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            case .closing, .closed: break  // nothing follows our close frame
            }
        case .pong:
            awaitingPong = false
        case .connectionClose:
            receivedClose(frame)
        default:
            protocolError("unknown opcode")
        }
    }

    /// A whole message: queued for the gateway, in order (text must be UTF-8: 1007 otherwise).
    private func received(_ buffer: ByteBuffer) {
        switch phase {
        case .opening, .open: break
        case .closing, .closed: return  // dropped: the connection is closing
        }
        if messageIsText {
            guard let valid = String(validating: buffer.readableBytesView, as: UTF8.self) else {
                return close(CloseReason(.invalidPayload, "invalid UTF-8"), cutAfter: .seconds(1))
            }
            inbox.push(.text(valid))
        } else {
            inbox.push(.binary)  // an invalid message: the gateway answers with an error
        }
        drain()
    }

    /// Starts the task that hands queued messages to the gateway, unless one runs or no session is open yet.
    private func drain() {
        guard case .open(let session) = phase, let loop = context?.eventLoop, inbox.claimDrainer() else { return }
        let gateway = settings.gateway
        let inbox = self.inbox
        let this = NIOLoopBound(self, eventLoop: loop)
        Task {
            while let (message, resume) = inbox.next() {
                if resume { loop.execute { this.value.resumeReading() } }
                switch message {
                case .text(let text): await gateway.handle(session, text: text)
                case .binary: gateway.handleBinary(session)
                }
            }
        }
    }

    /// The client closed: answer with the same code (RFC 6455 §5.5.1) and end the connection, or, when we
    /// closed first, this is the answer. Frames still queued for the client are dropped: it asked to stop.
    private func receivedClose(_ frame: WebSocketFrame) {
        guard let context, let sink else { return }
        var session: Session? = nil
        switch phase {
        case .closing, .closed:
            context.close(promise: nil)
            return
        case .opening: break
        case .open(let open): session = open
        }
        phase = .closing(session)
        session?.outbox.close(.normal)
        stopPinging()
        inbox.close()
        sink.markClosed()
        var data = frame.unmaskedData
        let length = data.readableBytes
        let code = data.readInteger(as: UInt16.self) ?? 1000
        let echoed = length == 1 || !Self.isValidCloseCode(code) ? 1002 : code
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.close(code: echoed, reason: ""))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Close codes a peer may send (RFC 6455 §7.4).
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: true
        default: false
        }
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        // While the inbox is full the socket is not read; the drain resumes reading.
        if inbox.pauseIfDeeper(than: Self.pausingDepth) {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func resumeReading() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .open = phase { sink?.writable.signal() }
        context.fireChannelWritabilityChanged()
    }

    /// Sends our close frame and waits for the client's answer, at most `cutAfter` (by default five seconds,
    /// two for a slow consumer, which is not reading). The close frame goes through the sink, after every
    /// frame queued before it; the sink drops whatever is queued after it. Messages waiting for the gateway
    /// are dropped, and reading resumes so that the client's answer is read.
    private func close(_ reason: CloseReason, cutAfter: TimeAmount? = nil) {
        guard let context, let sink else { return }
        let session: Session?
        switch phase {
        case .opening: session = nil
        case .open(let open): session = open
        case .closing, .closed: return
        }
        phase = .closing(session)
        // First, so producers stop queueing before the close frame is queued.
        session?.outbox.close(code: reason.code, reason: reason.text)
        stopPinging()
        inbox.close()
        resumeReading()
        // A slow consumer's channel takes the close frame whatever its state.
        sink.sendClose(code: reason.code, reason: reason.text)
        let wait = cutAfter ?? .seconds(reason.code == CloseCode.slowConsumer.rawValue ? 2 : 5)
        scheduleCutOff(after: wait, unwrittenBefore: sink.unwrittenBytes())
    }

    /// Cuts the connection after `wait`, unless our close frame has still not reached the socket and either the
    /// loop writer has not written it into the channel yet (a busy loop can run a due timer before the writer's
    /// pass) or the client read some of the bytes in front of it meanwhile: closing the channel discards what NIO
    /// has not written, close frame included (the client would see 1006), so the wait starts again. A client that
    /// reads nothing for a whole wait is cut; its close frame cannot be delivered.
    private func scheduleCutOff(after wait: TimeAmount, unwrittenBefore: Int) {
        guard let context, let sink else { return }
        let channel = context.channel
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        cutOff = context.eventLoop.scheduleTask(in: wait) {
            let unwritten = sink.unwrittenBytes()
            guard unwritten > 0, !sink.isCloseWritten || unwritten < unwrittenBefore else { return channel.close(promise: nil) }
            this.value.scheduleCutOff(after: wait, unwrittenBefore: unwritten)
        }
    }

    /// A breach of RFC 6455: 1002, and a short wait for the client's answer (what it sends meanwhile is
    /// read and dropped, so the socket is not reset under our close frame).
    private func protocolError(_ what: String) {
        close(CloseReason(.protocolError, what), cutAfter: .seconds(1))
    }

    private func startPinging() {
        guard let context else { return }
        let pinger = LoopPinger.for(context.eventLoop, interval: settings.pingInterval)
        pingSlot = pinger.add(self)
        self.pinger = pinger
    }

    private func stopPinging() {
        pinger?.remove(self, at: pingSlot)
        pinger = nil
    }

    /// Pings, or closes a connection that did not answer the previous ping (1001, as swift-websocket did).
    func ping() {
        guard let context, case .open = phase else { return }
        if awaitingPong {
            // The peer stopped answering: cut right after the frame.
            close(CloseReason(.goingAway, "ping timeout"), cutAfter: .milliseconds(10))
            return
        }
        awaitingPong = true
        var payload = context.channel.allocator.buffer(capacity: 8)
        payload.writeInteger(UInt64.random(in: 0...UInt64.max))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: payload)), promise: nil)
    }

    /// The client ended its side of the TCP connection (Hummingbird allows half-closure): nothing more can
    /// come, so the connection ends now rather than at the next unanswered ping.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A frame the codec refused: over the size limit (1009) or a malformed control frame (1002). The
        // decoder drops what follows; the connection ends when the client closes, or at the cut-off.
        switch error {
        // The client's answer cannot be decoded any more, so the wait is short.
        case NIOWebSocketError.invalidFrameLength: close(CloseReason(.messageTooBig, "message too big"), cutAfter: .seconds(1))
        case is NIOWebSocketError: close(CloseReason(.protocolError, "protocol error"), cutAfter: .seconds(1))
        case is ByteToMessageDecoderError: break  // data after the codec's error, dropped
        default: context.close(promise: nil)
        }
    }
}

/// Verifying a new connection's token and admitting its session, off the event loop.
enum Admission {
    /// Runs ``admit(_:_:sink:)`` in a task and hands the result to `done` on the channel's event loop.
    static func start(
        _ settings: WebSocketConnectionHandler.Settings,
        _ opening: WebSocketConnectionHandler.Opening,
        sink: ChannelFrameSink,
        done: @escaping @Sendable (Result<Session, CloseReason>) -> Void
    ) {
        Task {
            let result = await admit(settings, opening, sink: sink)
            sink.channel.eventLoop.execute { done(result) }
        }
    }

    /// Verifies the token and admits the session (SPEC §3): a refusal is a close code and reason.
    static func admit(
        _ settings: WebSocketConnectionHandler.Settings,
        _ opening: WebSocketConnectionHandler.Opening,
        sink: ChannelFrameSink
    ) async -> Result<Session, CloseReason> {
        guard let token = opening.token else { return .failure(CloseReason(.unauthorized, "missing token")) }
        let verified: Authenticator.Verified
        do {
            verified = try await settings.authenticator.verify(token)
        } catch {
            return .failure(CloseReason(.unauthorized, String(error.description.prefix(32))))
        }
        var principal = verified.principal
        principal.ip = opening.ip
        if let asked = opening.companyID, !asked.isEmpty, asked != principal.companyID?.rawValue {
            return .failure(CloseReason(.forbidden, "company_id mismatch"))
        }
        switch await settings.gateway.open(principal: principal, expiresAtMillis: verified.expiresAtMillis, sink: sink) {
        case .failure(let refusal): return .failure(CloseReason(refusal.code, refusal.reason))
        case .success(let session): return .success(session)
        }
    }
}

/// A close code and its reason (at most 123 bytes of UTF-8; the gateway's are at most 32).
struct CloseReason: Sendable, Error {
    var code: UInt16
    var text: String

    init(_ code: UInt16, _ text: String) {
        self.code = code
        self.text = text
    }

    /// A close with one of the gateway's codes (the `CloseCode` table).
    init(_ code: CloseCode, _ text: String) {
        self.init(code.rawValue, text)
    }
}

extension WebSocketFrame {
    /// A close frame with `code` and `reason`.
    static func close(code: UInt16, reason: String) -> WebSocketFrame {
        var payload = ByteBufferAllocator().buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code)
        payload.writeString(reason)
        return WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)
    }
}
