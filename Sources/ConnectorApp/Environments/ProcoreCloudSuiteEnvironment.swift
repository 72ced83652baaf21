import AsyncHTTPClient
import ClientKit
import CloudSuiteClient
import CloudSuiteSimulator
import Flows
import Foundation
import Logging
import ProcoreClient
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import SyncStore

/// Flow 003's world in one process: the Procore and CloudSuite simulators on loopback, seeded
/// from a data set, both clients over real HTTP, the flow on a store.
public enum ProcoreCloudSuiteEnvironment {
    public struct Simulators: Sendable {
        public let urls: [String: String]
        public let procore: SimulatorCore
        public let cloudsuite: SimulatorCore
        let http: HTTPClient
        let clock: ManualClock
        let store: any SyncStateStore
        let logger: Logger

        /// - Parameter callsPerMinute: the CloudSuite client paces itself to this quota (nil: it does not).
        public func makeClients(timeout: Duration = .seconds(30), callsPerMinute: Int? = nil) throws -> (ProcoreClient, CloudSuiteClient) {
            let procore = ProcoreClient(
                connection: ProcoreConnection(
                    loginBase: urls["procore"]!, apiBase: urls["procore"]!, clientID: DemoData.clientID, clientSecret: DemoData.clientSecret,
                    companyID: DemoData.companyID),
                transport: HTTPTransport(http: http, system: "procore", clock: clock, timeout: timeout, logger: logger))
            let file = try IonAPIFile(text: DemoData.ionapiFile(base: urls["cloudsuite"]!).canonicalJSON(), source: "the demo .ionapi file")
            let m3 = CloudSuiteClient(
                connection: CloudSuiteConnection(ionapi: file, company: DemoData.m3Company, callsPerMinute: callsPerMinute),
                transport: HTTPTransport(http: http, system: "cloudsuite", clock: clock, timeout: timeout, logger: logger, seed: 2))
            return (procore, m3)
        }

        public func makeFlow(settings: ProcoreCloudSuiteSettings, timeout: Duration = .seconds(30), callsPerMinute: Int? = nil) throws -> ProcoreCloudSuiteFlow {
            let (procore, m3) = try makeClients(timeout: timeout, callsPerMinute: callsPerMinute)
            return ProcoreCloudSuiteFlow(settings: settings, procore: procore, m3: m3, store: store, clock: clock, logger: logger)
        }
    }

    /// Flow 003's settings for the demo data set: the three projects, each cost code on the M3
    /// item `CC-<code>`.
    public static var demoSettings: ProcoreCloudSuiteSettings {
        ProcoreCloudSuiteSettings(
            projects: DemoData.projects.map(\.id),
            items: Dictionary(DemoData.costCodes.map { ($0.code, "CC-" + $0.code) }, uniquingKeysWith: { a, _ in a }))
    }

    public static func run<R: Sendable>(
        data: DemoData, clock: ManualClock, store: any SyncStateStore, settings: ProcoreCloudSuiteSettings, logger: Logger,
        _ body: @Sendable (ProcoreCloudSuiteFlow, ProcoreBackend, CloudSuiteBackend, Simulators) async throws -> R
    ) async throws -> R {
        let (procoreCore, procore) = ProcoreSimulator.makeCore(clock: clock)
        let (m3Core, m3) = CloudSuiteSimulator.makeCore(clock: clock)
        try await procoreCore.system.seed(data.procore)
        try await m3.seed(data.cloudsuite)
        return try await SimulatorHost.withRunning([procoreCore, m3Core]) { urls in
            try await HTTPClient.withHTTPClient { http in
                let simulators = Simulators(urls: urls, procore: procoreCore, cloudsuite: m3Core, http: http, clock: clock, store: store, logger: logger)
                return try await body(try simulators.makeFlow(settings: settings), procore, m3, simulators)
            }
        }
    }
}

