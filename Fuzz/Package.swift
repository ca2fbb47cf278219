// swift-tools-version:5.4
import PackageDescription

/// libFuzzer targets for the gateway's parsers, outside the main build. Build and run them with
/// `scripts/fuzz.sh TARGET SECONDS` (release, `-sanitize=fuzzer,address`, `-parse-as-library`,
/// `-enable-testing` for the WebSocket handler, which is internal to GatewayServer).
/// The targets have no `main`: libFuzzer's is linked in. Tools version 5.4 on purpose: from 5.5 on SwiftPM
/// links executables with `--defsym main=<Target>_main` (testable executables), which a target without
/// its own entry point cannot satisfy. Swift 6 language mode is asked for below.
let fuzzSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "realtime-gateway-fuzz",
    dependencies: [
        .package(name: "realtime-gateway", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
    ],
    targets: [
        .executableTarget(
            name: "FuzzJSON",
            dependencies: [.product(name: "GatewayModel", package: "realtime-gateway")],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzClientMessage",
            dependencies: [
                .product(name: "GatewayModel", package: "realtime-gateway"),
                .product(name: "GatewaySession", package: "realtime-gateway"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzPublishBody",
            dependencies: [
                .product(name: "GatewayModel", package: "realtime-gateway"),
                .product(name: "PolicyEngine", package: "realtime-gateway"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzPolicy",
            dependencies: [.product(name: "PolicyLanguage", package: "realtime-gateway")],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzJWT",
            dependencies: [.product(name: "GatewaySession", package: "realtime-gateway")],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzWebSocket",
            dependencies: [
                .product(name: "GatewayModel", package: "realtime-gateway"),
                .product(name: "GatewaySession", package: "realtime-gateway"),
                .product(name: "GatewayServer", package: "realtime-gateway"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: fuzzSettings
        ),
    ],
    swiftLanguageVersions: [.version("6")]
)
