import Foundation

/// Where the repository's files are, for tests that read the default policy, fixtures or the built binary.
public enum RepositoryPaths {
    /// The repository root, found from this source file's path (`Sources/GatewayTesting/…`).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}
