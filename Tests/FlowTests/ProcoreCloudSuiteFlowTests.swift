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

    /// The documented example config of flow 003 loads with every key it shows.
    @Test func theExampleConfigLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/config/procore-cloudsuite.yaml").path
        let config = try ConnectorConfig.load(path: path)
        let integration = try #require(config.integrations.first)
        let settings = try #require(integration.procoreCloudSuiteSettings)
        #expect(settings.projects == [101, 102] && settings.items.count == 4 && settings.paymentsFromDays == 30)
        #expect(settings.accounts["26-100"]?.fields.map(\.0) == ["AIT1", "AIT2", "AIT3"])
        #expect(settings.suppliers["4294967401"] == "V1042")
        #expect(integration.intervalMinutes == 60 && integration.webhook?.resources?.count == 2)
        // an accounting identity longer than M3's 8 characters, a dimension 8: refused
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(throws: SyncError.self) { try ConnectorConfig.parse(text.replacingOccurrences(of: "costCentre: CC210", with: "costCentre: CC2100000"), path: "t.yaml") }
        #expect(throws: SyncError.self) { try ConnectorConfig.parse(text.replacingOccurrences(of: "{ \"3\": PRJ2301 }", with: "{ \"8\": PRJ2301 }"), path: "t.yaml") }
    }

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
        // the payment M3 made comes back by the scheduled poll
        #expect(lines.withLock { $0.contains { $0.contains("now shows a payment of") && $0.contains("origin_id M3-PAY-") } })
        #expect(lines.withLock { $0.contains { $0.contains("payments         read 1  created 1") } })
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

    /// M3 payments come back to Procore as contract payments, once: a payment of an invoice this
    /// integration sent lands on its contract; one of an invoice from elsewhere is skipped; a
    /// reversal is held; an answer lost after Procore made the payment costs no second one.
    @Test func paymentsComeBackToProcoreOnce() async throws {
        let data = DemoData.procoreSAPB1(commitments: 6, today: clock.now())
        let store = try SQLiteSyncStore.inMemory()
        try await ProcoreCloudSuiteEnvironment.run(data: data, clock: clock, store: store, settings: ProcoreCloudSuiteEnvironment.demoSettings, logger: quiet) { flow, procore, m3, simulators in
            let company = DemoData.m3Company
            let first = try await flow.runCycle()
            #expect(first["payments"].created == 0 && first.errors.isEmpty, "\(first.report)")
            let invoices = await m3.allInvoices(company: company)
            try #require(invoices.count == 3)
            let paid = invoices[0].head
            await m3.recordPayment(company: company, supplier: paid["SUNO"]!, invoice: paid["SINO"]!, amount: paid["CUAM"]!)
            await m3.recordPayment(company: company, supplier: paid["SUNO"]!, invoice: "NOT-FROM-PROCORE", amount: "100.00")
            await m3.recordPayment(company: company, supplier: paid["SUNO"]!, invoice: paid["SINO"]!, amount: "-5.00")
            clock.advance(by: .seconds(3600))
            let second = try await flow.runCycle()
            #expect(second["payments"].created == 1, "\(second.report)")
            #expect(second["payments"].skipped == 1 && second["payments"].failed == 1, "\(second.report)")
            var payments = await procore.allContractPayments(company: DemoData.companyID)
            #expect(payments.count == 1)
            #expect(payments.first?.amount == paid["CUAM"] && payments.first?.invoiceNumber == paid["SINO"])
            #expect(payments.first?.originID?.hasPrefix("M3-PAY-") == true)
            let held = try await store.quarantined(flow: flow.scope, status: .held)
            #expect(held.contains { $0.entity == "payments" && $0.reason.contains("reversal") })

            // the answer to the next payment's POST is lost after Procore made it
            let other = invoices[1].head
            await m3.recordPayment(company: company, supplier: other["SUNO"]!, invoice: other["SINO"]!, amount: other["CUAM"]!)
            simulators.procore.faults.add(FaultRule(path: "/rest/v1.0/contract_payments", nth: 1, effect: FaultEffect(dropConnection: true)))
            clock.advance(by: .seconds(3600))
            let third = try await flow.runCycle()
            #expect(third["payments"].created == 0, "\(third.report)")
            clock.advance(by: .seconds(3600))
            let fourth = try await flow.runCycle()
            #expect(fourth["payments"].created == 0 && fourth["payments"].released == 1, "\(fourth.report)")
            payments = await procore.allContractPayments(company: DemoData.companyID)
            #expect(payments.count == 2)
            #expect(Set(payments.compactMap(\.originID)).count == 2)
        }
    }

    /// With `settings.accounts`, every PO line gets its accounting string (AIT1 account, AIT2 cost
    /// centre); a cost centre M3 does not know holds the contract naming it, and the entry is
    /// cleaned up; once M3 has it, the replay lands the PO.
    @Test func costCodesCarryTheirAccountingString() async throws {
        let data = DemoData.procoreSAPB1(commitments: 3, today: clock.now())
        var settings = ProcoreCloudSuiteEnvironment.demoSettings
        for code in settings.items.keys { settings.accounts[code] = AccountString(account: "4010", costCentre: "CC10") }
        settings.accounts["05-100"] = AccountString(account: "4010", costCentre: "CC99")
        let store = try SQLiteSyncStore.inMemory()
        try await ProcoreCloudSuiteEnvironment.run(data: data, clock: clock, store: store, settings: settings, logger: quiet) { flow, _, m3, _ in
            let company = DemoData.m3Company
            try await m3.seed(["accountingIdentities": [String(company): ["1": ["4010"], "2": ["CC10"]]]])
            let first = try await flow.runCycle()
            #expect(first["contracts"].held == 1 && first["contracts"].created == 2, "\(first.report)")
            let held = try await store.quarantined(flow: flow.scope, status: .held)
            #expect(held.contains { $0.entity == "contracts" && $0.reason.contains("AIT2 CC99") }, "\(held.map(\.reason))")
            #expect(await m3.stagedEntries == 0)
            let orders = await m3.allPurchaseOrders(company: company)
            #expect(orders.allSatisfy { $0.lines.allSatisfy { $0["AIT1"] == "4010" && $0["AIT2"] == "CC10" } })
            await m3.addAccountingIdentity(company: company, dimension: 2, "CC99")
            clock.advance(by: .seconds(3600))
            let second = try await flow.runCycle()
            #expect(second["contracts"].created == 1 && second["contracts"].released == 1, "\(second.report)")
            #expect(await m3.allPurchaseOrders(company: company).contains { $0.lines.contains { $0["AIT2"] == "CC99" } })
        }
    }
}
