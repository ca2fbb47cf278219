import Foundation
import GatewayModel
import GatewaySession
import GatewayTesting
import JWTKit
import Testing

/// Token verification for every configured key kind, the registered claims and the refusals.
@Suite("Authenticator")
struct AuthenticatorTests {
    static let keys = RepositoryPaths.root + "/Tests/GatewayServerTests/Fixtures/keys/"

    func sign(_ claims: Tokens.Claims, with configure: (JWTKeyCollection) async throws -> Void, kid: String? = nil) async throws -> String {
        let keys = JWTKeyCollection()
        try await configure(keys)
        return try await keys.sign(claims, kid: kid.map { JWKIdentifier(string: $0) })
    }

    func claims(company: String? = "123", issuer: String? = nil, audience: String? = nil) -> Tokens.Claims {
        Tokens.Claims(
            sub: "7",
            user_id: nil,
            company_id: company,
            roles: ["sales"],
            exp: ExpirationClaim(value: Date().addingTimeInterval(600)),
            iss: issuer.map { IssuerClaim(value: $0) },
            aud: audience.map { AudienceClaim(value: [$0]) }
        )
    }

    @Test("RS256 with a PEM public key; an HS256 token keyed with that public key is refused (algorithm confusion)")
    func rs256() async throws {
        let privatePEM = try String(contentsOfFile: Self.keys + "rsa-private.pem", encoding: .utf8)
        let publicPEM = try String(contentsOfFile: Self.keys + "rsa-public.pem", encoding: .utf8)
        let authenticator = try await Authenticator(keys: .publicKeyPEM(publicPEM))
        let token = try await sign(claims()) { try await $0.add(rsa: Insecure.RSA.PrivateKey(pem: privatePEM), digestAlgorithm: .sha256) }
        let verified = try await authenticator.verify(token)
        #expect(verified.principal.userID == "7")
        #expect(verified.principal.companyID == CompanyID("123"))
        let confused = try await sign(claims()) { await $0.add(hmac: HMACKey(from: publicPEM), digestAlgorithm: .sha256) }
        await #expect(throws: Authenticator.Failure.self) { try await authenticator.verify(confused) }
    }

    @Test("ES256 with a PEM public key; a token of another key is refused")
    func es256() async throws {
        let key = ES256PrivateKey()
        let authenticator = try await Authenticator(keys: .publicKeyPEM(key.publicKey.pemRepresentation))
        let token = try await sign(claims()) { await $0.add(ecdsa: key) }
        #expect(try await authenticator.verify(token).principal.roles == ["sales"])
        let stranger = try await sign(claims()) { await $0.add(ecdsa: ES256PrivateKey()) }
        await #expect(throws: Authenticator.Failure.self) { try await authenticator.verify(stranger) }
    }

    @Test("a JWKS file's keys verify tokens by kid")
    func jwks() async throws {
        let key = ES256PrivateKey()
        let parameters = try #require(key.publicKey.parameters)
        let json = """
            {"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","kid":"k1","x":"\(parameters.x)","y":"\(parameters.y)"}]}
            """
        let authenticator = try await Authenticator(keys: .jwks(json: json))
        let token = try await sign(claims(), with: { await $0.add(ecdsa: key, kid: "k1") }, kid: "k1")
        #expect(try await authenticator.verify(token).principal.userID == "7")
        let hs = await Tokens.hs256()
        await #expect(throws: Authenticator.Failure.self) { try await authenticator.verify(hs) }
    }

    @Test("iss and aud are enforced when configured")
    func issuerAndAudience() async throws {
        let authenticator = try await Authenticator(keys: .hmac(secret: TestServer.secret), issuer: "crm", audience: "gateway")
        let good = await Tokens.hs256(issuer: "crm", audience: "gateway")
        #expect(try await authenticator.verify(good).principal.companyID == CompanyID("123"))
        for token in [
            await Tokens.hs256(), await Tokens.hs256(issuer: "other", audience: "gateway"), await Tokens.hs256(issuer: "crm", audience: "x"),
        ] {
            await #expect(throws: Authenticator.Failure.self) { try await authenticator.verify(token) }
        }
    }

