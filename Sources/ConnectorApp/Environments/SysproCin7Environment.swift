import AsyncHTTPClient
import Cin7Client
import Cin7Simulator
import ClientKit
import Flows
import Foundation
import Logging
import SimulatorKit
import SyncEngine
import SyncStore
import SysproClient
import SysproSimulator

/// Flow 004's world in one process: the SYSPRO and Cin7 simulators on loopback, seeded from a
/// data set, both clients over real HTTP, the flow on a store.
public enum SysproCin7Environment {
    public struct Simulators: Sendable {
        public let urls: [String: String]
        public let syspro: SimulatorCore
        public let cin7: SimulatorCore
        let http: HTTPClient
        let clock: ManualClock
        let store: any SyncStateStore
        let logger: Logger

        /// - Parameter callsPerMinute: the pace of the Cin7 client (57 a minute, as a config
        ///   without the key gets; `nil`: unpaced, it waits out 503s instead).
        public func makeClients(timeout: Duration = .seconds(30), callsPerMinute: Int? = ConnectorConfig.Cin7Section.defaultCallsPerMinute) -> (SysproClient, Cin7Client) {
            let syspro = SysproClient(
                connection: SysproConnection(
                    enetBase: urls["syspro"]! + SysproSimulator.enetRoot,
                    odataRoot: urls["syspro"]! + SysproSimulator.odataRoot + "/" + DemoData.sysproCompany,
                    operatorCode: DemoData.operatorCode, operatorPassword: DemoData.operatorPassword, companyID: DemoData.sysproCompany,
                    odataPassword: DemoData.odataPassword),
                transport: HTTPTransport(http: http, system: "syspro", clock: clock, timeout: timeout, logger: logger))
            let cin7 = Cin7Client(
                connection: Cin7Connection(
                    baseURL: urls["cin7"]! + Cin7Simulator.root, accountID: DemoData.cin7AccountID, applicationKey: DemoData.cin7ApplicationKey,
                    callsPerMinute: callsPerMinute),
                transport: HTTPTransport(http: http, system: "cin7", clock: clock, timeout: timeout, logger: logger, seed: 2))
            return (syspro, cin7)
        }

        /// Flow 004 on these simulators: a new flow is a restarted process (same store and simulators, no caches).
        public func makeFlow(settings: SysproCin7Settings, timeout: Duration = .seconds(30), callsPerMinute: Int? = ConnectorConfig.Cin7Section.defaultCallsPerMinute) -> SysproCin7Flow {
            let (syspro, cin7) = makeClients(timeout: timeout, callsPerMinute: callsPerMinute)
            return SysproCin7Flow(settings: settings, syspro: syspro, cin7: cin7, store: store, clock: clock, logger: logger)
        }
    }

    public static func run<R: Sendable>(
        data: DemoData, clock: ManualClock, store: any SyncStateStore, settings: SysproCin7Settings, logger: Logger,
        callsPerMinute: Int? = ConnectorConfig.Cin7Section.defaultCallsPerMinute,
        _ body: @Sendable (SysproCin7Flow, SysproBackend, Cin7Backend, Simulators) async throws -> R
    ) async throws -> R {
        let (sysproCore, syspro) = SysproSimulator.makeCore(clock: clock)
        let (cin7Core, cin7) = Cin7Simulator.makeCore(clock: clock)
        try await syspro.seed(data.syspro)
        try await cin7.seed(data.cin7)
        return try await SimulatorHost.withRunning([sysproCore, cin7Core]) { urls in
            try await HTTPClient.withHTTPClient { http in
                let simulators = Simulators(urls: urls, syspro: sysproCore, cin7: cin7Core, http: http, clock: clock, store: store, logger: logger)
                return try await body(simulators.makeFlow(settings: settings, callsPerMinute: callsPerMinute), syspro, cin7, simulators)
            }
        }
    }

    /// Cin7 calls in the journal and the share of the 60-a-minute budget they used over the
    /// simulated minutes they took.
    static func budget(_ core: SimulatorCore, since start: Date, now: Date, from index: Int) -> (calls: Int, minutes: Double, share: Double, throttled: Int) {
        let entries = core.journal.all.dropFirst(index)
        let minutes = max(now.timeIntervalSince(start) / 60, 1.0 / 60)
        let calls = entries.count
        let throttled = entries.filter { $0.status == 503 || $0.status == 429 }.count
        return (calls, minutes, Double(calls) / (60 * minutes), throttled)
    }
}

