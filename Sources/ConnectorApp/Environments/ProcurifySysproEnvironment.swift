import AsyncHTTPClient
import ClientKit
import Flows
import Foundation
import Logging
import ProcurifyClient
import ProcurifySimulator
import SimulatorKit
import SyncEngine
import SyncStore
import SysproClient
import SysproSimulator

/// Flow 001's world in one process: the Procurify and SYSPRO simulators served on loopback and
/// seeded from a data set, both clients over real HTTP, and the flow on a store — what the demo
/// and the tests run it in.
public enum ProcurifySysproEnvironment {
    /// The two simulators as served (base URLs, cores with their fault plans and journals), and
    /// how to make the flow on them again — a new flow is a restarted process: same store and
    /// simulators, no caches.
    public struct Simulators: Sendable {
        public let urls: [String: String]
        public let syspro: SimulatorCore
        public let procurify: SimulatorCore
        let http: HTTPClient
        let clock: ManualClock
        let store: any SyncStateStore
        let logger: Logger

        /// Flow 001 on these simulators over loopback HTTP.
        /// - Parameter timeout: each request's deadline on both sides.
        public func makeFlow(settings: ProcurifySysproSettings, timeout: Duration = .seconds(30)) -> ProcurifySysproFlow {
            let (procurifyClient, sysproClient) = makeClients(timeout: timeout)
            return ProcurifySysproFlow(settings: settings, procurify: procurifyClient, syspro: sysproClient, store: store, clock: clock, logger: logger)
        }

        /// A Procurify and a SYSPRO client on these simulators, as the flow gets them.
        public func makeClients(timeout: Duration = .seconds(30)) -> (ProcurifyClient, SysproClient) {
            let sysproClient = SysproClient(
                connection: SysproConnection(
                    enetBase: urls["syspro"]! + SysproSimulator.enetRoot,
                    odataRoot: urls["syspro"]! + SysproSimulator.odataRoot + "/" + DemoData.sysproCompany,
                    operatorCode: DemoData.operatorCode, operatorPassword: DemoData.operatorPassword, companyID: DemoData.sysproCompany,
                    odataPassword: DemoData.odataPassword),
                transport: HTTPTransport(http: http, system: "syspro", clock: clock, timeout: timeout, logger: logger))
            let procurifyClient = ProcurifyClient(
                connection: ProcurifyConnection(baseURL: urls["procurify"]!, clientID: DemoData.procurifyClientID, clientSecret: DemoData.procurifyClientSecret),
                transport: HTTPTransport(http: http, system: "procurify", clock: clock, timeout: timeout, logger: logger, seed: 2))
            return (procurifyClient, sysproClient)
        }
    }

    /// The ledger mapping of the demo data set: Procurify account code → SYSPRO GL code.
    public static var demoLedger: [LedgerMapping] {
        DemoData.costCodeMappings.map { LedgerMapping(accountCode: $0.glAccount, ledgerCode: "\($0.glAccount)-\($0.costCenter)") }
    }

    public static func run<R: Sendable>(
        data: DemoData, clock: ManualClock, store: any SyncStateStore, settings: ProcurifySysproSettings, logger: Logger,
        _ body: @Sendable (ProcurifySysproFlow, SysproBackend, ProcurifyBackend, Simulators) async throws -> R
    ) async throws -> R {
        let (sysproCore, syspro) = SysproSimulator.makeCore(clock: clock)
        let (procurifyCore, procurify) = ProcurifySimulator.makeCore(clock: clock)
        try await syspro.seed(data.syspro)
        try await procurify.seed(data.procurify)
        return try await SimulatorHost.withRunning([sysproCore, procurifyCore]) { urls in
            try await HTTPClient.withHTTPClient { http in
                let simulators = Simulators(urls: urls, syspro: sysproCore, procurify: procurifyCore, http: http, clock: clock, store: store, logger: logger)
                return try await body(simulators.makeFlow(settings: settings), syspro, procurify, simulators)
            }
        }
    }
}