    @Test("a token that passed once is remembered, yet refused from its expiry on, before its nbf, and with any byte changed")
    func rememberedTokens() async throws {
        let authenticator = try await Authenticator(keys: .hmac(secret: TestServer.secret))
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: TestServer.secret), digestAlgorithm: .sha256)
        let now = Date()
        var claims = claims()
        claims.exp = ExpirationClaim(value: now.addingTimeInterval(60))
        claims.nbf = NotBeforeClaim(value: now.addingTimeInterval(-30))
        let token = try await keys.sign(claims)
        let nowMillis = Int64(now.timeIntervalSince1970 * 1000)
        for _ in 0..<3 { #expect(try await authenticator.verify(token, nowMillis: nowMillis, remember: true).principal.userID == "7") }
        func refusal(at millis: Int64) async -> String? {
            await #expect(throws: Authenticator.Failure.self) { try await authenticator.verify(token, nowMillis: millis, remember: true) }?
                .description
        }
        #expect(await refusal(at: nowMillis - 60_000) == "token not yet valid")
        #expect(await refusal(at: nowMillis + 61_000) == "token expired")
        // Forgotten once expired: refused again on the full path, with the same answer.
        #expect(await refusal(at: nowMillis + 61_000) == "token expired")
        // Every single-character change of the remembered token is a different token: verified in full. A
        // character's high bit is changed (a last character's low bits may carry no data, so a change there
        // could decode to the same bytes); a dot is replaced.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let bytes = Array(token.utf8)
        for index in bytes.indices {
            var changed = bytes
            changed[index] = alphabet.firstIndex(of: bytes[index]).map { alphabet[$0 ^ 32] } ?? UInt8(ascii: "A")
            let forged = String(decoding: changed, as: UTF8.self)
            await #expect(throws: Authenticator.Failure.self, "byte \(index)") {
                try await authenticator.verify(forged, nowMillis: nowMillis, remember: true)
            }
        }
        // A look-alike spelling of a remembered token (K as the Kelvin sign, which Swift's `String` calls
        // equal) is refused: a JWT is ASCII.
        var withK = token
        var user = 0
        while !withK.contains("K") {
            user += 1
            claims.sub = "k\(user)"
            withK = try await keys.sign(claims)
        }
        _ = try await authenticator.verify(withK, nowMillis: nowMillis, remember: true)
        let lookAlike = withK.replacingOccurrences(of: "K", with: "\u{212A}")
        #expect(lookAlike == withK, "Swift compares the two spellings as equal")
        await #expect(throws: Authenticator.Failure.self) { try await authenticator.verify(lookAlike, nowMillis: nowMillis, remember: true) }
        // A full memory starts over; every remembered token still verifies.
        for index in 0..<(Authenticator.verifiedCapacity + 10) {
            claims.sub = "u\(index)"
            _ = try await authenticator.verify(try await keys.sign(claims), nowMillis: nowMillis, remember: true)
        }
        #expect(try await authenticator.verify(token, nowMillis: nowMillis, remember: true).principal.userID == "7")
    }

    @Test("a signed token with an nbf far in the past is accepted and remembered without overflow")
    func ancientNotBefore() async throws {
        let authenticator = try await Authenticator(keys: .hmac(secret: TestServer.secret))
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: TestServer.secret), digestAlgorithm: .sha256)
        for seconds in [-1e300, -9.3e15, -1.0] {
            var claims = claims()
            claims.nbf = NotBeforeClaim(value: Date(timeIntervalSince1970: seconds))
            let token = try await keys.sign(claims)
            for _ in 0..<2 { #expect(try await authenticator.verify(token, remember: true).principal.userID == "7", "nbf \(seconds)") }
        }
    }

    @Test("a token issued in the future (iat past the 1 s clock skew) is refused, also when it was remembered")
    func issuedInTheFuture() async throws {
        let authenticator = try await Authenticator(keys: .hmac(secret: TestServer.secret))
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: TestServer.secret), digestAlgorithm: .sha256)
        let now = Date()
        let nowMillis = Int64(now.timeIntervalSince1970 * 1000)
        var claims = claims()
        claims.iat = IssuedAtClaim(value: now.addingTimeInterval(3600))
        let future = try await keys.sign(claims)
        for remember in [false, true] {
            let failure = await #expect(throws: Authenticator.Failure.self) {
                try await authenticator.verify(future, nowMillis: nowMillis, remember: remember)
            }
            #expect(failure?.description == "token issued in the future")
        }
        // Within the skew, and in the past: accepted. A remembered token is held to its iat too.
        claims.iat = IssuedAtClaim(value: now.addingTimeInterval(0.5))
        #expect(try await authenticator.verify(try await keys.sign(claims), nowMillis: nowMillis).principal.userID == "7")
        claims.iat = IssuedAtClaim(value: now.addingTimeInterval(30))
        let soon = try await keys.sign(claims)
        #expect(try await authenticator.verify(soon, nowMillis: nowMillis + 30_000, remember: true).principal.userID == "7")
        await #expect(throws: Authenticator.Failure.self) { try await authenticator.verify(soon, nowMillis: nowMillis, remember: true) }
    }

    @Test("a token issued in the future is refused on every path: WebSocket (4001), publish and poll (401)")
    func issuedInTheFutureOverTheWire() async throws {
        try await withServer { server in
            let later = Date().addingTimeInterval(3600)
            let user = await Tokens.hs256(issuedAt: later)
            let close = try await RawWebSocket.refusal(port: server.port, path: "/ws?token=\(user)")
            #expect(close.code == 4001 && close.reason == "token issued in the future")
            let service = await Tokens.hs256(user: "backend", company: nil, roles: ["service"], issuedAt: later)
            let publish = try await TestHTTP.publish(server, token: service, type: "deal.stage.updated", company: "123")
            #expect(publish.status == 401)
            #expect((publish.json["error"] as? [String: Any])?["message"] as? String == "token issued in the future")
            let poll = try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0", token: user)
            #expect(poll.status == 401)
            // A token issued now passes.
            let now = await Tokens.hs256(issuedAt: Date())
            #expect(try await TestHTTP.get(server.http + "/api/realtime/poll/?topics=deal.stage.*&timeout=0", token: now).status == 200)
        }
    }

    @Test("numeric company and user ids are read as their decimal text; a token without exp is refused")
    func claimShapes() async throws {
        let authenticator = try await Authenticator(keys: .hmac(secret: TestServer.secret))
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: TestServer.secret), digestAlgorithm: .sha256)
        struct Numeric: JWTPayload {
            var user_id: Int
            var company_id: Int
            var exp: ExpirationClaim
            func verify(using algorithm: some JWTAlgorithm) throws {}
        }
        struct Forever: JWTPayload {
            var sub: String
            func verify(using algorithm: some JWTAlgorithm) throws {}
        }
        let numeric = try await keys.sign(Numeric(user_id: 42, company_id: 123, exp: ExpirationClaim(value: Date().addingTimeInterval(60))))
        let verified = try await authenticator.verify(numeric)
        #expect(verified.principal.userID == "42" && verified.principal.companyID == CompanyID("123") && verified.principal.roles.isEmpty)
        let forever = try await keys.sign(Forever(sub: "1"))
        await #expect(throws: Authenticator.Failure.self) { try await authenticator.verify(forever) }
    }

    @Test("unusable key material is a configuration error")
    func configurationErrors() async throws {
        await #expect(throws: ConfigurationError.self) { try await Authenticator(keys: .hmac(secret: "short")) }
        await #expect(throws: ConfigurationError.self) { try await Authenticator(keys: .publicKeyPEM("not a key")) }
        await #expect(throws: ConfigurationError.self) { try await Authenticator(keys: .jwks(json: "{}")) }
    }
}
