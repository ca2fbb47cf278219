import Synchronization

/// UUIDv7 event ids (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter that keeps ids
/// from one process strictly increasing within a millisecond, then 62 random bits. Ids sort by time.
public final class UUIDv7Generator: Sendable {
    private struct State {
        var millis: Int64 = 0
        var counter: UInt16 = 0
        var random = SystemRandomNumberGenerator()
    }

    private let state = Mutex(State())

    /// A generator.
    public init() {}

    /// The next id, as lower-case text with dashes.
    public func next(millis: Int64 = Timestamp.nowMillis()) -> String {
        let (time, counter, random) = state.withLock { state -> (Int64, UInt16, UInt64) in
            if millis > state.millis {
                state.millis = millis
                state.counter = UInt16.random(in: 0..<0x400, using: &state.random)
            } else if state.counter < 0xFFF {
                state.counter += 1
            } else {
                // 4,096 ids in one millisecond: borrow the next millisecond rather than repeat an id.
                state.millis += 1
                state.counter = 0
            }
            return (state.millis, state.counter, state.random.next())
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: time >> (40 - 8 * index)) }
        bytes[6] = 0x70 | UInt8(counter >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: random >> 58)
        for index in 9..<16 { bytes[index] = UInt8(truncatingIfNeeded: random >> (8 * (15 - index))) }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
