import GatewaySession
import Testing

/// The token pre-parser the authenticator runs before any signature check.
@Suite("Token shape")
struct TokenShapeTests {
    @Test("the header's alg is read from a three-part token, padded or not")
    func algorithm() throws {
        // {"alg":"HS256","typ":"JWT"} and {"alg":"ES256"} (padded)
        #expect(try TokenShape.algorithm(of: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig") == "HS256")
        #expect(try TokenShape.algorithm(of: "eyJhbGciOiJFUzI1NiJ9.e30.") == "ES256")
    }

    @Test("malformed tokens are refused with a reason that never holds the token")
    func refusals() {
        for token in ["", "a.b", "a.b.c.d", "e30.e30.x", "eyJhbGciOjI1Nn0.e30.x", "!!!.e30.x", "\u{212A}.a.b"] {
            #expect(throws: Authenticator.Failure.self, "\(token)") {
                try TokenShape.checkText(token)
                _ = try TokenShape.algorithm(of: token)
            }
        }
        #expect(throws: Authenticator.Failure.self) { try TokenShape.checkText(String(repeating: "a", count: TokenShape.maximumBytes + 1)) }
    }
}
