import NIOCore

/// The receive-buffer sizes of a connection: 1 KiB at first, doubling after each read that filled the buffer,
/// up to 64 KiB. NIO keeps a connection's receive buffer for its lifetime, at the largest size it read with;
/// NIO's default (2 KiB at first, then growing sixteenfold) would keep 2 KiB for every idle WebSocket whose
/// upgrade request (about 800 bytes from a browser) fits in one. An HTTP connection that posts large bodies
/// reaches 64 KiB after a few reads.
struct DoublingRecvAllocator: RecvByteBufferAllocator {
    private(set) var next: Int
    let maximum: Int

    init(initial: Int = 1024, maximum: Int = 65536) {
        self.next = initial
        self.maximum = maximum
    }

    func buffer(allocator: ByteBufferAllocator) -> ByteBuffer { allocator.buffer(capacity: next) }

    func nextBufferSize() -> Int? { next }

    mutating func record(actualReadBytes: Int) -> Bool {
        guard actualReadBytes >= next, next < maximum else { return false }
        next = min(next * 2, maximum)
        return true
    }
}
