import AsyncHTTPClient
import ConnectorApp
import Flows
import Foundation
import Logging
import SyncEngine
import SyncStore

/// Runs the same scenario files against real systems (`scenario run --against real`).
///
/// Only what can apply to a real system runs: `sync`, `replay` and `crash` drive the engine
/// (and write to the destination, so they need `allowWrites`); assertions on the engine's own
/// state (quarantine, audit, watermark, summary) are checked. Everything that needs a simulator —
/// faults, the clock, editing source data, webhook control, assertions that inspect a simulated
/// system — is skipped with the reason. A connection not marked `sandbox: true` is refused unless
/// `allowProduction` is set.
public struct RealScenarioRunner: Sendable {
    public var config: ConnectorConfig
    public var integration: ConnectorConfig.Integration
    public var allowWrites: Bool
    public var databasePath: String
    public var logger: Logger
    /// The engine's clock: the wall clock for real systems; a test's stand-in sandbox passes its
    /// own clock so that the test has one.
    public var clock: any SyncClock

    /// - Throws: ``SyncError`` `.invalidConfig` when the connection is not a sandbox and
    ///   production was not allowed.
    public init(
        config: ConnectorConfig, integration: String?, allowWrites: Bool, allowProduction: Bool, databasePath: String, logger: Logger,
        clock: any SyncClock = SystemClock()
    ) throws {
        self.config = config
        self.integration = try config.integration(named: integration)
        guard self.integration.sandbox == true || allowProduction else {
            throw SyncError(.invalidConfig, "connection \(self.integration.name) is not marked sandbox: true; scenarios write test data, so they refuse production systems. Mark the connection as a sandbox, or pass --allow-production if you really mean it.")
        }
        self.allowWrites = allowWrites
        self.databasePath = databasePath
        self.logger = logger
        self.clock = clock
    }

    public func run(_ scenario: Scenario) async -> ScenarioResult {
        let started = ContinuousClock.now
        var results: [StepResult] = []
        do {
            let store = try SQLiteSyncStore.open(path: databasePath)
            try await HTTPClient.withHTTPClient { http in
                let flow = try integration.makeRunner(http: http, store: store, clock: clock, logger: logger)
                var last: CycleSummary?
                for step in scenario.steps {
                    let result = await perform(step, flow: flow, store: store, last: &last)
                    results.append(result)
                    if !result.passed && !result.skipped { break }
                }
            }
        } catch {
            results.append(StepResult(step: Scenario.Step(line: 0, name: "connect", action: .expect([])), passed: false, detail: "\(error)"))
        }
        return ScenarioResult(scenario: scenario, steps: results, seconds: (ContinuousClock.now - started).timeInterval)
    }

    func skip(_ step: Scenario.Step, _ reason: String) -> StepResult {
        StepResult(step: step, passed: true, skipped: true, detail: "skipped against a real system: \(reason)")
    }