extension Demo {
    /// `ml-connector demo procore-cloudsuite`: flow 003 under `serve` — the listener on loopback,
    /// the Procore hook registered through Procore's API, a first cycle of the demo projects into
    /// M3; then a contract approved in Procore, whose webhook reaches the running service and
    /// wakes the integration at once (no waiting for the hourly poll).
    public static func runProcoreCloudSuite(databasePath: String, logger: Logger, output: @Sendable (String) -> Void) async throws -> (CycleSummary, CycleSummary) {
        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))  // 2026-11-30
        let data = DemoData.procoreSAPB1(commitments: 6, today: clock.now())
        let secret = "demo-webhook-" + UUID().uuidString.prefix(8).lowercased()
        return try await ProcoreCloudSuiteEnvironment.run(data: data, clock: clock, store: store, settings: ProcoreCloudSuiteEnvironment.demoSettings, logger: logger) { flow, procore, m3, simulators in
            let summaries = CycleFeed()
            let integration = ServedIntegration(name: "procore-to-m3", runner: flow, interval: .seconds(3600), webhookSecret: secret)
            let listener = ServeListener(integrations: [integration], store: store, metrics: ServeMetrics(), clock: clock)
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = Serve.application(receiver: listener, stats: TransportStats(), host: "127.0.0.1", port: 0, logger: logger) { continuation.yield($0) }
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.run() }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw SyncError(.unexpectedResponse, "the listener did not start") }
                output("Simulators: Procore at \(simulators.urls["procore"]!), CloudSuite at \(simulators.urls["cloudsuite"]!)")
                output("serve: listening on http://127.0.0.1:\(port) (/webhooks/procore-to-m3, /healthz, /metrics)")
                let (procoreClient, _) = try simulators.makeClients()
                let hook = try await ProcoreHooks.ensure(
                    procore: procoreClient, destination: "http://127.0.0.1:\(port)/webhooks/procore-to-m3", header: "Authorization", secret: secret,
                    resources: ["Purchase Order Contracts"])
                output("Procore hook \(hook.hookID) registered (Purchase Order Contracts create/update), the secret in its Authorization header")
                // the hourly schedule runs on the demo's clock: the demo says when an hour has passed
                let hour = ManualSchedule()
                group.addTask {
                    await Serve.poll(
                        integration, labels: ProcoreCloudSuite.entityLabels, receiver: listener, clock: clock, logger: logger,
                        sleep: { _ in try await hour.due() }, keepGoing: { !Task.isCancelled }, reported: { await summaries.add($0) })
                }
                output("\n== First cycle (at start)")
                guard let first = await summaries.next() else { throw SyncError(.unexpectedResponse, "the served integration ran no cycle within a minute") }
                output(first.report)
                output("\n== A contract approved in Procore: PC-2000 for Pacific Rebar Supply, 18,400.00")
                clock.advance(by: .seconds(600))
                guard let project = await procore.projectID(number: "2301") else { throw SyncError(.unexpectedResponse, "no demo project 2301") }
                try await procore.seedCommitment(projectID: project, seed: [
                    "number": "PC-2000", "title": "Rebar, level 4", "status": "Approved", "vendor_origin_id": "SUP001",
                    "line_items": [["cost_code": "03-300", "description": "Rebar, level 4", "amount": "18400.00"]],
                ])
                // Procore's simulator turns changes into events as it answers its next request
                _ = try await procoreClient.list("/rest/v1.0/projects", query: [("company_id", String(DemoData.companyID))], what: "projects")
                await (simulators.procore.system.webhooks)?.settle()
                let received = Int(listener.metrics.value("mlc_webhook_events_total", [("integration", "procore-to-m3"), ("result", "accepted")]) ?? 0)
                output("serve received \(received) webhook event(s) from Procore (the contract created, then approved) and woke the integration")
                output("\n== The woken cycle")
                guard let second = await summaries.next() else { throw SyncError(.unexpectedResponse, "the served integration ran no cycle within a minute") }
                output(second.report)
                let orders = await m3.allPurchaseOrders(company: DemoData.m3Company)
                output("\nM3 now holds \(orders.count) purchase orders from Procore contracts (YRE1 = contract id) and \(await m3.allInvoices(company: DemoData.m3Company).count) supplier invoice batches.")
                let invoices = await m3.allInvoices(company: DemoData.m3Company)
                if let paid = invoices.first?.head, let supplier = paid["SUNO"], let number = paid["SINO"], let amount = paid["CUAM"] {
                    output("\n== M3 pays supplier invoice \(number) of \(supplier), \(amount); an hour later the scheduled poll reads it back")
                    await m3.recordPayment(company: DemoData.m3Company, supplier: supplier, invoice: number, amount: amount)
                    clock.advance(by: .seconds(3600))
                    await hour.release()
                    guard let third = await summaries.next() else { throw SyncError(.unexpectedResponse, "the served integration ran no cycle within a minute") }
                    output(third.report)
                    for payment in await procore.allContractPayments(company: DemoData.companyID) {
                        output("Procore contract \(payment.contract) now shows a payment of \(payment.amount) for invoice \(payment.invoiceNumber ?? "?") (origin_id \(payment.originID ?? "-"), locked as ERP-synced)")
                    }
                }
                output("Metrics (as /metrics serves them):")
                for line in (await listener.metricsText(stats: TransportStats())).split(separator: "\n") where !line.hasPrefix("#") { output("  \(line)") }
                group.cancelAll()
                return (first, second)
            }
        }
    }

}

