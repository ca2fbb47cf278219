import NIOCore

/// Coalesces flushes on a connection: a flush is deferred to the end of the event loop's current batch of
/// tasks, so frames written one by one in quick succession (a fan-out burst to one connection) leave in one
/// `writev` instead of one system call each. A close flushes what is pending first.
///
/// It sits at the head of the pipeline, next to the socket, so it sees every outbound write of the HTTP and
/// the WebSocket stages alike and survives the upgrade.
final class FlushCoalescingHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer

    private var flushPending = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        guard !flushPending else { return }
        flushPending = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = bound.value
            guard handler.flushPending else { return }
            handler.flushPending = false
            context.flush()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }
}
