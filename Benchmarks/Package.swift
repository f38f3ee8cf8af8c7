// swift-tools-version: 6.1
// SPDX-License-Identifier: Apache-2.0
//
// The benchmark suite, kept in its own package so the root package's `swift build` and
// `swift test` never pull in package-benchmark. Run it with ./run.sh (see docs/performance.md).
import PackageDescription

// SwiftPM names a path dependency after its folder, so the root package's identity is the
// name of the checkout's folder (`main` here, something else in another clone).
let rootIdentity = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "mmlab").lowercased()

let package = Package(
    name: "mmlab-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MMLabBenchmarks",
            dependencies: [
                .product(name: "MMLab", package: rootIdentity),
                .product(name: "MMScenario", package: rootIdentity),
                .product(name: "MMExplore", package: rootIdentity),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/MMLabBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
