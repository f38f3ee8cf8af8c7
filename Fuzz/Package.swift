// swift-tools-version: 6.1
// SPDX-License-Identifier: Apache-2.0
//
// The coverage-guided fuzzer of mmlab: a libFuzzer target over the parser, the checker and
// the model runner (MMFuzz.FuzzHarness). A package of its own, depending on the root by
// path, so that `swift build` and `swift test` of the root never need the fuzzer. Build and
// run it with Fuzz/run.sh (Linux; the toolchain's libFuzzer).
import PackageDescription

let package = Package(
    name: "mmlab-fuzz",
    dependencies: [
        .package(name: "mmlab", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "mmlab-fuzz",
            dependencies: [.product(name: "MMFuzz", package: "mmlab")]
        ),
    ]
)
