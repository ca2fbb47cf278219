public import GatewayModel

/// Why bytes from the bus are not a ``StoredEvent`` this build can read; says what to do about it.
public struct StoredEventDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Hashable {
        case empty
        case unsupportedVersion(UInt8)
        case truncated(String)
        case invalidUTF8(String)
        case invalidFlag(UInt8)
        case trailingBytes(Int)
    }

    private let kind: Kind

    /// The message was empty.
    public static var empty: Self { Self(kind: .empty) }
    /// The message was written in a wire version this build does not read.
    public static func unsupportedVersion(_ version: UInt8) -> Self { Self(kind: .unsupportedVersion(version)) }
    /// The message ended inside `field`.
    public static func truncated(_ field: String) -> Self { Self(kind: .truncated(field)) }
    /// `field` is not UTF-8.
    public static func invalidUTF8(_ field: String) -> Self { Self(kind: .invalidUTF8(field)) }
    /// The data-subject flag was neither 0 nor 1.
    public static func invalidFlag(_ flag: UInt8) -> Self { Self(kind: .invalidFlag(flag)) }
    /// Bytes followed the last field.
    public static func trailingBytes(_ count: Int) -> Self { Self(kind: .trailingBytes(count)) }

    /// The unknown version, when that is the problem.
    public var unsupportedVersion: UInt8? {
        if case .unsupportedVersion(let version) = kind { return version }
        return nil
    }

    public var description: String {
        switch kind {
        case .empty:
            "an empty bus message is not an event: check what else publishes on the gateway's channels"
        case .unsupportedVersion(let version):
            "bus message in wire version \(version), but this node reads only version \(StoredEvent.wireVersion): "
                + "a node of another build published it; run one build on every node (finish or roll back the upgrade)"
        case .truncated(let field):
            "bus message ends inside '\(field)': it was cut short in transit or written by something other than a gateway node"
        case .invalidUTF8(let field):
            "bus message field '\(field)' is not UTF-8: it was not written by a gateway node"
        case .invalidFlag(let flag):
            "bus message has data-subject flag \(flag) (expected 0 or 1): it was not written by a gateway node of this version"
        case .trailingBytes(let count):
            "bus message has \(count) bytes after its last field: it was not written by a gateway node of this version"
        }
    }
}
