// swift-tools-version: 6.1
// SPDX-License-Identifier: Apache-2.0
import PackageDescription

let package = Package(
    name: "mmlab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mmlab", targets: ["mmlab"]),
        .library(name: "MMUAPI", targets: ["MMUAPI"]),
        .library(name: "MMLab", targets: ["MMLab"]),
        .library(name: "MMSyntax", targets: ["MMSyntax"]),
        .library(name: "MMScenario", targets: ["MMScenario"]),
        .library(name: "MMExplore", targets: ["MMExplore"]),
        .library(name: "MMGenerator", targets: ["MMGenerator"]),
        .library(name: "MMFuzz", targets: ["MMFuzz"]),
        .library(name: "MMTimeline", targets: ["MMTimeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The user interface both backends speak: errnos, signals, advice, userfaultfd,
        // pagemap bits, PAGEMAP_SCAN, KSM counters, design switches, system calls.
        .target(name: "MMUAPI"),
        // The model of Linux memory management (no I/O, no host threads, deterministic).
        .target(name: "MMLab", dependencies: ["MMUAPI"]),
        // The .mms language: lexer, parser, AST, diagnostics.
        .target(name: "MMSyntax", dependencies: ["MMUAPI"]),
        // Runs a parsed scenario on a backend and reports observations and expectations.
        .target(name: "MMScenario", dependencies: ["MMLab", "MMSyntax"]),
        // `explore` and `replay`: which thread steps next, reduction, replay tokens, traces.
        .target(name: "MMExplore", dependencies: ["MMScenario", "MMSyntax", "MMLab"]),
        // Random scenarios for the differential test, and what they cover.
        .target(name: "MMGenerator", dependencies: ["MMScenario", "MMSyntax", "MMLab"]),
        // One fuzz input through parser, checker, runner and explore, with the harness's bounds
        // (the libFuzzer target is a separate package, Fuzz/, so the root never needs it).
        .target(name: "MMFuzz", dependencies: ["MMScenario", "MMSyntax", "MMExplore"]),
        // `--html`: a timeline of pages over statements or steps as one self-contained page.
        .target(name: "MMTimeline", dependencies: ["MMScenario", "MMLab"]),
        // The live backend's C shim: the worker loop, syscall wrappers, host set-up record.
        .target(name: "CMMLinux"),
        // The live backend: scenarios on the running kernel, and the model/kernel diff.
        .target(name: "MMLive", dependencies: ["CMMLinux", "MMScenario", "MMSyntax", "MMLab", "MMGenerator"]),
        // The command line.
        .executableTarget(
            name: "mmlab",
            dependencies: [
                "MMScenario", "MMSyntax", "MMLab", "MMLive", "MMExplore", "MMTimeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // `mmlab --version`: the git commit of the checkout it was built from.
            plugins: ["BuildInfo"]
        ),
        .plugin(name: "BuildInfo", capability: .buildTool()),
        // A process with a known memory layout, for the test of `mmlab import` (not installed).
        .executableTarget(name: "mmlab-import-helper", path: "Tests/ImportHelper"),
        .testTarget(name: "MMLabTests", dependencies: ["MMLab"]),
        .testTarget(name: "MMSyntaxTests", dependencies: ["MMSyntax"]),
        .testTarget(name: "MMScenarioTests", dependencies: ["MMScenario", "MMSyntax", "MMLab", "MMExplore", "MMFuzz"], exclude: ["Fixtures"]),
        .testTarget(name: "CLITests", dependencies: ["mmlab"], exclude: ["Snapshots", "Fixtures"]),
        .testTarget(name: "MMTimelineTests", dependencies: ["MMTimeline", "MMScenario", "MMExplore", "MMLab"]),
        .testTarget(name: "MMGeneratorTests", dependencies: ["MMGenerator", "MMScenario", "MMSyntax", "MMLab"]),
        .testTarget(name: "MMLiveTests", dependencies: ["MMLive", "MMGenerator", "CMMLinux", "MMScenario", "MMSyntax", "MMLab"]),
    ]
)