    func perform(_ step: Scenario.Step, flow: any SyncRunner, store: any SyncStateStore, last: inout CycleSummary?) async -> StepResult {
        switch step.action {
        case .use:
            return skip(step, "a real run has one integration, the one the connections file names")
        case .sync, .replay, .crash:
            guard allowWrites else { return skip(step, "it writes to \(integration.name); pass --allow-writes") }
            do {
                switch step.action {
                case .sync:
                    last = try await flow.runCycle()
                case .replay(let ids, let overrideBudget):
                    last = try await flow.replay(sourceIDs: ids, overrideBudget: overrideBudget)
                case .crash(let point, let skip):
                    await flow.armCrash(at: point, skip: skip)
                    return StepResult(step: step, passed: true, detail: "the next sync stops at \(point.rawValue)")
                default: break
                }
                let errors = last?.errors ?? []
                return StepResult(step: step, passed: errors.isEmpty, detail: errors.isEmpty ? "cycle finished" : errors.joined(separator: " | "))
            } catch let crash as SimulatedCrash {
                return StepResult(step: step, passed: true, detail: "\(crash)")
            } catch {
                return StepResult(step: step, passed: false, detail: "\(error)")
            }
        case .advance: return skip(step, "the clock of a real system cannot be moved")
        case .fault, .clearFaults: return skip(step, "faults are injected into simulators only")
        case .createCostCode, .insertRows, .updateRows, .deleteRows, .addLatePurchaseOrder:
            return skip(step, "it edits simulator data; prepare the sandbox's data by hand")
        case .procoreSettings: return skip(step, "simulator settings")
        case .procoreCommitment: return skip(step, "it changes a commitment as a Procore user would; do it in the sandbox by hand")
        case .procoreBillingPeriod: return skip(step, "an invoicing administrator opens billing periods; do it in the sandbox by hand")
        case .registerHook, .receiver, .webhooks: return skip(step, "webhook control needs the simulator and its test receiver")
        case .procurifyPurchase, .procurifyRevise, .procurifyCancel, .procurifyVendor, .procurifyBill, .procurifyBillStatus:
            return skip(step, "it acts as a Procurify user would; do it in the sandbox by hand")
        case .procoreChangeOrder, .procoreChangeOrderStatus, .procoreDirectCost, .procoreVendor, .procoreContract:
            return skip(step, "it acts as a Procore user would; do it in the sandbox by hand")
        case .m3Payment: return skip(step, "M3's payment run pays invoices; run it in the sandbox tenant by hand")
        case .m3Chart: return skip(step, "it changes M3's chart of accounts; do it in the sandbox tenant by hand")
        case .serve, .servePost: return skip(step, "run `ml-connector serve` against the sandbox and watch its /metrics")
        case .sapb1PostingPeriod, .sapb1Master: return skip(step, "it changes SAP set-up; do it in the sandbox company by hand")
        case .cin7Supplier: return skip(step, "it edits a supplier as a Cin7 user would; do it in the sandbox by hand")
        case .cin7Account: return skip(step, "it changes Cin7's chart of accounts; do it in the sandbox by hand")
        case .cin7Settings: return skip(step, "simulator settings")
        case .expect(let assertions):
            var failures: [String] = []
            var checked = 0
            for assertion in assertions {
                guard let failure = await check(assertion, store: store, last: last) else { continue }
                checked += 1
                if let failure { failures.append(failure) }
            }
            if checked == 0 { return skip(step, "every assertion here inspects a simulated system") }
            return StepResult(step: step, passed: failures.isEmpty,
                              detail: failures.isEmpty ? "\(checked) engine-side assertion(s) hold; the rest need a simulator" : failures.joined(separator: "; "))
        }
    }

    /// - Returns: `nil` when the assertion cannot be checked against a real system; otherwise
    ///   `.some(nil)` when it holds and `.some(message)` when it fails.
    func check(_ assertion: Scenario.Assertion, store: any SyncStateStore, last: CycleSummary?) async -> String?? {
        do {
            switch assertion {
            case .quarantine(let source, let status, let code, _):
                let entry = try await store.quarantined(flow: integration.name, status: nil).first { $0.sourceID == source }
                guard let entry else { return .some("expected \(source) in quarantine, it is not there") }
                if let status, entry.status.rawValue != status { return .some("\(source): status \(entry.status.rawValue), expected \(status)") }
                if let code, entry.errorCode != code { return .some("\(source): code \(entry.errorCode), expected \(code)") }
                return .some(nil)
            case .watermark(let entity, let equals):
                let found = try await store.watermark(flow: integration.name, entity: entity)
                return .some(found == equals ? nil : "the \(entity) watermark is \(found ?? "unset"), expected \(equals ?? "unset")")
            case .summary(let path, let equals):
                guard let last else { return .some("no cycle has run to read \(path) from") }
                let parts = path.split(separator: ".").map(String.init)
                let found = last[parts[0]].field(parts[1]) ?? -1
                return .some(found == equals ? nil : "\(path) is \(found), expected \(equals)")
            default:
                return nil
            }
        } catch {
            return .some("could not read the engine's state: \(error)")
        }
    }
}
