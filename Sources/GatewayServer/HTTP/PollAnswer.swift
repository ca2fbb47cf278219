import GatewayModel
import GatewaySession
import HTTPTypes
import Hummingbird
import NIOCore

/// A poll's 200 answer, written so that a client that does not read cannot make the gateway hold it
/// for long: the body goes out in slices as the socket drains (NIO holds at most its write buffer's high
/// watermark beyond the slice being written), the answer's memory reservation is given back once the last
/// slice is out, and a connection that has not taken the whole answer within ``drainDeadline`` is closed.
enum PollAnswer {
    /// The size of one slice of the body.
    static let sliceBytes = 64 << 10
    /// How long a client may take to read one answer.
    static let drainDeadline = TimeAmount.seconds(30)

    static func response(_ polled: Gateway.PolledEvents, channel: any Channel) -> Response {
        let body = ByteBuffer(string: json(polled))
        let reservation = polled.reservation
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(contentLength: body.readableBytes) { writer in
                defer { reservation?.release() }
                let deadline = channel.eventLoop.scheduleTask(in: drainDeadline) { channel.close(promise: nil) }
                defer { deadline.cancel() }
                var rest = body
                while let slice = rest.readSlice(length: min(sliceBytes, rest.readableBytes)), slice.readableBytes > 0 {
                    try await writer.write(slice)
                }
                try await writer.finish(nil)
            }
        )
    }

    /// `{"events":[…],"cursor":…,"timestamp":…,"has_more":…}` (SPEC §4).
    static func json(_ polled: Gateway.PolledEvents) -> String {
        var json = JSONWriter(capacity: 256 + polled.events.reduce(0) { $0 + $1.utf8.count })
        json.raw(#"{"events":["#)
        for (index, envelope) in polled.events.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw(envelope)
        }
        json.raw(#"],"cursor":"#)
        json.string(polled.cursor)
        json.raw(#","timestamp":"#)
        json.string(Timestamp.now())
        json.raw(#","has_more":"#)
        json.raw(polled.hasMore ? "true" : "false")
        json.raw("}")
        return json.text
    }
}
