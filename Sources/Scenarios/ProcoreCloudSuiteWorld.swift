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
///
/// With `setup.serve: true` the integration runs under `serve`: the listener on a loopback port
/// with Procore's hook registered to it through Procore's API (its secret in the Authorization
/// header), and the poller — its first cycle runs before the steps, later ones when an event
/// wakes it (`serve: {cycle: woken}`) or the hour is over (`serve: {cycle: scheduled}`).
struct ProcoreCloudSuiteWorld: ScenarioWorld {
    let clock: ManualClock
    let store: any SyncStateStore
    let procore: ProcoreBackend
    let m3: CloudSuiteBackend
    let simulators: ProcoreCloudSuiteEnvironment.Simulators
    let settings: ProcoreCloudSuiteSettings
    var served: ServedIntegrationHarness? = nil
    var tokenSystem: String { "cloudsuite" }
    var syspro: SysproBackend? { nil }
    var company: Int { DemoData.m3Company }

    func core(_ system: String) -> SimulatorCore { system == "cloudsuite" ? simulators.cloudsuite : simulators.procore }
    var webhooks: WebhookDispatcher? { simulators.procore.system.webhooks }
    /// Moves the clock, stopping at every moment a webhook delivery retry is due on the way.
    func advance(by duration: Duration) async {
        if let webhooks { await webhooks.advance(clock, by: duration) } else { clock.advance(by: duration) }
    }
    func settle() async { await webhooks?.settle() }

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
            var world = ProcoreCloudSuiteWorld(clock: clock, store: store, procore: procore, m3: m3, simulators: simulators, settings: flowSettings)
            guard setup.serve else {
                let main: @Sendable () -> any SyncRunner = { (try? simulators.makeFlow(settings: flowSettings, timeout: setup.clientTimeout, callsPerMinute: pace)) ?? flow }
                return await runner.steps(of: scenario, world: world, main: main, inFlight: 2)
            }
            // under serve: the poller runs the one engine; the steps watch its cycles
            let harness = ServedIntegrationHarness(
                name: flow.scope, runner: flow, secret: "scenario-" + UUID().uuidString.prefix(8).lowercased(), store: store, clock: clock,
                interval: .seconds(3600), logger: runner.logger)
            world.served = harness
            try await harness.start()
            let (client, _) = try simulators.makeClients()
            _ = try await ProcoreHooks.ensure(
                procore: client, destination: harness.webhookURL, header: harness.integration.webhookHeader, secret: harness.integration.webhookSecret ?? "",
                resources: ["Purchase Order Contracts"])
            harness.startPolling(labels: ProcoreCloudSuite.entityLabels)
            guard let first = await harness.feed.next(timeout: .seconds(60)) else {
                await harness.shutDown()
                throw SyncError(.unexpectedResponse, "the served integration ran no first cycle within a minute")
            }
            var state = RunState(systems: setup.systems, labels: ProcoreCloudSuite.entityLabels, makers: [Scenario.mainIntegration: { flow }])
            state.inFlight = 2
            state.last = first
            let results = await runner.steps(of: scenario, world: world, state: &state)
            await harness.shutDown()
            return results
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
        case .procoreContract(let number, let projectNumber, let vendor, let lines, let count):
            guard let project = await procore.projectID(number: projectNumber) else { return StepResult(step: step, passed: false, detail: "no demo project \(projectNumber)") }
            for index in 0..<count {
                let name = count == 1 ? number : "\(number)-\(index + 1)"
                _ = try await procore.seedCommitment(projectID: project, seed: [
                    "number": .string(name), "title": .string("Contract \(name)"), "status": "Approved", "vendor_origin_id": .string(vendor),
                    "line_items": .array(lines),
                ])
            }
            // Procore turns the changes into webhook events as it answers its next request
            let (client, _) = try simulators.makeClients()
            _ = try await client.call("GET", "/rest/v1.0/projects", query: [("company_id", String(DemoData.companyID))])
            await settle()
            let waiting = await webhooks?.pending ?? 0
            return StepResult(step: step, passed: true, detail: "\(count) contract(s) approved in project \(projectNumber); \(waiting) webhook event(s) still waiting for delivery")
        case .m3Payment(let invoice, let amount):
            guard let batch = await m3.allInvoices(company: company).first(where: { $0.head["SINO"] == invoice }), let supplier = batch.head["SUNO"] else {
                return StepResult(step: step, passed: false, detail: "M3 has no supplier invoice \(invoice) to pay")
            }
            let paid = amount ?? batch.head["CUAM"] ?? "0"
            let key = await m3.recordPayment(company: company, supplier: supplier, invoice: invoice, amount: paid)
            return StepResult(step: step, passed: true, detail: "M3 paid \(supplier)/\(invoice) \(paid) (ledger row \(key))")
        case .webhooks(let command, let count):
            guard let webhooks else { return unsupported(step) }
            switch command {
            case "hold": await webhooks.hold()
            case "release":
                await webhooks.release()
                await webhooks.deliverDue()
            case "reorder": await webhooks.reorder()
            case "duplicate": await webhooks.duplicateNextEvents(count)
            default: await webhooks.deliverDue()
            }
            return StepResult(step: step, passed: true, detail: "webhooks \(command)\(command == "duplicate" ? " \(count)" : ""); \(await webhooks.pending) event(s) waiting")
        case .serve(let what, let value):
            guard let served else { return unsupported(step) }
            switch (what, value) {
            case ("receiver", "down"):
                await served.stop()
                return StepResult(step: step, passed: true, detail: "serve's listener stopped; 127.0.0.1:\(served.port) refuses connections")
            case ("receiver", _):
                try await served.start()
                return StepResult(step: step, passed: true, detail: "serve's listener back on 127.0.0.1:\(served.port)")
            default:
                if value == "scheduled" {
                    await advance(by: served.interval)
                    await served.schedule.release()
                }
                guard let summaries = try await served.cyclesCoveringEvents() else {
                    return StepResult(step: step, passed: false, detail: value == "woken" ? "no cycle ran within a minute: nothing woke the poller (no event reached serve)" : "the scheduled cycle did not run within a minute")
                }
                let summary = CycleSummary.combined(summaries, labels: ProcoreCloudSuite.entityLabels)
                state.last = summary
                let text = ScenarioRunner.describe(summary, labels: ProcoreCloudSuite.entityLabels)
                if !summary.errors.isEmpty { return StepResult(step: step, passed: false, detail: "the cycle reported errors: \(summary.errors.joined(separator: " | "))") }
                return StepResult(step: step, passed: true, detail: "\(summaries.count) cycle(s): \(text)")
            }
        case .m3Chart(let dimension, let values):
            for value in values { await m3.addAccountingIdentity(company: company, dimension: dimension, value) }
            return StepResult(step: step, passed: true, detail: "M3 company \(company) now has \(values.joined(separator: ", ")) in accounting dimension \(dimension)")
        case .servePost(let header, let body, let status):
            guard let served else { return unsupported(step) }
            // `$secret` stands for the integration's own webhook secret (a genuine sender)
            let answered = try await served.post(header: header?.replacingOccurrences(of: "$secret", with: served.integration.webhookSecret ?? ""), body: body)
            return StepResult(step: step, passed: answered == status, detail: "serve answered \(answered)" + (answered == status ? "" : ", expected \(status)"))
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
        case .contractPayments(let count):
            let found = await procore.allContractPayments(company: DemoData.companyID).filter { $0.originID?.hasPrefix("M3-PAY-") == true }.count
            return found == count ? nil : "expected \(count) Procore contract payments from M3, found \(found)"
        case .webhookEvents(let accepted, let duplicate, let refused, let pending):
            guard let served else { return "webhookEvents needs setup.serve: true" }
            var problems: [String] = []
            for (name, expected) in [("accepted", accepted), ("duplicate", duplicate), ("refused", refused)] {
                if let expected, served.events(name) != expected { problems.append("\(name) \(served.events(name)) (expected \(expected))") }
            }
            if let pending {
                let found = try await served.listener.store.pendingEvents(integration: served.integration.name, limit: 100_000).count
                if found != pending { problems.append("pending \(found) (expected \(pending))") }
            }
            return problems.isEmpty ? nil : "serve's webhook events: " + problems.joined(separator: ", ")
        case .deliveries(let outcome, let count, let atLeast):
            guard let webhooks else { return "Procore's simulator delivers no webhooks here" }
            let attempts = await webhooks.attempts.filter { outcome == nil || $0.outcome.rawValue == outcome }
            let what = "delivery attempts\(outcome.map { " with outcome \($0)" } ?? "")"
            if let count, attempts.count != count { return "expected \(count) \(what), found \(attempts.count)" }
            if let atLeast, attempts.count < atLeast { return "expected at least \(atLeast) \(what), found \(attempts.count)" }
            return nil
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
            twice(await procore.allContractPayments(company: DemoData.companyID).compactMap(\.originID), "Procore contract payment")
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
            // every M3 payment of an invoice from Procore is one Procore contract payment, or held
            let payments = await procore.allContractPayments(company: DemoData.companyID)
            let sent = Set(invoices.map { "\($0.head["SUNO"] ?? "")/\($0.head["SINO"] ?? "")" })
            for row in await m3.ledgerRows(company: company) where row["EPTRCD"] == "50" && sent.contains("\(row["EPSUNO"] ?? "")/\(row["EPSINO"] ?? "")") {
                let id = ["EPDIVI", "EPYEA4", "EPJRNO", "EPJSNO"].map { row[$0] ?? "" }.joined(separator: "/")
                guard !held.contains(id) else { continue }
                let found = payments.filter { $0.originID == "M3-PAY-" + id.replacingOccurrences(of: "/", with: "-") }
                if found.count != 1 { problems.append("M3 payment \(id) of \(row["EPSINO"] ?? "?"): \(found.count) Procore contract payments and not held") }
            }
            return Scenario.notConverged(problems)
        default:
            return "this assertion does not apply to flow \(ProcoreCloudSuite.name)"
        }
    }
}
