import GatewayModel
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops the listening socket from spinning when `accept` fails for want of descriptors or memory (`EMFILE`,
/// `ENFILE`, `ENOBUFS`, `ENOMEM`). NIO's `AcceptBackoffHandler` delays the next read, but NIO keeps the
/// socket registered for readability after such a failure, so the event loop wakes at once, again and again
/// (a core at 100%). This handler, first in the server channel's pipeline, turns `autoRead` off (which
/// unregisters the socket), and on again after ``pause``; waiting connections stay in the kernel's backlog.
final class AcceptPauseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel

    /// How long accepting stops after such a failure.
    let pause: TimeAmount
    private let logger: Logger
    private var resume: Scheduled<Void>?
    private var lastWarning: NIODeadline?

    init(pause: TimeAmount = .milliseconds(500), logger: Logger) {
        self.pause = pause
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if resume == nil, let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) {
            let channel = context.channel
            try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
            resume = context.eventLoop.assumeIsolated().scheduleTask(in: pause) {
                self.resume = nil
                try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
            }
            let now = NIODeadline.now()
            if lastWarning.map({ now - $0 >= .seconds(10) }) ?? true {
                lastWarning = now
                logger.warning(
                    "accept failed: out of descriptors or memory; accepting paused",
                    metadata: [LogKey.event: "server.accept_paused", LogKey.error: "\(error)"]
                )
            }
        }
        context.fireErrorCaught(error)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
    }
}
