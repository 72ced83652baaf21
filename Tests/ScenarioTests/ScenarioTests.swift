import ConnectorApp
import Foundation
import Logging
import Scenarios
import SyncEngine
import Testing

/// Every scenario under `scenarios/`, each as its own test, plus the loader's error messages.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ScenarioTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scenarios").path

    static var files: [String] { (try? ScenarioReport.files([root])) ?? [] }

    @Test func thereAreScenarios() {
        #expect(Self.files.count >= 14)
    }

    @Test(arguments: files)
    func scenarioPasses(_ file: String) async throws {
        let scenario = try Scenario.load(path: file)
        var logger = Logger(label: "scenario")
        logger.logLevel = .critical
        let result = await ScenarioRunner(logger: logger).run(scenario)
        #expect(result.passed, "\(ScenarioReport.text(result))")
    }
}

@Suite(.timeLimit(.minutes(2))) struct ScenarioLoaderTests {
    func loadError(_ yaml: String) -> ScenarioLoadError? {
        do {
            _ = try Scenario.parse(yaml, file: "t.yaml")
            return nil
        } catch let error as ScenarioLoadError {
            return error
        } catch {
            return ScenarioLoadError(file: "?", line: 0, message: "\(error)")
        }
    }

    @Test func unknownKeysNameTheLineAndTheExpectedKeys() {
        let error = loadError("""
            name: x
            steps:
              - sync: {}
              - expect:
                  - commitmentz: {count: 1}
            """)
        #expect(error?.line == 5)
        #expect(error?.message.contains("unknown key 'commitmentz'") == true)
        #expect(error?.message.contains("commitments") == true)
    }

    @Test func wrongTypesAndMissingThingsAreCaught() {
        #expect(loadError("name: x\nsteps:\n  - advance: soon\n")?.message.contains("duration") == true)
        #expect(loadError("name: x\nsetup:\n  purchaseOrders: many\nsteps:\n  - sync: {}\n")?.line == 3)
        #expect(loadError("name: x\nsteps:\n  - createCostCode: {project: '9999', code: 31-100}\n")?.message.contains("not in the demo data set") == true)
        #expect(loadError("name: x\nsteps:\n  - fault: {system: sap, status: 500}\n")?.message.contains("syspro, procore") == true)
        #expect(loadError("name: x\nsteps:\n  - crash: {at: somewhere}\n")?.message.contains("after-destination-write") == true)
        #expect(loadError("name: x\nsetup:\n  settings: {budgetPolicy: maybe}\nsteps:\n  - sync: {}\n") != nil)
        #expect(loadError("name: x\nsetup:\n  settings: {nope: 1}\nsteps:\n  - sync: {}\n")?.message.contains("unknown flow setting 'nope'") == true)
        #expect(loadError("name: x\nsteps:\n  - insertRows: {table: Nope, rows: []}\n")?.message.contains("PorMasterHdr") == true)
        #expect(loadError("name: x\nsteps: [\n")?.message.contains("not valid YAML") == true)
        #expect(loadError("steps:\n  - sync: {}\n")?.message.contains("needs a name") == true)
        // values that would trap later are refused when the file is read
        #expect(loadError("name: x\nsteps:\n  - fault: {system: procore, status: 99999}\n")?.message.contains("not an HTTP status") == true)
        #expect(loadError("name: x\nsteps:\n  - fault: {system: procore, status: 503, seed: -1, probability: 0.5}\n")?.message.contains("seed") == true)
        #expect(loadError("name: x\nsteps:\n  - fault: {system: procore, status: 503, nth: 0}\n")?.message.contains("nth") == true)
    }

    /// Each flow has its own steps, assertions, settings and simulator sections; another flow's
    /// are refused with the line and what this one takes.
    @Test func stepsAndSetupBelongToTheirFlow() {
        let flow001 = "name: x\nsetup:\n  flow: procurify-syspro\n"
        // a Procurify step in a flow 000 scenario, a Procore step in a flow 001 one
        #expect(loadError("name: x\nsteps:\n  - procurifyCancel: {po: 1001}\n")?.message.contains("unknown key 'procurifyCancel'") == true)
        #expect(loadError(flow001 + "steps:\n  - createCostCode: {project: '2301', code: 31-100}\n")?.message.contains("procurifyPurchase") == true)
        #expect(loadError(flow001 + "steps:\n  - expect:\n      - commitments: {count: 1}\n")?.message.contains("sysproOrders") == true)
        #expect(loadError(flow001 + "steps:\n  - expect:\n      - noRepeatedPost\n")?.message.contains("unknown assertion 'noRepeatedPost'") == true)
        // setup sections of the other flow, and the flow's own settings type
        #expect(loadError(flow001 + "  procore: {hourlyLimit: 5}\nsteps:\n  - sync: {}\n")?.message.contains("applies to flow syspro-procore") == true)
        #expect(loadError("name: x\nsetup:\n  procurify: {callsPerMinute: 5}\nsteps:\n  - sync: {}\n")?.message.contains("applies to flow procurify-syspro") == true)
        #expect(loadError(flow001 + "  settings: {budgetPolicy: hold}\nsteps:\n  - sync: {}\n")?.message.contains("ledgerCodes") == true)
        #expect(loadError(flow001 + "  settings: {pageSize: 500}\nsteps:\n  - sync: {}\n")?.message.contains("outside 1…100") == true)
        // watermarks and summaries name the flow's entities; tokens expire on the systems that have them
        #expect(loadError(flow001 + "steps:\n  - expect:\n      - watermark: {entity: PorMasterHdr}\n")?.message.contains("purchaseOrders") == true)
        #expect(loadError(flow001 + "steps:\n  - expect:\n      - summary: {invoices.created: 1}\n")?.message.contains("bills") == true)
        #expect(loadError(flow001 + "steps:\n  - fault: {system: syspro, action: expire-tokens}\n")?.message.contains("procore, procurify and cloudsuite") == true)
        #expect(loadError(flow001 + "steps:\n  - procurifyPurchase: {lines: [{accountCode: '5100'}]}\n")?.message.contains("accountCode, quantity and price") == true)
        #expect(loadError(flow001 + "steps:\n  - sync: {}\n  - expect:\n      - sysproOrders: {count: 1}\n      - converged\n") == nil)
    }

    /// The "billion laughs": nine levels of ten aliases each stand for 10^9 nodes in a few hundred
    /// bytes. Refused at once, for scenarios and configs alike.
    @Test func aliasBombsAreRefused() throws {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        #expect(loadError("name: x\nsetup:\n  settings:\n    bomb:\n" + yaml.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n") + "\nsteps:\n  - sync: {}\n")?.message.contains("expands to more than") == true)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bomb-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try (yaml + "integrations: []\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SyncError.self) { try ConnectorConfig.load(path: path) }
        do {
            _ = try ConnectorConfig.load(path: path)
        } catch {
            #expect("\(error)".contains("expands to more than"))
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct ScenarioDatasetLoadTests {
    @Test func aMissingDataSetFileIsALoadErrorWithItsLine() {
        do {
            _ = try Scenario.parse("name: x\nsetup:\n  dataset: nowhere.json\nsteps:\n  - sync: {}\n", file: "/tmp/x.yaml")
            Issue.record("a missing data set file was accepted")
        } catch let error as ScenarioLoadError {
            #expect(error.line == 3)
            #expect(error.message.contains("cannot read the data set"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
