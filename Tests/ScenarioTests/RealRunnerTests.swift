import ConnectorApp
import Foundation
import Logging
import Scenarios
import SyncEngine
import SyncStore
import Testing
import Yams

/// `scenario run --against real`, pointed at simulators standing in for a customer's sandbox.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RealRunnerTests {
    static let scenario = """
        name: against real
        steps:
          - fault: {system: procore, status: 500}
          - sync: {}
          - advance: 1h
          - expect:
              - quarantine: {source: DEMO-UNMAPPED, status: held, code: missingCostCode}
              - commitments: {count: 4}
          - expect:
              - no_duplicates
        """

    func config(urls: [String: String], sandbox: Bool) throws -> ConnectorConfig {
        setenv("MLC_TEST_SYSPRO_PW", DemoData.operatorPassword, 1)
        setenv("MLC_TEST_ODATA_PW", DemoData.odataPassword, 1)
        setenv("MLC_TEST_PROCORE_SECRET", DemoData.clientSecret, 1)
        let yaml = """
            integrations:
              - name: customer-sandbox
                flow: syspro-procore
                sandbox: \(sandbox)
                syspro:
                  enetBase: \(urls["syspro"]!)/SYSPROWCFService/Rest
                  odataRoot: \(urls["syspro"]!)/SYSPRO8Odata/SYSPROOData/EDU1
                  operator: \(DemoData.operatorCode)
                  operatorPassword: env:MLC_TEST_SYSPRO_PW
                  companyId: EDU1
                  odataPassword: env:MLC_TEST_ODATA_PW
                procore:
                  loginBase: \(urls["procore"]!)
                  apiBase: \(urls["procore"]!)
                  clientId: \(DemoData.clientID)
                  clientSecret: env:MLC_TEST_PROCORE_SECRET
                  companyId: 8
                settings:
                  budgetPolicy: post-and-warn
                  costCodes:
                    - {glAccount: "5100", costCenter: "200", costCode: "03-300"}
                    - {glAccount: "5200", costCenter: "210", costCode: "05-100"}
                    - {glAccount: "5300", costCenter: "220", costCode: "09-200"}
                    - {glAccount: "5400", costCenter: "230", costCode: "26-100"}
                    - {glAccount: "5500", costCenter: "240", costCode: "31-100"}
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConnectorConfig.load(path: path)
    }

    /// The stand-in sandbox's clock and the runner's: one clock for the test. It starts today, as
    /// a real system's would, and moves only when the runner sleeps.
    let clock = ManualClock(start: Date())

    func withSandbox(_ body: @Sendable ([String: String]) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        try await SimulatedEnvironment.run(
            data: DemoData.generate(purchaseOrders: 4, today: clock.now()), clock: clock, store: try SQLiteSyncStore.inMemory(),
            logger: logger
        ) { env in try await body(env.urls) }
    }

    var quiet: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test func refusesAConnectionThatIsNotASandbox() async throws {
        try await withSandbox { urls in
            let file = try config(urls: urls, sandbox: false)
            #expect(throws: SyncError.self) {
                _ = try RealScenarioRunner(config: file, integration: nil, allowWrites: true, allowProduction: false, databasePath: "/tmp/x", logger: quiet)
            }
        }
    }

    @Test func withoutAllowWritesNothingIsWrittenAndEverySkipSaysWhy() async throws {
        try await withSandbox { urls in
            let runner = try RealScenarioRunner(
                config: try config(urls: urls, sandbox: true), integration: nil, allowWrites: false, allowProduction: false,
                databasePath: FileManager.default.temporaryDirectory.appendingPathComponent("mlc-\(UUID().uuidString).sqlite").path,
                logger: quiet, clock: clock)
            let result = await runner.run(try Scenario.parse(Self.scenario, file: "real.yaml"))
            #expect(result.steps[0].skipped && result.steps[0].detail.contains("simulators only"))
            #expect(result.steps[1].skipped && result.steps[1].detail.contains("--allow-writes"))
            #expect(result.steps[2].skipped && result.steps[2].detail.contains("clock"))
            // With nothing synced, the engine-side assertion fails: the record is not in quarantine.
            #expect(!result.steps[3].passed && result.steps[3].detail.contains("DEMO-UNMAPPED"))
        }
    }

    @Test func withAllowWritesTheSyncRunsAndEngineSideAssertionsAreChecked() async throws {
        try await withSandbox { urls in
            let database = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-\(UUID().uuidString).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) } }
            let runner = try RealScenarioRunner(
                config: try config(urls: urls, sandbox: true), integration: nil, allowWrites: true, allowProduction: false,
                databasePath: database, logger: quiet, clock: clock)
            let result = await runner.run(try Scenario.parse(Self.scenario, file: "real.yaml"))
            #expect(result.passed, "\(ScenarioReport.text(result))")
            #expect(result.steps[1].passed && !result.steps[1].skipped)
            #expect(result.steps[3].detail.contains("1 engine-side assertion(s) hold"))
            #expect(result.steps[4].skipped)
        }
    }
}
