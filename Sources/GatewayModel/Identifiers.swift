/// A tenant's identifier. Compared as a string: `123` and `"123"` name the same company (SPEC §2).
public struct CompanyID: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The identifier as a string.
    public let rawValue: String
    /// Wraps a company identifier.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: CompanyID, rhs: CompanyID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The longest company id, in bytes.
    @inlinable public static var maximumLength: Int { 128 }

    /// Whether `id` is usable as a company id: 1–128 bytes of printable ASCII without spaces.
    /// Restricting ids to ASCII makes string equality byte equality: two ids that Unicode calls
    /// canonically equivalent (`Å` written two ways) can never name one tenant.
    public static func isWellFormed(_ id: String) -> Bool {
        guard (1...maximumLength).contains(id.utf8.count) else { return false }
        // Over the contiguous bytes (every native string), the check is a tight loop; the
        // `UTF8View` iterator costs several times as much per byte.
        if let valid = id.utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(isPrintable) }) { return valid }
        return id.utf8.allSatisfy(isPrintable)
    }

    @inline(__always)
    private static func isPrintable(_ byte: UInt8) -> Bool { byte &- 0x21 < 0x7E - 0x21 + 1 }
}

/// A data-residency region such as `eu-west-1`.
public struct Region: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The region's name.
    public let rawValue: String
    /// Wraps a region name.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: Region, rhs: Region) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Whether `name` is a plausible region name: lower-case letters, digits and dashes, 2–64 bytes.
    public static func isWellFormed(_ name: String) -> Bool {
        (2...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
            && name.first != "-" && name.last != "-"
    }
}
