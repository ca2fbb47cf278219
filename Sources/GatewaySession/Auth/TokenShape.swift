import Foundation

/// What is read from a bearer token before any key is used: its length, its alphabet, its three
/// dot-separated parts and the header's `alg`. Pure, so that the pre-parser can be fuzzed alone.
public enum TokenShape {
    /// The longest token accepted, in bytes.
    public static let maximumBytes = 8192

    /// Refuses an empty, oversized or non-ASCII token. A JWT is ASCII; checked before anything compares
    /// tokens as `String`s, which compare by Unicode equivalence (K as U+212A must not match K).
    public static func checkText(_ token: String) throws(Authenticator.Failure) {
        guard !token.isEmpty else { throw Authenticator.Failure("missing token") }
        guard token.utf8.count <= maximumBytes else { throw Authenticator.Failure("token too large") }
        guard token.utf8.allSatisfy({ $0 < 0x80 }) else { throw Authenticator.Failure("malformed token") }
    }

    /// The `alg` of the token's header: three parts, the first base64url-encoded JSON naming a string `alg`.
    public static func algorithm(of token: String) throws(Authenticator.Failure) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = decodeSegment(parts[0]),
            let object = try? JSONSerialization.jsonObject(with: header) as? [String: Any], let alg = object["alg"] as? String
        else { throw Authenticator.Failure("malformed token") }
        return alg
    }

    /// One base64url segment (padding optional) as bytes.
    static func decodeSegment(_ segment: Substring) -> Data? {
        var base64 = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
