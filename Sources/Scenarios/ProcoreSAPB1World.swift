import ConnectorApp
import Flows
import Foundation
import ProcoreSimulator
import SAPB1Simulator
import SimulatorKit
import SyncEngine
import SyncStore
import SysproSimulator

/// Flow 002's world: the Procore and SAP B1 simulators seeded with the demo projects
/// (`setup.commitments` approved commitments with change orders, direct costs and invoices),
/// the steps a project team and finance take, and the assertions that read SAP's documents.
/// Scenarios name Procore records by their numbers — `commitment:PC-1000`,
/// `changeOrder:PC-1000/001`, `directCost:DC-2000`, `invoice:SUB-1001-1` — wherever a source id
/// goes (quarantine, audit, replay); the world turns them into Procore's ids.
struct ProcoreSAPB1World: ScenarioWorld {
    let clock: ManualClock
    let store: any SyncStateStore
    let procore: ProcoreBackend
    let sap: SAPB1Backend
    let simulators: ProcoreSAPB1Environment.Simulators
    let settings: ProcoreSAPB1Settings
    var tokenSystem: String { "procore" }
    var syspro: SysproBackend? { nil }

    func core(_ system: String) -> SimulatorCore { system == "sapb1" ? simulators.sapb1 : simulators.procore }
    func advance(by duration: Duration) async { clock.advance(by: duration) }
    func settle() async {}

    static func execute(_ scenario: Scenario, runner: ScenarioRunner) async throws -> [StepResult] {
        let setup = scenario.setup
        let clock = ManualClock(start: setup.clock)
        var data = DemoData.procoreSAPB1(commitments: setup.purchaseOrders, today: clock.now())
        if let accuracy = setup.totalsAccuracy, case .object(var sap) = data.sapb1, case .array(var companies) = sap["companies"],
            case .object(var company) = companies.first
        {
            company["totalsAccuracy"] = .number(Double(accuracy))
            companies[0] = .object(company)
            sap["companies"] = .array(companies)
            data.sapb1 = .object(sap)
        }
        var settings = DemoData.procoreSAPB1Settings
        settings.pageSize = 5
        settings = try merge(settings, setup.settings.objectValue ?? [:])
        let store = try SQLiteSyncStore.inMemory()
        let flowSettings = settings
        return try await ProcoreSAPB1Environment.run(data: data, clock: clock, store: store, settings: settings, logger: runner.logger) { _, procore, sap, simulators in
            if let overrides = setup.procore.objectValue, !overrides.isEmpty {
                await procore.setSettings(try merge(await procore.settings, overrides))
            }
            if let overrides = setup.sapb1.objectValue, !overrides.isEmpty {
                await sap.setSettings(try merge(await sap.settings, overrides))
            }
            let main: @Sendable () -> any SyncRunner = { simulators.makeFlow(settings: flowSettings, timeout: setup.clientTimeout) }
            let world = ProcoreSAPB1World(clock: clock, store: store, procore: procore, sap: sap, simulators: simulators, settings: flowSettings)
            return await runner.steps(of: scenario, world: world, main: main, inFlight: 2)
        }
    }

    /// `kind:number` → Procore's id; anything else as it is.
    func resolve(_ source: String) async -> String { await procore.scenarioID(source) }

    // MARK: steps

    func perform(_ step: Scenario.Step, state: inout RunState) async throws -> StepResult {
        switch step.action {
        case .procoreSettings(let overrides):
            return try await procore.changeSettings(overrides, step: step)
        case .procoreChangeOrder(let number, let coNumber, let status, let lines):
            guard let commitment = await procore.financialRecords().first(where: { $0.kind == "commitment" && $0.number == number }) else {
                return StepResult(step: step, passed: false, detail: "Procore has no commitment \(number)")
            }
            var seed: [String: JSONValue] = ["status": .string(status), "line_items": .array(lines)]
            if let coNumber { seed["number"] = .string(coNumber) }
            let id = try await procore.addChangeOrder(commitmentID: commitment.id, seed: .object(seed))
            return StepResult(step: step, passed: true, detail: "change order \(id) (\(status)) on commitment \(number)")
        case .procoreChangeOrderStatus(let name, let status):
            guard let co = await procore.financialRecords().first(where: { $0.kind == "changeOrder" && $0.number == name }) else {
                return StepResult(step: step, passed: false, detail: "Procore has no change order \(name)")
            }
            let changed = await procore.setChangeOrderStatus(id: co.id, status: status)
            return StepResult(step: step, passed: changed, detail: "change order \(name) now \(status)")
        case .procoreDirectCost(let project, let seed):
            var fields = seed.objectValue ?? [:]
            fields["direct_cost_date"] = fields["direct_cost_date"] ?? .string(CalendarDay.string(clock.now()))
            let id = try await procore.addDirectCost(projectNumber: project, seed: .object(fields))
            return StepResult(step: step, passed: true, detail: "direct cost \(id) entered in project \(project)")
        case .sapb1PostingPeriod(let code, let status):
            let found = await sap.setPostingPeriod(company: DemoData.sapCompanyDB, code: code, status: status)
            return StepResult(step: step, passed: found, detail: found ? "posting period \(code) now \(status)" : "SAP has no posting period \(code)")
        case .sapb1Master(let set, let key, let fields):
            await sap.upsert(set, company: DemoData.sapCompanyDB, key: key, fields: fields)
            return StepResult(step: step, passed: true, detail: "\(set)('\(key)') set in SAP: \(JSONValue.object(fields).canonicalJSON())")
        default:
            return unsupported(step)
        }
    }

