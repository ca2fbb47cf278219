import ArgumentParser
import Foundation
import GatewayModel
import GatewaySession
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
        let claims = GatewayClaims(
            user: user,
            companyID: company,
            roles: roles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            issuedAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(ttl)),
            issuer: issuer,
            audience: audience
        )
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        Output.line(try await keys.sign(claims))
    }
}
