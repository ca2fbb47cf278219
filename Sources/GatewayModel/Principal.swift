/// Who is acting: the identity carried by a verified JWT (SPEC §6.1), plus the client address.
public struct Principal: Hashable, Sendable {
    /// `user_id`, or `sub` when the token has no `user_id`.
    public var userID: String
    /// The company the token is bound to; `nil` for a service token that may act for any company.
    public var companyID: CompanyID?
    /// The token's roles.
    public var roles: [String]
    /// The client's IP address, for `ip`-scoped rate limits.
    public var ip: String?

    /// Creates a principal.
    /// - Parameters:
    ///   - userID: the token subject.
    ///   - companyID: the company the token names, if any.
    ///   - roles: the token's roles.
    ///   - ip: the client address, if known.
    public init(userID: String, companyID: CompanyID?, roles: [String], ip: String? = nil) {
        self.userID = userID
        self.companyID = companyID
        self.roles = roles
        self.ip = ip
    }
}
