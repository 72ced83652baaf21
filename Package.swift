// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InferIsolatedConformances"),
]

let package = Package(
    name: "ml-connector",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ml-connector", targets: ["ml-connector"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // The product.
        .target(
            name: "SyncEngine",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SyncStore",
            dependencies: ["SyncEngine", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Vault",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ClientKit",
            dependencies: [
                "SyncEngine",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SysproClient",
            dependencies: [
                "SyncEngine", "ClientKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ProcoreClient",
            dependencies: [
                "SyncEngine", "ClientKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Cin7Client",
            dependencies: ["SyncEngine", "ClientKit"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ProcurifyClient",
            dependencies: ["SyncEngine", "ClientKit"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SAPB1Client",
            dependencies: ["SyncEngine", "ClientKit"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CloudSuiteClient",
            dependencies: ["SyncEngine", "ClientKit"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Flows",
            dependencies: ["SyncEngine", "SyncStore", "ClientKit", "SysproClient", "ProcoreClient", "ProcurifyClient", "SAPB1Client", "CloudSuiteClient", "Cin7Client"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ConnectorApp",
            dependencies: [
                "SyncEngine", "SyncStore", "Vault", "Flows", "ClientKit", "SysproClient", "ProcoreClient",
                "SimulatorKit", "SysproSimulator", "ProcoreSimulator", "Cin7Simulator", "Cin7Client",
                "ProcurifySimulator", "SAPB1Simulator", "CloudSuiteSimulator", "ProcurifyClient", "SAPB1Client", "CloudSuiteClient",
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Scenarios",
            dependencies: [
                "ConnectorApp", "Flows", "SyncEngine", "SyncStore", "SimulatorKit", "SysproSimulator", "ProcoreSimulator", "ProcurifySimulator", "SAPB1Simulator",
                "CloudSuiteSimulator", "Cin7Simulator",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ml-connector",
            dependencies: [
                "ConnectorApp", "Scenarios",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Coverage-guided fuzzing (Tests/Fuzz/README.md): one binary, the target picked by
        // FUZZ_TARGET; built with -sanitize=fuzzer,address -DFUZZING by Tests/Fuzz/run, and as a
        // plain corpus replayer otherwise.
        .executableTarget(
            name: "ml-connector-fuzz",
            dependencies: ["SyncEngine", "SimulatorKit", "SysproClient", "SysproSimulator", "Scenarios", "ConnectorApp", "Flows"],
            path: "Tests/Fuzz/Targets",
            swiftSettings: swiftSettings
        ),

        // The simulators: in-process fakes of the real systems.
        .target(
            name: "SimulatorKit",
            dependencies: [
                "SyncEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Simulators/SimulatorKit",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SysproSimulator",
            dependencies: ["SimulatorKit", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Simulators/SysproSimulator",
            exclude: ["COVERAGE.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Cin7Simulator",
            dependencies: ["SimulatorKit"],
            path: "Simulators/Cin7Simulator",
            exclude: ["COVERAGE.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ProcurifySimulator",
            dependencies: ["SimulatorKit"],
            path: "Simulators/ProcurifySimulator",
            exclude: ["COVERAGE.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SAPB1Simulator",
            dependencies: ["SimulatorKit"],
            path: "Simulators/SAPB1Simulator",
            exclude: ["COVERAGE.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CloudSuiteSimulator",
            dependencies: ["SimulatorKit"],
            path: "Simulators/CloudSuiteSimulator",
            exclude: ["COVERAGE.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ProcoreSimulator",
            dependencies: ["SimulatorKit", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Simulators/ProcoreSimulator",
            exclude: ["COVERAGE.md"],
            swiftSettings: swiftSettings
        ),

        // Tests.
        .testTarget(
            name: "SimulatorTests",
            dependencies: [
                "SysproSimulator", "ProcoreSimulator", "SimulatorKit", "Cin7Simulator", "ProcurifySimulator", "SAPB1Simulator", "CloudSuiteSimulator",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: ["SyncEngine", "SyncStore", "Vault", "ProcoreClient", "ClientKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScenarioTests",
            dependencies: ["Scenarios", "SyncEngine", "ConnectorApp", "SyncStore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FlowTests",
            dependencies: [
                "ConnectorApp", "Flows", "SyncEngine", "SyncStore", "SysproClient", "ProcoreClient", "Cin7Client", "ClientKit",
                "SimulatorKit", "SysproSimulator", "ProcoreSimulator", "Cin7Simulator",
                "ProcurifySimulator", "SAPB1Simulator", "CloudSuiteSimulator", "ProcurifyClient", "SAPB1Client", "CloudSuiteClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
