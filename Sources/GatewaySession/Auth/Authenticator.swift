public import Foundation
public import GatewayModel
public import JWTKit
import Synchronization

/// Verifies bearer tokens (SPEC §2, §8): HS256 with a shared secret, RS256 or ES256 with a PEM public key,
/// or the keys of a JWKS file. The token's `alg` must be the configured algorithm (for a JWKS, one of
/// its keys'): `none` and algorithm confusion are refused before any signature is checked.
/// `exp` is required; `nbf`, `iat`, `iss` and `aud` are checked when present or configured. A token whose
/// `nbf` or `iat` lies more than ``clockSkewMillis`` in the future is refused (a clock that drifted, or a
/// token minted ahead of time to outlive its intended window).
///
/// A token that passed can be remembered by its exact text (at most ``verifiedCapacity`` of them), so a
/// publisher or poller that sends the same token with every request pays for the signature and the
/// claims once; a remembered token is still refused from its expiry on. The keys and the issuer and
/// audience rules are fixed for an authenticator's life, so nothing else about a remembered token can
/// change. WebSocket connections verify once per connection and do not remember: their tokens would
/// only take memory.
public final class Authenticator: Sendable {
    /// Where the verification keys come from.
    public enum KeySource: Sendable, Equatable {
        /// HS256 with this secret (at least 32 bytes).
        case hmac(secret: String)
        /// RS256 or ES256 with the PEM public key in this text (the algorithm follows the key type).
        case publicKeyPEM(String)
        /// The keys of a JSON Web Key Set.
        case jwks(json: String)
    }

    /// Why a token was refused; the message never contains the token.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// A short reason, safe to log and to send (≤ 32 bytes where it becomes a close reason).
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// A verified token.
    public struct Verified: Sendable {
        /// Who the token names.
        public var principal: Principal
        /// When it expires, in milliseconds since 1970.
        public var expiresAtMillis: Int64
    }

    private let keys: JWTKeyCollection
    /// How far in the future `nbf` and `iat` may lie: clock skew between the issuer and this node.
    public static let clockSkewMillis: Int64 = 1000
    /// Tokens that passed, with the later of their `nbf` and `iat` in milliseconds (`Int64.min` without either).
    private let verified = Mutex<[String: (Verified, notBeforeMillis: Int64)]>([:])
    /// The most tokens remembered; when full, the memory starts over.
    public static let verifiedCapacity = 4096
    private let algorithms: Set<String>
    private let issuer: String?
    private let audience: String?

    /// The minimum HS256 secret length.
    public static let minimumSecretBytes = 32

    /// Sets up verification.
    /// - Throws: a `ConfigurationError` when the key material is unusable.
    public init(keys source: KeySource, issuer: String? = nil, audience: String? = nil) async throws {
        let keys = JWTKeyCollection()
        switch source {
        case .hmac(let secret):
            guard secret.utf8.count >= Self.minimumSecretBytes else {
                throw ConfigurationError("JWT_SECRET is \(secret.utf8.count) bytes; HS256 needs at least \(Self.minimumSecretBytes)")
            }
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            algorithms = ["HS256"]
        case .publicKeyPEM(let pem):
            if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: rsa, digestAlgorithm: .sha256)
                algorithms = ["RS256"]
            } else if let ecdsa = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: ecdsa)
                algorithms = ["ES256"]
            } else {
                throw ConfigurationError("JWT_PUBLIC_KEY_FILE holds neither an RSA nor a P-256 public key in PEM form")
            }
        case .jwks(let json):
            do {
                let set = try JSONDecoder().decode(JWKS.self, from: Data(json.utf8))
                try await keys.add(jwks: set)
                let named = Set(set.keys.compactMap { $0.algorithm?.rawValue })
                algorithms = named.isEmpty ? ["RS256", "ES256"] : named.subtracting(["none"])
            } catch {
                throw ConfigurationError("JWT_JWKS_FILE is not a usable JSON Web Key Set: \(error)")
            }
        }
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
    }

    /// Verifies `token` at time `nowMillis`.
    /// - Parameter remember: keep the verified token, so the next request with it skips the signature
    ///   check (for HTTP requests, which carry the token every time).
    public func verify(_ token: String, nowMillis: Int64 = Timestamp.nowMillis(), remember: Bool = false) async throws(Failure) -> Verified {
        // Before the memory of verified tokens, whose `String` keys compare by Unicode equivalence.
        try TokenShape.checkText(token)
        if let (known, notBefore) = verified.withLock({ $0[token] }) {
            guard known.expiresAtMillis > nowMillis else {
                verified.withLock { _ = $0.removeValue(forKey: token) }
                throw Failure("token expired")
            }
            guard notBefore <= nowMillis + Self.clockSkewMillis else { throw Failure("token not yet valid") }
            return known
        }
        let alg = try TokenShape.algorithm(of: token)
        guard algorithms.contains(alg) else { throw Failure("algorithm not accepted") }
        let claims: GatewayClaims
        do {
            claims = try await keys.verify(token, as: GatewayClaims.self)
        } catch {
            throw Failure("invalid token")
        }
        let now = Double(nowMillis) / 1000
        let expiry = claims.exp.value.timeIntervalSince1970
        guard expiry > now else { throw Failure("token expired") }
        // Far-future expiries (a "never expires" token) are held to 100 years, so milliseconds never overflow.
        let expiresAtMillis = Int64(min(expiry, now + 100 * 365 * 86_400) * 1000)
        let skew = Double(Self.clockSkewMillis) / 1000
        if let nbf = claims.nbf, nbf.value.timeIntervalSince1970 > now + skew { throw Failure("token not yet valid") }
        if let iat = claims.iat, iat.value.timeIntervalSince1970 > now + skew { throw Failure("token issued in the future") }
        if let issuer, claims.iss?.value != issuer { throw Failure("wrong issuer") }
        if let audience, !(claims.aud?.value.contains(audience) ?? false) { throw Failure("wrong audience") }
        guard let userID = claims.userID ?? claims.sub?.value, !userID.isEmpty, userID.utf8.count <= 256 else {
            throw Failure("token names no user")
        }
        var company: CompanyID?
        if let text = claims.companyID {
            guard CompanyID.isWellFormed(text) else { throw Failure("malformed company_id") }
            company = CompanyID(text)
        }
        let result = Verified(
            principal: Principal(userID: userID, companyID: company, roles: claims.roles ?? []),
            expiresAtMillis: expiresAtMillis
        )
        guard remember else { return result }
        verified.withLock { verified in
            if verified.count >= Self.verifiedCapacity { verified.removeAll(keepingCapacity: true) }
            let notBefore = max(Self.millis(claims.nbf?.value.timeIntervalSince1970), Self.millis(claims.iat?.value.timeIntervalSince1970))
            verified[token] = (result, notBefore)
        }
        return result
    }

    /// `seconds` in milliseconds, rounded up and held within `Int64` (a signed token may say `-1e300`);
    /// `Int64.min` for none.
    private static func millis(_ seconds: Double?) -> Int64 {
        guard let seconds else { return .min }
        let millis = (seconds * 1000).rounded(.up)
        if millis <= -9.2e18 { return .min }
        if millis >= 9.2e18 { return .max }
        return Int64(millis)
    }
}

