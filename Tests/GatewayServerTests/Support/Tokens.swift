import Foundation
import JWTKit

/// Mints tokens for tests, including every kind of bad one.
enum Tokens {
    struct Claims: JWTPayload {
        var sub: String?
        var user_id: String?
        var company_id: String?
        var roles: [String]?
        var exp: ExpirationClaim
        var nbf: NotBeforeClaim?
        var iss: IssuerClaim?
        var aud: AudienceClaim?
        var iat: IssuedAtClaim?
        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    static func hs256(
        user: String = "1",
        company: String? = "123",
        roles: [String] = ["sales"],
        expiresIn: TimeInterval = 3600,
        notBefore: Date? = nil,
        issuer: String? = nil,
        audience: String? = nil,
        issuedAt: Date? = nil,
        secret: String = TestServer.secret
    ) async -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        let claims = Claims(
            sub: user,
            user_id: user,
            company_id: company,
            roles: roles,
            exp: ExpirationClaim(value: Date().addingTimeInterval(expiresIn)),
            nbf: notBefore.map { NotBeforeClaim(value: $0) },
            iss: issuer.map { IssuerClaim(value: $0) },
            aud: audience.map { AudienceClaim(value: [$0]) },
            iat: issuedAt.map { IssuedAtClaim(value: $0) }
        )
        return try! await keys.sign(claims)
    }

    static func service() async -> String { await hs256(user: "backend", company: nil, roles: ["service"]) }

    static func base64URL(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// An unsigned token (`alg: none`) with valid-looking claims.
    static func unsigned() -> String {
        let exp = Int(Date().timeIntervalSince1970) + 3600
        return base64URL(#"{"alg":"none","typ":"JWT"}"#) + "." + base64URL(#"{"sub":"1","company_id":"123","roles":["admin"],"exp":\#(exp)}"#) + "."
    }

    /// A token claiming RS256 but signed with HMAC (algorithm confusion).
    static func confused() async -> String {
        let good = await hs256()
        let parts = good.split(separator: ".")
        return base64URL(#"{"alg":"RS256","typ":"JWT"}"#) + "." + parts[1] + "." + parts[2]
    }
}