extension Demo {
    /// `ml-connector demo syspro-cin7`: flow 004 in two cycles — suppliers matched and linked both
    /// ways, SYSPRO POs into Cin7 purchases at their stage, invoices into their invoice stage, two
    /// held (a GL account Cin7 lacks, an invoice before its PO); then finance adds the account in
    /// Cin7, the late PO reaches SYSPRO, a supplier's name is changed in SYSPRO and its e-mail in
    /// Cin7 — the second cycle releases both holds and copies each change to the other side once.
    public static func runSysproCin7(databasePath: String, logger: Logger, output: @Sendable (String) -> Void) async throws -> (CycleSummary, CycleSummary) {
        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))  // 2026-11-30
        let data = DemoData.sysproCin7(purchaseOrders: 6, today: clock.now())
        return try await SysproCin7Environment.run(data: data, clock: clock, store: store, settings: DemoData.sysproCin7Settings, logger: logger) { flow, syspro, cin7, simulators in
            output("Simulators: SYSPRO at \(simulators.urls["syspro"]!), Cin7 Core at \(simulators.urls["cin7"]!) (60 calls a minute; the client paces at 57)")
            output("Seeded: 8 suppliers and \(data.purchaseOrderCount) POs with \(data.invoiceCount) AP invoices in SYSPRO; 7 suppliers typed by hand in Cin7 (one SYSPRO lacks), 4 products, accounts 800 and 5100–5400")
            output("\n== Cycle 1")
            let start = clock.now()
            let first = try await flow.runCycle()
            output(first.report)
            for entry in try await store.quarantined(flow: flow.scope, status: .held) { output("  held \(entry.entity) \(entry.sourceID): \(entry.reason)") }
            for purchase in await cin7.allPurchases {
                output("  Cin7 \(purchase["OrderNumber"]?.scalarText ?? "?") \(purchase["Approach"]?.scalarText ?? "?")-first, \(purchase["Status"]?.scalarText ?? "?"): \(purchase["Note"]?.scalarText ?? "")")
            }
            let used = SysproCin7Environment.budget(simulators.cin7, since: start, now: clock.now(), from: 0)
            output(String(format: "Cin7 calls: %d over %.1f simulated minutes (%.0f%% of 60 a minute), %d throttled", used.calls, used.minutes, used.share * 100, used.throttled))

            output("\n== Between cycles: finance adds account 5500 in Cin7; PO DEMO-LATE reaches SYSPRO; SUP002's name changes in SYSPRO and its e-mail in Cin7")
            clock.advance(by: .seconds(15 * 60))
            await cin7.setAccount(code: "5500", name: "Earthwork")
            await syspro.insert("PorMasterHdr", rows: [data.latePurchaseOrder.header])
            await syspro.insert("PorMasterDetail", rows: data.latePurchaseOrder.lines)
            _ = await syspro.update("ApSupplier", where: "Supplier", equals: "SUP002", set: ["SupplierName": "Harbor Ready-Mix Concrete"])
            try await cin7.editSupplier(named: "Harbor Ready-Mix", fields: ["Email": "payables@harborreadymix.example"])
            clock.advance(by: .seconds(60))
            output("\n== Cycle 2")
            let index = simulators.cin7.journal.all.count
            let second = try await flow.runCycle()
            output(second.report)
            for entry in try await store.quarantined(flow: flow.scope, status: .held) { output("  still held \(entry.entity) \(entry.sourceID): \(entry.reason)") }
            let harbor = await cin7.allSuppliers.first { $0["AdditionalAttribute1"]?.stringValue == "SUP002" }
            let sysproHarbor = await syspro.rows("ApSupplier").first { $0["Supplier"]?.stringValue == "SUP002" }
            output("  SUP002 in Cin7: \(harbor?["Name"]?.scalarText ?? "?"); in SYSPRO: e-mail \(sysproHarbor?["Email"]?.scalarText ?? "?")")
            let puts = simulators.cin7.journal.all.dropFirst(index).filter { $0.method == "PUT" }.count
            output("  Cin7 supplier updates this cycle: \(puts)")
            output("\nCin7 now holds \(await cin7.allPurchases.count) purchases from SYSPRO POs; \(await cin7.allPurchases.filter { ["INVOICED", "COMPLETED"].contains($0["Status"]?.stringValue ?? "") }.count) with their invoice.")
            output("Audit trail: \(databasePath) (see `swift run ml-connector audit --database \(databasePath)`)")
            return (first, second)
        }
    }
}