/// The claims the gateway reads and `token` / `serve --dev` write: `sub`/`user_id`, `company_id` (string or
/// number), `roles`, and the registered time, issuer and audience claims.
public struct GatewayClaims: JWTPayload {
    public var sub: SubjectClaim?
    public var userID: String?
    public var companyID: String?
    public var roles: [String]?
    public var iat: IssuedAtClaim?
    public var exp: ExpirationClaim
    public var nbf: NotBeforeClaim?
    public var iss: IssuerClaim?
    public var aud: AudienceClaim?

    enum CodingKeys: String, CodingKey {
        case sub, roles, iat, exp, nbf, iss, aud
        case userID = "user_id"
        case companyID = "company_id"
    }

    /// Claims for a development token of `user` (as `sub` and `user_id`).
    public init(
        user: String,
        companyID: String?,
        roles: [String],
        issuedAt: Date,
        expiresAt: Date,
        issuer: String? = nil,
        audience: String? = nil
    ) {
        sub = SubjectClaim(value: user)
        userID = user
        self.companyID = companyID
        self.roles = roles
        iat = IssuedAtClaim(value: issuedAt)
        exp = ExpirationClaim(value: expiresAt)
        nbf = nil
        iss = issuer.map { IssuerClaim(value: $0) }
        aud = audience.map { AudienceClaim(value: [$0]) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sub = try container.decodeIfPresent(SubjectClaim.self, forKey: .sub)
        userID = try Self.identifier(container, .userID)
        companyID = try Self.identifier(container, .companyID)
        roles = try container.decodeIfPresent([String].self, forKey: .roles)
        iat = try container.decodeIfPresent(IssuedAtClaim.self, forKey: .iat)
        exp = try container.decode(ExpirationClaim.self, forKey: .exp)
        nbf = try container.decodeIfPresent(NotBeforeClaim.self, forKey: .nbf)
        iss = try container.decodeIfPresent(IssuerClaim.self, forKey: .iss)
        aud = try container.decodeIfPresent(AudienceClaim.self, forKey: .aud)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(sub, forKey: .sub)
        // Numeric ids are written as numbers, as the reference's clients expect, but only when the
        // number reads back as the same text ("0042" stays a string).
        if let userID, let number = Int64(userID), String(number) == userID {
            try container.encode(number, forKey: .userID)
        } else {
            try container.encodeIfPresent(userID, forKey: .userID)
        }
        try container.encodeIfPresent(companyID, forKey: .companyID)
        try container.encodeIfPresent(roles, forKey: .roles)
        try container.encodeIfPresent(iat, forKey: .iat)
        try container.encode(exp, forKey: .exp)
        try container.encodeIfPresent(nbf, forKey: .nbf)
        try container.encodeIfPresent(iss, forKey: .iss)
        try container.encodeIfPresent(aud, forKey: .aud)
    }

    /// A string, or an integer written as a number (compared as its decimal text).
    private static func identifier(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String? {
        if let text = try? container.decodeIfPresent(String.self, forKey: key) { return text }
        if let number = try? container.decodeIfPresent(Int64.self, forKey: key) { return String(number) }
        if container.contains(key), try container.decodeNil(forKey: key) == false {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "must be a string or an integer")
        }
        return nil
    }

    /// Time claims are checked by ``Authenticator`` against its own clock.
    public func verify(using algorithm: some JWTAlgorithm) throws {}
}

/// A configuration problem found at start-up (exit 2).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public let description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