extension Bench {
    /// `bench procore-cloudsuite --records N`: N approved Procore contracts (with the demo set's
    /// invoices), one webhook event each handed to `serve`'s listener (kept in the store), then the
    /// cycle those events wake — run here directly — paced to the gateway quota (300 a minute, the
    /// client at 270), which marks them processed.
    /// Prints the listener's events/s, the records/s into M3 (wall clock), the M3 calls, the share
    /// of the quota they used over the simulated minutes the pacing took, the 429s and peak memory.
    public static func runProcoreCloudSuite(contracts: Int, databasePath: String, logger: Logger, output: @Sendable (String) -> Void) async throws {
        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))
        var data = DemoData.procoreSAPB1(commitments: contracts, today: clock.now())
        if case .object(var seed) = data.procore {
            seed["settings"] = ["hourlyLimit": 100_000_000, "spikeLimit": nil]
            data.procore = .object(seed)
        }
        if case .object(var seed) = data.cloudsuite {
            seed["settings"] = ["tenant": .string(DemoData.ionTenant), "callsPerMinute": 300]
            data.cloudsuite = .object(seed)
        }
        let settings = { var s = ProcoreCloudSuiteEnvironment.demoSettings; s.pageSize = 100; return s }()
        let quota = 300, pace = 270
        output("Procore: \(contracts) approved contracts with invoices; one webhook event per contract into serve; M3 quota \(quota)/min, client paced at \(pace)/min…")
        try await ProcoreCloudSuiteEnvironment.run(data: data, clock: clock, store: store, settings: settings, logger: logger) { _, procore, m3, simulators in
            let flow = try simulators.makeFlow(settings: settings, callsPerMinute: pace)
            let integration = ServedIntegration(name: "bench", runner: flow, interval: .seconds(3600), webhookSecret: "bench-secret")
            let listener = ServeListener(integrations: [integration], store: store, metrics: ServeMetrics(), clock: clock)
            let ids = await procore.financialRecords().filter { $0.kind == "commitment" }.map { ($0.id, $0.projectID) }
            // the events, as Procore would post them, through the listener's own handler (the HTTP
            // layer's load is measured by Tests/Load/serve-load)
            let received = ContinuousClock.now
            for (id, project) in ids {
                let event = #"{"id":\#(id),"ulid":"bench-\#(id)","event_type":"update","resource_name":"Purchase Order Contracts","resource_id":\#(id),"company_id":8,"project_id":\#(project)}"#
                _ = await listener.receive(integration: "bench", headers: ["Authorization": "Bearer bench-secret"], body: Data(event.utf8))
            }
            let receiveSeconds = (ContinuousClock.now - received).timeInterval
            output(String(format: "Listener: %d events kept in %.2f s = %.0f events/s", ids.count, receiveSeconds, Double(ids.count) / max(receiveSeconds, 0.001)))
            let simulatedStart = clock.now()
            let m3Before = simulators.cloudsuite.journal.all.count
            let started = ContinuousClock.now
            let began = clock.now()
            let summary = try await flow.runCycle()
            await listener.cycleFinished("bench", began: began, summary: summary, labels: ProcoreCloudSuite.entityLabels)
            let seconds = max((ContinuousClock.now - started).timeInterval, 0.001)
            let written = ProcoreCloudSuite.entityLabels.reduce(0) { $0 + summary[$1].created }
            let calls = simulators.cloudsuite.journal.all.count - m3Before
            let throttled = simulators.cloudsuite.journal.all.filter { $0.status == 429 }.count
            let minutes = max(clock.now().timeIntervalSince(simulatedStart) / 60, 1.0 / 60)
            let pending = try await store.pendingEvents(integration: "bench").count
            output(summary.report)
            output(String(format: "Into M3: %d records in %.2f s wall = %.0f records/s; %d events still pending", written, seconds, Double(written) / seconds, pending))
            output(String(format: "M3 calls: %d (%.2f per record written) over %.1f simulated minutes = %.0f%% of the %d/min quota; %d answered 429",
                          calls, Double(calls) / Double(max(written, 1)), minutes, 100 * Double(calls) / (Double(quota) * minutes), quota, throttled))
            output(String(format: "%d M3 POs, %d invoice batches; peak resident memory (engine and both simulators): %.1f MiB",
                          await m3.allPurchaseOrders(company: DemoData.m3Company).count, await m3.allInvoices(company: DemoData.m3Company).count, peakRSS(pid: nil)))
        }
    }
}
