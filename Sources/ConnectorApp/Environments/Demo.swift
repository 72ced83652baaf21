import Flows
import Foundation
import Logging
import SyncEngine
import SyncStore

/// `ml-connector demo`: both simulators in process, the demo data set, two cycles with the
/// missing cost code created in between, and a readable summary.
public enum Demo {
    public struct Result: Sendable {
        public var first: CycleSummary
        public var second: CycleSummary
        public var commitments: Int
        public var requisitions: Int
        public var stillHeld: [QuarantineEntry]
        public var databasePath: String
    }

    public static func run(databasePath: String, purchaseOrders: Int = 60, logger: Logger, output: @Sendable (String) -> Void) async throws -> Result {
        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))  // 2026-11-30
        let data = DemoData.generate(purchaseOrders: purchaseOrders, today: clock.now())
        let settings = {
            var settings = SysproProcoreSettings(costCodes: data.mappings)
            settings.budgetPolicy = .postAndWarn
            return settings
        }()
        return try await SimulatedEnvironment.run(data: data, clock: clock, store: store, logger: logger) { env in
            output("Simulators: SYSPRO at \(env.urls["syspro"]!), Procore at \(env.urls["procore"]!)")
            output("Seeded: \(data.purchaseOrderCount) POs and \(data.invoiceCount) invoices in SYSPRO company \(DemoData.sysproCompany); 3 projects, 8 vendors in Procore company \(DemoData.companyID)")
            let flow = env.makeFlow(settings: settings)

            output("\n== Cycle 1")
            let first = try await flow.runCycle()
            output(Self.describe(first))
            for entry in try await store.quarantined(flow: flow.scope, status: .held) {
                output("  held \(entry.entity) \(entry.sourceID): \(entry.reason)")
            }

            output("\n== Between cycles: cost code 31-100 is created in project 2302, and PO DEMO-LATE is entered in SYSPRO")
            if let project = await env.procore.projectID(number: "2302") {
                try await env.procore.addCostCode(projectID: project, fullCode: "31-100", name: "Earthwork")
            }
            await env.syspro.insert("PorMasterHdr", rows: [data.latePurchaseOrder.header])
            await env.syspro.insert("PorMasterDetail", rows: data.latePurchaseOrder.lines)
            env.clock.advance(by: .seconds(15 * 60))

            output("\n== Cycle 2 (15 minutes later)")
            let second = try await flow.runCycle()
            output(Self.describe(second))
            let held = try await store.quarantined(flow: flow.scope, status: .held)
            for entry in held { output("  still held \(entry.entity) \(entry.sourceID): \(entry.reason)") }
            let commitments = await env.procore.commitmentCount
            let requisitions = await env.procore.requisitionCount
            output("\nProcore now holds \(commitments) commitments and \(requisitions) requisitions.")
            output("Audit trail: \(databasePath) (see `swift run ml-connector audit --database \(databasePath)`)")
            return Result(first: first, second: second, commitments: commitments, requisitions: requisitions, stillHeld: held, databasePath: databasePath)
        }
    }

    public static func describe(_ summary: CycleSummary) -> String { summary.report }
}