extension Demo {
    /// `ml-connector demo procurify-syspro`: two cycles — the vendors, purchased POs and approved
    /// bills of the demo data set into SYSPRO, then a PO revised in Procurify, a requisition
    /// purchased and a new vendor, which the second cycle carries over as a PORTOI change, a new
    /// PO and a new supplier.
    public static func runProcurifySyspro(databasePath: String, logger: Logger, output: @Sendable (String) -> Void) async throws -> (CycleSummary, CycleSummary) {
        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))  // 2026-11-30
        let data = DemoData.generate(purchaseOrders: 2, today: clock.now())
        let settings = ProcurifySysproSettings(ledgerCodes: ProcurifySysproEnvironment.demoLedger)
        return try await ProcurifySysproEnvironment.run(data: data, clock: clock, store: store, settings: settings, logger: logger) { flow, syspro, procurify, simulators in
            let urls = simulators.urls
            output("Simulators: Procurify at \(urls["procurify"]!), SYSPRO at \(urls["syspro"]!)")
            output("Seeded: 8 vendors, 6 purchased POs (one cancelled) and 3 approved bills in Procurify; the same 8 suppliers in SYSPRO company \(DemoData.sysproCompany)")
            output("\n== Cycle 1")
            let first = try await flow.runCycle()
            output(first.report)
            for entry in try await store.quarantined(flow: flow.scope, status: .held) { output("  held \(entry.entity) \(entry.sourceID): \(entry.reason)") }
            output("\n== Between cycles: PO 1001 revised in Procurify (quantity 99), a requisition purchased, vendor \"Mill Road Steel\" added")
            clock.advance(by: .seconds(86_400))
            _ = await procurify.revisePurchaseOrder(number: 1001, changes: [:], items: [["id": 15510, "quantity": 99]])
            let vendor = try await procurify.saveVendor(["name": "Mill Road Steel", "email": [], "type": 3], id: nil, partial: false)
            await procurify.purchaseRequisition([
                "pref_vendor": vendor, "vendor_name": "Mill Road Steel", "purchased_currency": ["id": 3, "name": "USD"],
                "purchaser": ["department": ["id": 1, "name": "Head Office"]], "total": "640.00",
                "order_items": [["PO_line_num": 1, "name": "Anchor bolts", "sku": "BOLT-M16", "unit": "EA", "quantity": "64", "price": "10.00", "accountCode": "5200"]],
            ])
            clock.advance(by: .seconds(15 * 60))
            output("\n== Cycle 2")
            let second = try await flow.runCycle()
            output(second.report)
            for entry in try await store.quarantined(flow: flow.scope, status: .held) { output("  still held \(entry.entity) \(entry.sourceID): \(entry.reason)") }
            let orders = await syspro.rows("PorMasterHdr").filter { $0["CustomerPoNumber"]?.stringValue?.hasPrefix("PRC-PO-") == true }.count
            let invoices = await syspro.rows("ApInvoice").filter { ($0["Reference"]?.stringValue ?? "").hasPrefix("PRC-BILL-") }.count
            output("\nSYSPRO now holds \(orders) purchase orders from Procurify and \(invoices) AP invoices from its bills.")
            output("Audit trail: \(databasePath) (see `swift run ml-connector audit --database \(databasePath)`)")
            return (first, second)
        }
    }
}

extension Bench {
    /// `bench procurify-syspro --records N`: N purchased Procurify POs (one in six cancelled, bills
    /// for half) with the demo vendors, one cycle into SYSPRO, both simulators in this process on
    /// loopback HTTP (so the peak memory includes theirs). Prints records/s and the requests each
    /// record written cost on each side, from the simulators' journals.
    public static func runProcurifySyspro(purchaseOrders: Int, databasePath: String, logger: Logger, output: @Sendable (String) -> Void) async throws {
        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))
        var data = DemoData.procurify(purchaseOrders: purchaseOrders, today: clock.now())
        if case .object(var seed) = data.procurify {
            seed["settings"] = ["callsPerMinute": 0, "maxPageSize": 100]
            data.procurify = .object(seed)
        }
        let orders = data.procurify["purchaseOrders"]?.arrayValue ?? [], bills = data.procurify["bills"]?.arrayValue ?? []
        var settings = ProcurifySysproSettings(ledgerCodes: ProcurifySysproEnvironment.demoLedger)
        settings.pageSize = 100
        output("Procurify: \(orders.count) POs, \(bills.count) bills; one cycle into SYSPRO…")
        try await ProcurifySysproEnvironment.run(data: data, clock: clock, store: store, settings: settings, logger: logger) { flow, _, _, simulators in
            // the calls the flow makes most, bare: a Procurify PO detail read, a SYSPRO COMFND look-up
            let (rawProcurify, rawSyspro) = simulators.makeClients()
            try await rawProcurify.refreshToken()
            try await rawSyspro.logon()
            let rawRate = try await rawRate(requests: max(200, min(2_000, purchaseOrders)), output: output) { index in
                if index.isMultiple(of: 2) {
                    _ = try await rawProcurify.get("/api/v2/purchase_orders/\(1001 + index % max(1, purchaseOrders))/")
                } else {
                    _ = try await rawSyspro.find(table: "PorMasterHdr", columns: ["PurchaseOrder"], whereEqual: [("CustomerPoNumber", "PRC-PO-\(1001 + index)")], maxRows: 1)
                }
            }
            await rawSyspro.logoff()
            try await measure(
                flow, labels: ProcurifySyspro.entityLabels, source: ("Procurify", simulators.procurify), destination: ("SYSPRO", simulators.syspro),
                rawRate: rawRate, output: output)
        }
    }
}
