import ArgumentParser
import Foundation
import GatewayModel
import JWTKit

/// `token`: mints a development JWT signed with HS256.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Mint a development JWT (HS256).",
        discussion: "The secret must be at least 32 bytes (HS256 keys shorter than the hash are refused). Defaults to $JWT_SECRET."
    )

    @Option(help: "The HS256 secret (default: $JWT_SECRET); at least 32 bytes.")
    var secret: String?

    @Option(help: "The user id (sub and user_id); numeric ids are written as numbers.")
    var user: String = "1"

    @Option(help: "The company id; omit for a service token that may publish for any company.")
    var company: String?

    @Option(help: "Comma-separated roles.")
    var roles: String = ""

    @Option(help: "Lifetime in seconds.")
    var ttl: Int = 3600

    @Option(help: "The iss claim.")
    var issuer: String?

    @Option(help: "The aud claim.")
    var audience: String?

    static let minimumSecretBytes = 32

    func run() async throws {
        guard let secret = secret ?? ProcessInfo.processInfo.environment["JWT_SECRET"], !secret.isEmpty else {
            throw CLIFailure.usage("no secret: pass --secret or set JWT_SECRET (at least \(Self.minimumSecretBytes) bytes)")
        }
        guard secret.utf8.count >= Self.minimumSecretBytes else {
            throw CLIFailure.usage("the secret is \(secret.utf8.count) bytes; HS256 needs at least \(Self.minimumSecretBytes)")
        }
        guard ttl > 0, ttl <= 366 * 86_400 else { throw CLIFailure.usage("--ttl must be between 1 and 31622400 seconds") }
        guard !user.isEmpty else { throw CLIFailure.usage("--user must not be empty") }
        if let company, !CompanyID.isWellFormed(company) {
            throw CLIFailure.usage("--company must be 1-128 printable ASCII characters without spaces")
        }
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let claims = DevelopmentClaims(
            sub: SubjectClaim(value: user),
            userID: user,
            companyID: company,
            roles: roles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            iat: IssuedAtClaim(value: now),
            exp: ExpirationClaim(value: now.addingTimeInterval(TimeInterval(ttl))),
            iss: issuer.map { IssuerClaim(value: $0) },
            aud: audience.map { AudienceClaim(value: [$0]) }
        )
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        Output.line(try await keys.sign(claims))
    }
}

/// The claims the gateway reads (SPEC §6.1).
struct DevelopmentClaims: JWTPayload {
    var sub: SubjectClaim
    var userID: String
    var companyID: String?
    var roles: [String]
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var iss: IssuerClaim?
    var aud: AudienceClaim?

    enum CodingKeys: String, CodingKey {
        case sub, roles, iat, exp, iss, aud
        case userID = "user_id"
        case companyID = "company_id"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sub, forKey: .sub)
        // Numeric ids are written as numbers, as the reference's clients expect, but only when the
        // number reads back as the same text ("0042" stays a string).
        if let number = Int64(userID), String(number) == userID {
            try container.encode(number, forKey: .userID)
        } else {
            try container.encode(userID, forKey: .userID)
        }
        try container.encodeIfPresent(companyID, forKey: .companyID)
        try container.encode(roles, forKey: .roles)
        try container.encode(iat, forKey: .iat)
        try container.encode(exp, forKey: .exp)
        try container.encodeIfPresent(iss, forKey: .iss)
        try container.encodeIfPresent(aud, forKey: .aud)
    }

    func verify(using algorithm: some JWTAlgorithm) throws { try exp.verifyNotExpired() }
}
