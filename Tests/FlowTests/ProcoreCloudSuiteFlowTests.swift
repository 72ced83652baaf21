import CloudSuiteSimulator
import ConnectorApp
import Flows
import Foundation
import Logging
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import SyncStore
import Synchronization
import Testing

/// Flow 003 end to end against the Procore and CloudSuite simulators over HTTP: vendors matched
/// to M3 suppliers by name, approved contracts into POs by PPS370MI batch entry (YRE1 = the
/// contract id), approved invoices into APS450MI batches on their PO; no second supplier, PO or
/// invoice from a repeated cycle or an answer lost after M3 finished the entry.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ProcoreCloudSuiteFlowTests {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))

    @Test func contractsAndInvoicesLandOnceInM3() async throws {
        let data = DemoData.procoreSAPB1(commitments: 6, today: clock.now())
        let settings = ProcoreCloudSuiteEnvironment.demoSettings
        try await ProcoreCloudSuiteEnvironment.run(data: data, clock: clock, store: try SQLiteSyncStore.inMemory(), settings: settings, logger: quiet) { flow, _, m3, simulators in
            let company = DemoData.m3Company
            let suppliersBefore = await m3.allSuppliers(company: company).count
            // the answer to the second FinishEntry is lost after M3 made the PO
            simulators.cloudsuite.faults.add(FaultRule(path: "*/PPS370MI/FinishEntry", nth: 2, effect: FaultEffect(dropConnection: true)))
            let first = try await flow.runCycle()
            #expect(first["vendors"].created == 0, "\(first.report)")  // every demo vendor is an M3 supplier of the same name
            #expect(await m3.allSuppliers(company: company).count == suppliersBefore)
            #expect(first["contracts"].created == 5, "\(first.report)")
            #expect(first["contracts"].failed + first["contracts"].held == 1)
            clock.advance(by: .seconds(3600))
            let second = try await flow.runCycle()
            #expect(second["contracts"].created == 0 && second["contracts"].skipped >= 1, "\(second.report)")
            let orders = await m3.allPurchaseOrders(company: company)
            #expect(orders.count == 6)
            #expect(Set(orders.compactMap { $0.head["YRE1"] }).count == 6)  // one PO per contract, found again by YRE1
            #expect(orders.allSatisfy { $0.head["FACI"] == "A01" && $0.lines.allSatisfy { $0["ITNO"]?.hasPrefix("CC-") == true } })
            #expect(await m3.stagedEntries == 0)  // no entry left half made
            let invoices = await m3.allInvoices(company: company)
            #expect(invoices.count == 3)  // the demo set's three approved subcontractor invoices
            #expect(invoices.allSatisfy { invoice in orders.contains { $0.number == invoice.head["PUNO"] } && invoice.lines.count == 1 })
            // a third cycle writes nothing
            clock.advance(by: .seconds(3600))
            let third = try await flow.runCycle()
            #expect(["vendors", "contracts", "invoices"].allSatisfy { third[$0].created == 0 }, "\(third.report)")
            #expect(await m3.allPurchaseOrders(company: company).count == 6)
            #expect(await m3.allInvoices(company: company).count == 3)
        }
    }

    /// The demo: flow 003 under serve; the contract approved in Procore reaches M3 by the cycle its
    /// webhook woke, not by the hourly poll.
    @Test func theDemoRunsFlow003UnderServe() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("demo003-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let lines = Mutex<[String]>([])
        let (first, second) = try await Demo.runProcoreCloudSuite(databasePath: path, logger: quiet) { line in lines.withLock { $0.append(line) } }
        #expect(first["contracts"].created == 6 && first.errors.isEmpty, "\(first.report)")
        #expect(second["contracts"].created == 1 && second.errors.isEmpty, "\(second.report)")
        #expect(lines.withLock { $0.contains { $0.hasPrefix("serve received 2 webhook event(s)") } })
    }

    @Test func aNewVendorBecomesASupplierAndAnUnmappedCostCodeIsHeld() async throws {
        let data = DemoData.procoreSAPB1(commitments: 2, today: clock.now())
        var settings = ProcoreCloudSuiteEnvironment.demoSettings
        settings.items["05-100"] = nil
        try await ProcoreCloudSuiteEnvironment.run(data: data, clock: clock, store: try SQLiteSyncStore.inMemory(), settings: settings, logger: quiet) { flow, procore, m3, _ in
            let vendor = await procore.addVendor(companyID: DemoData.companyID, name: "Harbor Crane & Rigging", originID: nil)
            let summary = try await flow.runCycle()
            #expect(summary["vendors"].created == 1, "\(summary.report)")
            #expect(await m3.allSuppliers(company: DemoData.m3Company).contains { $0["SUNO"] == "P\(vendor)" && $0["SUNM"] == "Harbor Crane & Rigging" })
            // PC-1001 has a line on 05-100, which has no M3 item: held naming it
            #expect(summary["contracts"].held == 1, "\(summary.report)")
        }
    }
}
