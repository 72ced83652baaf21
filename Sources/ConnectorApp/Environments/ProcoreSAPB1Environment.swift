import AsyncHTTPClient
import ClientKit
import Flows
import Foundation
import Logging
import ProcoreClient
import ProcoreSimulator
import SAPB1Client
import SAPB1Simulator
import SimulatorKit
import SyncEngine
import SyncStore

/// Flow 002's world in one process: the Procore and SAP Business One simulators on loopback,
/// seeded from a data set, both clients over real HTTP, the flow on a store — what the demo,
/// the bench, the tests and the scenarios run it in.
public enum ProcoreSAPB1Environment {
    /// The simulators as served, and how to make the flow on them again (a restarted process).
    public struct Simulators: Sendable {
        public let urls: [String: String]
        public let procore: SimulatorCore
        public let sapb1: SimulatorCore
        let http: HTTPClient
        let clock: ManualClock
        let store: any SyncStateStore
        let logger: Logger

        public func makeClients(timeout: Duration = .seconds(30)) -> (ProcoreClient, SAPB1Client) {
            let procore = ProcoreClient(
                connection: ProcoreConnection(
                    loginBase: urls["procore"]!, apiBase: urls["procore"]!, clientID: DemoData.clientID, clientSecret: DemoData.clientSecret,
                    companyID: DemoData.companyID),
                transport: HTTPTransport(http: http, system: "procore", clock: clock, timeout: timeout, logger: logger))
            let sap = SAPB1Client(
                connection: SAPB1Connection(serviceRoot: urls["sapb1"]! + "/b1s/v1", companyDB: DemoData.sapCompanyDB, userName: DemoData.sapUser, password: DemoData.sapPassword),
                transport: HTTPTransport(http: http, system: "sapb1", clock: clock, timeout: timeout, logger: logger, seed: 2))
            return (procore, sap)
        }

        public func makeFlow(settings: ProcoreSAPB1Settings, timeout: Duration = .seconds(30)) -> ProcoreSAPB1Flow {
            let (procore, sap) = makeClients(timeout: timeout)
            return ProcoreSAPB1Flow(settings: settings, procore: procore, sap: sap, store: store, clock: clock, logger: logger)
        }
    }

    public static func run<R: Sendable>(
        data: DemoData, clock: ManualClock, store: any SyncStateStore, settings: ProcoreSAPB1Settings, logger: Logger,
        _ body: @Sendable (ProcoreSAPB1Flow, ProcoreBackend, SAPB1Backend, Simulators) async throws -> R
    ) async throws -> R {
        let (procoreCore, procore) = ProcoreSimulator.makeCore(clock: clock)
        let (sapCore, sap) = SAPB1Simulator.makeCore(clock: clock)
        try await procoreCore.system.seed(data.procore)
        try await sap.seed(data.sapb1)
        return try await SimulatorHost.withRunning([procoreCore, sapCore]) { urls in
            try await HTTPClient.withHTTPClient { http in
                let simulators = Simulators(urls: urls, procore: procoreCore, sapb1: sapCore, http: http, clock: clock, store: store, logger: logger)
                return try await body(simulators.makeFlow(settings: settings), procore, sap, simulators)
            }
        }
    }
}

extension Demo {
    /// `ml-connector demo procore-sapb1`: a daily cycle of the demo projects' approved
    /// commitments, change orders, direct costs and subcontractor invoices into SAP B1; then a
    /// change order approved on a posted commitment, which the next day's cycle posts on its own.
    public static func runProcoreSAPB1(databasePath: String, logger: Logger, output: @Sendable (String) -> Void) async throws -> (CycleSummary, CycleSummary) {
        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))  // 2026-11-30
        let data = DemoData.procoreSAPB1(commitments: 6, today: clock.now())
        return try await ProcoreSAPB1Environment.run(data: data, clock: clock, store: store, settings: DemoData.procoreSAPB1Settings, logger: logger) { flow, procore, sap, simulators in
            output("Simulators: Procore at \(simulators.urls["procore"]!), SAP B1 Service Layer at \(simulators.urls["sapb1"]!)/b1s/v1")
            output("Seeded: 6 approved commitments over 3 projects (2 approved change orders, 1 pending), 3 approved direct costs, 3 approved subcontractor invoices in Procore")
            output("\n== Day 1")
            let first = try await flow.runCycle()
            output(first.report)
            output("\n== Between cycles: a change order on commitment PC-1000 approved in Procore")
            clock.advance(by: .seconds(86_400))
            if let commitment = await procore.allCommitments().first?.id {
                try await procore.addChangeOrder(commitmentID: commitment, seed: [
                    "number": "002", "title": "Extra pour", "status": "approved",
                    "line_items": [["cost_code": "03-300", "description": "Extra pour", "amount": "4200.00"]],
                ])
            }
            output("\n== Day 2")
            let second = try await flow.runCycle()
            output(second.report)
            let invoices = await sap.count("PurchaseInvoices", company: DemoData.sapCompanyDB)
            let journals = await sap.count("JournalEntries", company: DemoData.sapCompanyDB)
            output("\nSAP B1 now holds \(invoices) purchase invoices and \(journals) journal entries from Procore; \(await sap.logins) logins, \(await sap.logouts) logouts.")
            output("Audit trail: \(databasePath) (see `swift run ml-connector audit --database \(databasePath)`)")
            return (first, second)
        }
    }
}

extension Bench {
    /// `bench procore-sapb1 --records N`: N approved Procore commitments (with the demo set's
    /// change orders, direct costs and invoices) through one cycle into SAP B1, both simulators in
    /// this process on loopback. Procore's rate limits are lifted here: the figure is the engine's
    /// cost per record, and the hourly budget is counted in requests per record.
    public static func runProcoreSAPB1(commitments: Int, databasePath: String, logger: Logger, output: @Sendable (String) -> Void) async throws {
        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))
        var data = DemoData.procoreSAPB1(commitments: commitments, today: clock.now())
        if case .object(var seed) = data.procore {
            seed["settings"] = ["hourlyLimit": 100_000_000, "spikeLimit": nil]
            data.procore = .object(seed)
        }
        output("Procore: \(commitments) approved commitments over 3 projects, with change orders, direct costs and invoices; one cycle into SAP B1…")
        try await ProcoreSAPB1Environment.run(data: data, clock: clock, store: store, settings: DemoData.procoreSAPB1Settings, logger: logger) { flow, procore, _, simulators in
            // the calls the flow makes most, bare: a Procore commitment read, a SAP look-up by U_PROCORE_ID
            let (rawProcore, rawSAP) = simulators.makeClients()
            let ids = await procore.allCommitments().map { ($0.id, $0.projectID) }
            let rawRate = try await rawRate(requests: max(200, min(2_000, commitments)), output: output) { index in
                if index.isMultiple(of: 2), let (id, project) = ids.isEmpty ? nil : ids[index % ids.count] {
                    _ = try await rawProcore.json("GET", "/rest/v1.0/purchase_order_contracts/\(id)", query: [("project_id", String(project))], what: "a commitment")
                } else {
                    _ = try await rawSAP.json("GET", "PurchaseInvoices?$select=DocEntry&$filter=U_PROCORE_ID%20eq%20'cmt:\(index)'", what: "a look-up")
                }
            }
            await rawSAP.logout()
            try await measure(
                flow, labels: ProcoreSAPB1.entityLabels, source: ("Procore", simulators.procore), destination: ("SAP B1", simulators.sapb1),
                rawRate: rawRate, output: output)
        }
    }
}
