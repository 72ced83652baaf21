import CloudSuiteSimulator
import ConnectorApp
import Flows
import Foundation
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import SyncStore
import SysproSimulator

/// Flow 003's world: the Procore and CloudSuite simulators seeded with the demo projects
/// (`setup.commitments` approved contracts and their approved invoices) and M3's demo company
/// (the eight suppliers, items `CC-<cost code>`, facility A01, warehouse 100). Records are named
/// as in flow 002's world: `commitment:PC-1000`, `invoice:SUB-1001-1`.
struct ProcoreCloudSuiteWorld: ScenarioWorld {
    let clock: ManualClock
    let store: any SyncStateStore
    let procore: ProcoreBackend
    let m3: CloudSuiteBackend
    let simulators: ProcoreCloudSuiteEnvironment.Simulators
    let settings: ProcoreCloudSuiteSettings
    var tokenSystem: String { "cloudsuite" }
    var syspro: SysproBackend? { nil }
    var company: Int { DemoData.m3Company }

    func core(_ system: String) -> SimulatorCore { system == "cloudsuite" ? simulators.cloudsuite : simulators.procore }
    func advance(by duration: Duration) async { clock.advance(by: duration) }
    func settle() async {}

    static func execute(_ scenario: Scenario, runner: ScenarioRunner) async throws -> [StepResult] {
        let setup = scenario.setup
        let clock = ManualClock(start: setup.clock)
        let data = DemoData.procoreSAPB1(commitments: setup.purchaseOrders, today: clock.now())
        var settings = ProcoreCloudSuiteEnvironment.demoSettings
        settings.pageSize = 5
        settings = try merge(settings, setup.settings.objectValue ?? [:])
        let store = try SQLiteSyncStore.inMemory()
        let flowSettings = settings
        return try await ProcoreCloudSuiteEnvironment.run(data: data, clock: clock, store: store, settings: settings, logger: runner.logger) { _, procore, m3, simulators in
            if let overrides = setup.procore.objectValue, !overrides.isEmpty {
                await procore.setSettings(try merge(await procore.settings, overrides))
            }
            // `clientCallsPerMinute` paces our client; every other key sets the simulator
            var overrides = setup.cloudsuite.objectValue ?? [:]
            let pace = overrides.removeValue(forKey: "clientCallsPerMinute").flatMap { $0.doubleValue.map(Int.init) }
            if !overrides.isEmpty { await m3.setSettings(try merge(await m3.settings, overrides)) }
            let flow = try simulators.makeFlow(settings: flowSettings, timeout: setup.clientTimeout, callsPerMinute: pace)
            let main: @Sendable () -> any SyncRunner = { (try? simulators.makeFlow(settings: flowSettings, timeout: setup.clientTimeout, callsPerMinute: pace)) ?? flow }
            let world = ProcoreCloudSuiteWorld(clock: clock, store: store, procore: procore, m3: m3, simulators: simulators, settings: flowSettings)
            return await runner.steps(of: scenario, world: world, main: main, inFlight: 2)
        }
    }

    func resolve(_ source: String) async -> String { await procore.scenarioID(source) }

    func perform(_ step: Scenario.Step, state: inout RunState) async throws -> StepResult {
        switch step.action {
        case .procoreSettings(let overrides):
            return try await procore.changeSettings(overrides, step: step)
        case .procoreVendor(let name):
            let id = await procore.addVendor(companyID: DemoData.companyID, name: name, originID: nil)
            return StepResult(step: step, passed: true, detail: "vendor \(id) (\(name)) added to Procore's company directory")
        default:
            return unsupported(step)
        }
    }

    func evaluate(_ assertion: Scenario.Assertion, state: RunState) async throws -> String? {
        let orders = await m3.allPurchaseOrders(company: company)
        let invoices = await m3.allInvoices(company: company)
        switch assertion {
        case .m3Orders(let count):
            let found = orders.filter { !($0.head["YRE1"] ?? "").isEmpty }.count
            return found == count ? nil : "expected \(count) M3 POs carrying a Procore contract id, found \(found)"
        case .m3Invoices(let count):
            return invoices.count == count ? nil : "expected \(count) M3 supplier invoice batches, found \(invoices.count)"
        case .m3Supplier(let name, let number):
            let matches = await m3.allSuppliers(company: company).filter { $0["SUNM"] == name }
            guard matches.count == 1 else { return "expected one M3 supplier named \(name), found \(matches.count)" }
            if let number, matches[0]["SUNO"] != number { return "supplier \(name): expected number \(number), found \(matches[0]["SUNO"] ?? "?")" }
            return nil
        case .noDuplicates:
            var dupes: [String] = []
            func twice(_ keys: [String], _ what: String) {
                dupes += Dictionary(grouping: keys, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted().map { "\(what) \($0)" }
            }
            twice(orders.compactMap { $0.head["YRE1"] }, "PO for contract")
            twice(invoices.map { "\($0.head["SUNO"] ?? "")/\($0.head["SINO"] ?? "")" }, "invoice")
            twice(await m3.allSuppliers(company: company).compactMap { $0["SUNO"] }, "supplier")
            twice(await m3.allSuppliers(company: company).compactMap { $0["SUNM"] }, "supplier named")
            return dupes.isEmpty ? nil : "duplicates in M3: \(dupes.prefix(5).joined(separator: ", "))"
        case .converged:
            var problems: [String] = []
            let held = Set(try await store.quarantined(flow: state.flow.scope, status: .held).map(\.sourceID))
            let projects = Set(settings.projects)
            let records = await procore.financialRecords().filter { projects.contains($0.projectID) }
            for contract in records where contract.kind == "commitment" && contract.status == "Approved" && !held.contains(String(contract.id)) {
                let found = orders.filter { $0.head["YRE1"] == String(contract.id) }
                guard found.count == 1 else {
                    problems.append("contract \(contract.number): \(found.count) M3 POs and not held")
                    continue
                }
                let total = found[0].lines.reduce(Money.zero) { $0 + (Money.parse(.string($1["PUPR"] ?? "")) ?? .zero) }
                if total != contract.total { problems.append("contract \(contract.number): M3 \(total.decimalString), Procore \(contract.total.decimalString)") }
            }
            for invoice in records where invoice.kind == "invoice" && invoice.status == "approved" && !held.contains(String(invoice.id)) {
                let found = invoices.filter { $0.head["SINO"] == invoice.number }
                if found.count != 1 { problems.append("invoice \(invoice.number): \(found.count) M3 batches and not held") }
            }
            return Scenario.notConverged(problems)
        default:
            return "this assertion does not apply to flow \(ProcoreCloudSuite.name)"
        }
    }
}