    // MARK: assertions

    /// SAP documents carrying a Procore id, with their set.
    func documents() async -> [(set: String, key: String, total: Money)] {
        var all: [(String, String, Money)] = []
        for set in ["PurchaseInvoices", "JournalEntries"] {
            for row in await sap.rows(set, company: DemoData.sapCompanyDB) {
                guard let key = row["U_PROCORE_ID"]?.stringValue else { continue }
                let total = set == "PurchaseInvoices"
                    ? Money.parse(row["DocTotal"] ?? nil) ?? .zero
                    : (row["JournalEntryLines"]?.arrayValue ?? []).reduce(Money.zero) { $0 + (Money.parse($1["Debit"] ?? nil) ?? .zero) }
                all.append((set, key, total))
            }
        }
        return all
    }

    /// The `U_PROCORE_ID` flow 002 gives a Procore record.
    static func key(_ record: ProcoreFinancialRecord) -> String {
        switch record.kind {
        case "commitment": "cmt:\(record.id)"
        case "changeOrder": "cmt:\(record.commitmentID ?? 0):co:\(record.id)"
        case "directCost": "dc:\(record.id)"
        default: "req:\(record.id)"
        }
    }

    func evaluate(_ assertion: Scenario.Assertion, state: RunState) async throws -> String? {
        switch assertion {
        case .sapDocuments(let set, let count):
            let found = await documents().filter { set == nil || $0.set == set }.count
            return found == count ? nil : "expected \(count) \(set ?? "SAP documents") from Procore, found \(found)"
        case .sapDocument(let source, let exists, let set, let total):
            let kind = source.split(separator: ":").first.map(String.init) ?? ""
            let number = source.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            guard let record = await procore.financialRecords().first(where: { $0.kind == kind && $0.number == number }) else {
                return "Procore has no \(source)"
            }
            let matches = await documents().filter { $0.key == Self.key(record) }
            if !exists { return matches.isEmpty ? nil : "expected no SAP document for \(source), found \(matches.count)" }
            guard matches.count == 1, let document = matches.first else { return "expected one SAP document for \(source), found \(matches.count)" }
            if let set, document.set != set { return "\(source): expected a document of \(set), it is in \(document.set)" }
            if let total, Money.parse(.string(total)) != document.total {
                return "\(source): expected \(total) in SAP, found \(document.total.decimalString)"
            }
            return nil
        case .noDuplicates:
            let keys = await documents().map(\.key)
            let dupes = Dictionary(grouping: keys, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            return dupes.isEmpty ? nil : "duplicate SAP documents for: \(dupes.prefix(5).joined(separator: ", "))"
        case .converged:
            return try await converged(scope: state.flow.scope)
        default:
            return "this assertion does not apply to flow \(ProcoreSAPB1.name)"
        }
    }

    /// Procore and SAP agree: every approved commitment, approved change order (on a posted
    /// commitment), approved direct cost and approved invoice of a configured project is one SAP
    /// document of its amount (at SAP's precision) — or held; nothing else from Procore is in SAP.
    func converged(scope: String) async throws -> String? {
        var problems: [String] = []
        let held = Set(try await store.quarantined(flow: scope, status: .held).map(\.sourceID))
        let documents = Dictionary(grouping: await documents(), by: \.key)
        let projects = Set(settings.projects.map(\.procoreProject))
        let accuracy = await sap.totalsAccuracy(company: DemoData.sapCompanyDB)
        var expected = Set<String>()
        for record in await procore.financialRecords() where projects.contains(record.projectID) {
            let postable = switch record.kind {
            case "commitment": record.status == "Approved"
            case "invoice", "changeOrder", "directCost": record.status == "approved"
            default: false
            }
            guard postable, !held.contains(String(record.id)) else { continue }
            let key = Self.key(record)
            expected.insert(key)
            guard let found = documents[key], found.count == 1 else {
                problems.append("\(record.kind) \(record.number): \(documents[key]?.count ?? 0) SAP documents and not held")
                continue
            }
            // SAP keeps TotalsAccuracy decimals: each line rounded, so the totals may differ by
            // less than one unit of the last kept decimal per line (two lines at most in the demo
            // set); a deductive change order posts its amount the other way round: sizes compare
            let step = Int64(pow(10, Double(max(0, 2 - accuracy))))
            let difference = abs(Int64(found[0].total.minor.magnitude) - Int64(record.total.minor.magnitude))
            if accuracy >= 2 ? difference != 0 : difference >= 2 * step {
                problems.append("\(record.kind) \(record.number): SAP \(found[0].total.decimalString), Procore \(record.total.decimalString)")
            }
        }
        for key in documents.keys where !expected.contains(key) && !held.contains(String(key.split(separator: ":").last ?? "")) {
            problems.append("SAP document \(key) has no postable Procore record")
        }
        return Scenario.notConverged(problems)
    }
}
