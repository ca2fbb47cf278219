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
        .executableTarget(
            name: "PolicyDecisions",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PolicyEngine", package: "realtime-gateway"),
            ],
            path: "Benchmarks/PolicyDecisions",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
