// swift-tools-version:6.1
import PackageDescription

/// Settings every target takes (hummingbird's): explicit existentials, member import visibility,
/// and internal imports unless a public API re-exports a module's types.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "realtime-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "realtime-gateway", targets: ["RealtimeGateway"]),
        .library(name: "PolicyEngine", targets: ["PolicyEngine"]),
        .library(name: "EventBus", targets: ["EventBus"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // Leaf values shared by every layer: topics, principals, regions, GDPR context, GCRA.
        .target(name: "GatewayModel", swiftSettings: strictSettings),
        // YAML -> PolicyDocument -> compiler stages -> CompiledPolicy, with located diagnostics.
        .target(
            name: "PolicyLanguage",
            dependencies: [
                "GatewayModel",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // The pure, synchronous evaluator and the policy test runner.
        .target(
            name: "PolicyEngine",
            dependencies: ["GatewayModel", "PolicyLanguage", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        // Capabilities below the policy: rate-limit stores (and, next, the event bus backends).
        .target(name: "EventBus", dependencies: ["GatewayModel"], swiftSettings: strictSettings),
        // Test-only helpers shared by the test targets.
        .target(name: "GatewayTesting", swiftSettings: strictSettings),
        // The one executable and composition root.
        .executableTarget(
            name: "RealtimeGateway",
            dependencies: [
                "GatewayModel", "PolicyLanguage", "PolicyEngine", "EventBus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "GatewayModelTests", dependencies: ["GatewayModel", "GatewayTesting"], swiftSettings: strictSettings),
        .testTarget(
            name: "PolicyLanguageTests",
            dependencies: ["PolicyLanguage", "GatewayModel", "GatewayTesting"],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PolicyEngineTests",
            dependencies: ["PolicyEngine", "PolicyLanguage", "GatewayModel", "GatewayTesting"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "EventBusTests", dependencies: ["EventBus", "GatewayModel"], swiftSettings: strictSettings),
        .testTarget(
            name: "RealtimeGatewayTests",
            dependencies: [.target(name: "RealtimeGateway"), "GatewayTesting", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
    ]
)
