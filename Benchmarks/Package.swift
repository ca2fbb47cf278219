// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks of the policy engine (ordo-one/benchmark), kept in their own package so the
// main build and `swift test` do not compile the benchmark harness. Run: scripts/benchmark.sh
let package = Package(
    name: "realtime-gateway-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "realtime-gateway", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The generated 1,000-pattern, 10,000-company policy and prepared requests.
        .target(name: "BenchmarkSupport", dependencies: [.product(name: "PolicyEngine", package: "realtime-gateway")]),
        // The Redis client's own cost: PINGs and single-event appends through RedisConnection's thread, beside
        // redis-benchmark in scripts/cluster-bench.sh.
        .executableTarget(
            name: "RedisThroughput",
            dependencies: [
                .product(name: "RedisBackend", package: "realtime-gateway"),
                .product(name: "EventBus", package: "realtime-gateway"),
                .product(name: "GatewayModel", package: "realtime-gateway"),
            ]
        ),
        // A plain loop over one decision kind, for `perf record` or `valgrind --tool=callgrind`.
        .executableTarget(name: "PolicyProfile", dependencies: ["BenchmarkSupport"]),
        .executableTarget(
            name: "PolicyDecisions",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PolicyEngine", package: "realtime-gateway"),
            ],
            path: "Benchmarks/PolicyDecisions",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
