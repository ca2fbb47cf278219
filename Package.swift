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
        // For the Redis client measurement in Benchmarks/ (RedisThroughput).
        .library(name: "RedisBackend", targets: ["RedisBackend"]),
        // For the fuzz targets in Fuzz/ (a separate package that depends on this one by path).
        .library(name: "GatewayModel", targets: ["GatewayModel"]),
        .library(name: "PolicyLanguage", targets: ["PolicyLanguage"]),
        .library(name: "GatewaySession", targets: ["GatewaySession"]),
        .library(name: "GatewayServer", targets: ["GatewayServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // The C allocator's one knob the gateway needs: give free heap pages back (glibc's malloc_trim).
        .target(name: "CAllocator"),
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
        // Capabilities below the policy: rate-limit stores, the event bus backends and the event log protocol.
        .target(
            name: "EventBus",
            dependencies: ["GatewayModel", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strictSettings
        ),
        // hiredis, Debian's libhiredis-dev (0.14): the C client under the Redis backend.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // TLS for that hiredis (which has none): OpenSSL's libssl (Debian's libssl-dev) on a hiredis socket.
        .target(name: "CRedisTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto"), .linkedLibrary("hiredis")]),
        // The Redis backend: the event log in Streams, the bus on pub/sub, GCRA limits in Lua, all shared by nodes.
        .target(
            name: "RedisBackend",
            dependencies: [
                "GatewayModel", "EventBus", "CHiredis", "CRedisTLS",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The embedded event log: SQLite (WAL) through GRDB.
        .target(
            name: "EventStore",
            dependencies: [
                "GatewayModel", "EventBus",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The policy gate: the one door between the sessions and the bus. Decide, limit, audit, shadow,
        // enrich and append; deliveries, replays and polls filtered and redacted.
        .target(
            name: "PolicyEnforcement",
            dependencies: [
                "GatewayModel", "PolicyLanguage", "PolicyEngine", "EventBus",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // Sessions, fan-out, replay and long-polling: everything between a transport and the gate.
        // No HTTP, no bus and no log here: every action goes through PolicyEnforcement.
        .target(
            name: "GatewaySession",
            dependencies: [
                "GatewayModel", "PolicyLanguage", "PolicyEngine", "PolicyEnforcement", "CAllocator",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // HTTP and WebSocket transports, configuration, metrics exposition and the service graph.
        .target(
            name: "GatewayServer",
            dependencies: [
                "GatewayModel", "PolicyLanguage", "PolicyEngine", "PolicyEnforcement", "EventBus", "EventStore", "RedisBackend",
                "GatewaySession",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.copy("Web")],
            swiftSettings: strictSettings
        ),
        // Test-only helpers shared by the test targets.
        .target(name: "GatewayTesting", swiftSettings: strictSettings),
        // The one executable and composition root.
        .executableTarget(
            name: "RealtimeGateway",
            dependencies: [
                "GatewayModel", "PolicyLanguage", "PolicyEngine", "EventBus", "GatewaySession", "GatewayServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strictSettings
        ),
        // End-to-end load against a running gateway (or Nchan): single events and batches, fan-out, latency at a
        // steady rate, ingest, memory per idle connection. In this package so that scripts/load-test.sh and CI's
        // smoke run build it from the same dependency build as the gateway. Run: scripts/load-test.sh
        .executableTarget(
            name: "LoadGenerator",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
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
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PolicyEnforcementTests",
            dependencies: [
                "PolicyEnforcement", "PolicyEngine", "PolicyLanguage", "EventBus", "EventStore", "GatewayModel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "EventBusTests", dependencies: ["EventBus", "GatewayModel"], swiftSettings: strictSettings),
        // One conformance suite for every EventLog, EventBusBackend and RateLimitStore: a backend joins by one factory.
        .testTarget(
            name: "EventStoreTests",
            dependencies: [
                "EventStore", "EventBus", "RedisBackend", "GatewayModel", "GatewayTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GatewaySessionTests",
            dependencies: [
                "GatewaySession", "GatewayModel", "GatewayTesting", "PolicyEngine", "PolicyLanguage",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GatewayServerTests",
            dependencies: [
                "GatewayServer", "GatewaySession", "PolicyEnforcement", "EventStore", "EventBus", "GatewayModel", "GatewayTesting",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RealtimeGatewayTests",
            dependencies: [.target(name: "RealtimeGateway"), "GatewayTesting", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
    ]
)