extension Bench {
    /// `bench syspro-cin7 --records N`: N SYSPRO POs (half invoiced, a third received first) with
    /// the demo suppliers, into Cin7 under its 60-a-minute limit (the client paced at 57) on the
    /// simulated clock: records/s (wall), Cin7 calls per record, the share of the minute budget
    /// over the simulated time the run took and over the busiest simulated hour, throttled
    /// answers, the engine's rate beside the raw simulators', and peak memory.
    public static func runSysproCin7(purchaseOrders: Int, databasePath: String, logger: Logger, output: @Sendable (String) -> Void) async throws {
        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))
        let data = DemoData.sysproCin7(purchaseOrders: purchaseOrders, today: clock.now())
        var settings = DemoData.sysproCin7Settings
        settings.pageSize = 200
        output("SYSPRO: \(data.purchaseOrderCount) POs, \(data.invoiceCount) AP invoices, 8 suppliers; Cin7 at 60 calls/min, the client paced at 57…")
        try await SysproCin7Environment.run(data: data, clock: clock, store: store, settings: settings, logger: logger) { flow, _, cin7, simulators in
            // the raw rate: the calls the flow makes most, bare and unpaced (a Cin7 list read, a SYSPRO OData page)
            let (rawSyspro, rawCin7) = simulators.makeClients(callsPerMinute: nil)
            var unlimited = await cin7.settings
            let limit = unlimited.callsPerMinute
            unlimited.callsPerMinute = 0
            await cin7.setSettings(unlimited)
            try await rawSyspro.logon()
            let rawRate = try await rawRate(requests: 400, output: output) { index in
                if index.isMultiple(of: 2) {
                    _ = try await rawCin7.get("supplier", query: [("Page", "1"), ("Limit", "5")])
                } else {
                    _ = try await rawSyspro.odata("PorMasterHdr", top: 5)
                }
            }
            await rawSyspro.logoff()
            unlimited.callsPerMinute = limit
            await cin7.setSettings(unlimited)
            let cin7Before = simulators.cin7.journal.all.count, sysproBefore = simulators.syspro.journal.all.count
            let start = clock.now()
            let started = ContinuousClock.now
            let summary = try await flow.runCycle()
            let seconds = max((ContinuousClock.now - started).timeInterval, 0.001)
            let labels = SysproCin7.entityLabels
            let read = labels.reduce(0) { $0 + summary[$1].read }
            let written = labels.reduce(0) { $0 + summary[$1].created + summary[$1].updated }
            let used = SysproCin7Environment.budget(simulators.cin7, since: start, now: clock.now(), from: cin7Before)
            let sysproCalls = simulators.syspro.journal.all.count - sysproBefore
            // the busiest simulated hour of Cin7 calls
            let stamps = simulators.cin7.journal.all.dropFirst(cin7Before).map(\.at).sorted()
            var busiest = 0
            var low = 0
            for (high, stamp) in stamps.enumerated() {
                while stamps[low] <= stamp.addingTimeInterval(-3600) { low += 1 }
                busiest = max(busiest, high - low + 1)
            }
            output(summary.report)
            output(String(format: "Flow: %d records read, %d written in %.2f s wall = %.0f records written/s; %.1f simulated minutes under Cin7's limit",
                          read, written, seconds, Double(written) / seconds, used.minutes))
            output(String(format: "Cin7 calls: %d = %.2f per record written; %.0f%% of the 60/min budget over the run; busiest simulated hour %d calls = %.0f%% of 3,600; %d throttled (503/429)",
                          used.calls, Double(used.calls) / Double(max(written, 1)), used.share * 100, busiest, Double(busiest) / 36, used.throttled))
            output(String(format: "SYSPRO requests: %d = %.2f per record read", sysproCalls, Double(sysproCalls) / Double(max(read, 1))))
            let engineRate = Double(used.calls + sysproCalls) / seconds
            output(String(format: "Engine HTTP: %.0f requests/s wall = %.2f of the raw simulator rate (%.0f/s) — the rest is the simulated minute's pacing, which costs no wall time",
                          engineRate, engineRate / rawRate, rawRate))
            output(String(format: "Peak resident memory (engine and both simulators, one process): %.1f MiB", peakRSS(pid: nil)))
            if !summary.errors.isEmpty { throw SyncError(.unexpectedResponse, "the measured cycle reported errors: \(summary.errors.joined(separator: " | "))") }
        }
    }
}
