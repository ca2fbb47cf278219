import GatewaySession
import Testing

/// `ClientMessage.parse` where numbers matter: a cursor sent as a number.
@Suite("Client messages")
struct ClientMessageTests {
    @Test("a cursor sent as a non-negative integer is that position's decimal text, beyond 2^53 too")
    func numericCursor() {
        let cases: [(String, String)] = [("0", "0"), ("-0", "0"), ("42", "42"), ("9007199254740993", "9007199254740993")]
        for (literal, cursor) in cases {
            let message = ClientMessage.parse(#"{"type":"cursor.update","cursor":\#(literal)}"#)
            #expect((try? message.get()) == .cursorUpdate(cursor: cursor), "\(literal)")
        }
        for literal in ["-1", "1.5", "1e3", "9223372036854775808"] {
            let message = ClientMessage.parse(#"{"type":"cursor.update","cursor":\#(literal)}"#)
            #expect((try? message.get()) == nil, "\(literal) is no cursor")
        }
    }
}
