import ConnectorApp
import Flows
import Foundation
import Logging
import SimulatorKit
import SyncEngine
import Testing

/// Flow 000 end to end: SYSPRO and Procore simulators on loopback, real HTTP, simulated clock.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SysproProcoreFlowTests {
    @Test func happyPathCreatesCommitmentsAndRequisitionsWithTheSourceAmounts() async throws {
        try await withEnvironment { env, data in
            let summary = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(summary.errors.isEmpty)
            #expect(summary.purchaseOrders.read == data.purchaseOrderCount)
            #expect(summary.purchaseOrders.created == data.purchaseOrderCount - 1)  // DEMO-UNMAPPED is held
            #expect(summary.purchaseOrders.held == 1)
            #expect(summary.invoices.created == data.invoiceCount - 1)  // LATE-INV-1 waits for its PO
            let commitments = await env.procore.allCommitments()
            #expect(commitments.count == data.purchaseOrderCount - 1)
            // Each commitment carries the PO's total, computed from the SYSPRO lines.
            let lines = await env.syspro.rows("PorMasterDetail")
            for commitment in commitments {
                let po = String(commitment.originID!.dropFirst("SYSPRO-PO-".count))
                let expected = lines.filter { $0["PurchaseOrder"]?.stringValue == po }.reduce(Int64(0)) {
                    $0 + Int64((($1["MOrderQty"]!.doubleValue! * $1["MPrice"]!.doubleValue!) * 100).rounded())
                }
                #expect(commitment.total.minor == expected, "PO \(po)")
            }
            let invoices = await env.syspro.rows("ApInvoice")
            for requisition in await env.procore.allRequisitions() {
                let invoice = invoices.first { "SYSPRO-AP-\($0["Supplier"]!.stringValue!)-\($0["Invoice"]!.stringValue!)" == requisition.originID }
                #expect(Money.parse(invoice?["OrigInvValue"]) == requisition.total)
            }
            // The audit has one row per record with payloads and the destination id.
            let created = try await env.store.audit(AuditFilter(outcome: .created))
            #expect(created.count == summary.purchaseOrders.created + summary.invoices.created)
            #expect(created.allSatisfy { $0.sourcePayload != nil && $0.transformedPayload != nil && $0.destinationID != nil })
            #expect(try await env.store.watermark(flow: SysproProcoreFlow.name, entity: "PorMasterHdr") == "2026-11-29")
            await expectNoDuplicates(env)
        }
    }

    @Test func runningTheSameCycleTwiceCreatesNothingNew() async throws {
        try await withEnvironment { env, data in
            let flow = env.makeFlow(settings: settings(data))
            _ = try await flow.runCycle()
            let before = (await env.procore.commitmentCount, await env.procore.requisitionCount)
            let second = try await flow.runCycle()
            #expect(second.purchaseOrders.created == 0)
            #expect(second.invoices.created == 0)
            #expect(second.purchaseOrders.skipped > 0)
            // A restarted process (new flow, same store) behaves the same.
            let third = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(third.purchaseOrders.created == 0 && third.invoices.created == 0)
            #expect((await env.procore.commitmentCount, await env.procore.requisitionCount) == before)
            await expectNoDuplicates(env)
        }
    }

    @Test func procoreTokenExpiryMidCycleIsRenewedOnceAndTheCallReplayed() async throws {
        try await withEnvironment { env, data in
            env.procoreCore.faults.add(FaultRule(
                method: "PATCH", path: "/rest/v1.0/purchase_order_contracts/sync", nth: 4, effect: FaultEffect(action: .expireTokens)))
            let summary = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(summary.purchaseOrders.created == data.purchaseOrderCount - 1)
            #expect(summary.purchaseOrders.failed == 0)
            let journal = env.procoreCore.journal.all
            // every write in flight when the token died is refused (up to concurrentWrites of them)…
            #expect((1...4).contains(journal.filter { $0.status == 401 }.count))
            // …and one token request serves them all: start of cycle + after the 401s
            #expect(journal.filter { $0.path == "/oauth/token" }.count == 2)
            let expired = journal.first { $0.status == 401 }!.credential
            let rejectedAt = journal.firstIndex { $0.status == 401 }!
            // from the first 401 on, only the writes already in flight carried the expired token
            // (the journal is in order of answers, so one handled just before the expiry may
            // appear after the first 401, with its 200)
            #expect(journal[rejectedAt...].filter { $0.credential == expired }.count <= 4)
            await expectNoDuplicates(env)
        }
    }

    @Test func tokenLifetimeRunningOutBetweenCyclesIsRefreshedEachCycle() async throws {
        try await withEnvironment { env, data in
            let flow = env.makeFlow(settings: settings(data))
            _ = try await flow.runCycle()
            env.clock.advance(by: .seconds(2 * 5400))
            let summary = try await flow.runCycle()
            #expect(summary.errors.isEmpty)
            #expect(env.procoreCore.journal.all.filter { $0.status == 401 }.isEmpty)
            #expect(env.procoreCore.journal.matching(path: "/oauth/token").count == 2)
        }
    }

    @Test func sysproSessionDeathMidCycleLogsOnAgainAndRetriesTheCall() async throws {
        try await withEnvironment { env, data in
            env.sysproCore.faults.add(FaultRule(path: "*/Query/Query", nth: 2, effect: FaultEffect(action: .killSessions)))
            let summary = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(summary.errors.isEmpty)
            #expect(summary.purchaseOrders.created == data.purchaseOrderCount - 1)
            #expect(env.sysproCore.journal.matching(path: "/Rest/Logon").count == 2)
            #expect(env.sysproCore.journal.matching(path: "/Rest/Logoff").count == 1)
            #expect(await env.syspro.openSessions == 0)  // the seat is freed at the end
        }
    }

    @Test func a429WithRetryAfterIsWaitedOutOnTheSimulatedClock() async throws {
        try await withEnvironment { env, data in
            env.procoreCore.faults.add(FaultRule(
                method: "PATCH", path: "/rest/v1.0/purchase_order_contracts/sync", nth: 2,
                effect: FaultEffect(status: 429, body: #"{"errors":"Rate limit exceeded"}"#, headers: ["Retry-After": "37"])))
            let before = env.clock.now()
            let summary = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(summary.purchaseOrders.created == data.purchaseOrderCount - 1)
            #expect(env.clock.sleeps.contains(.seconds(37)))
            #expect(env.clock.now().timeIntervalSince(before) >= 37)
            await expectNoDuplicates(env)
        }
    }

    @Test func anExhaustedHourlyBudgetWaitsForTheWindowToReset() async throws {
        try await withEnvironment(purchaseOrders: 4) { env, data in
            var limits = await env.procore.settings
            limits.hourlyLimit = 15
            await env.procore.setSettings(limits)
            let summary = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(summary.purchaseOrders.created == data.purchaseOrderCount - 1)
            // paced by the headers: it waits for the reset instead of spending requests on 429s
            #expect(!env.procoreCore.journal.all.contains { $0.status == 429 })
            #expect(env.clock.sleeps.contains { $0 >= .seconds(3000) })
            await expectNoDuplicates(env)
        }
    }

    @Test func aMissingCostCodeIsHeldWithItsReasonAndReleasedOnceItExists() async throws {
        try await withEnvironment { env, data in
            let flow = env.makeFlow(settings: settings(data))
            _ = try await flow.runCycle()
            let held = try #require(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED"))
            #expect(held.errorCode == "missingCostCode")
            for fragment in ["5500", "240", "31-100", "2302", "Create cost code"] { #expect(held.reason.contains(fragment)) }
            // Nothing changes while the cost code is missing.
            let again = try await flow.runCycle()
            #expect(again.purchaseOrders.held == 1)
            #expect(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED")?.attempts == 2)

            try await env.procore.addCostCode(projectID: 102, fullCode: "31-100", name: "Earthwork", budget: Money(minor: 10_000_000))
            let released = try await flow.runCycle()
            #expect(released.purchaseOrders.released == 1)
            let attempts = try await env.store.audit(AuditFilter(sourceID: "DEMO-UNMAPPED")).map { "\($0.outcome.rawValue)#\($0.attempts)" }
            #expect(attempts == ["held#1", "held#2", "created#3"])
            #expect(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED")?.status == .released)
            #expect(await env.procore.allCommitments().contains { $0.originID == "SYSPRO-PO-DEMO-UNMAPPED" })
        }
    }

    @Test func replayReleasesAHeldRecordOnDemand() async throws {
        try await withEnvironment { env, data in
            let flow = env.makeFlow(settings: settings(data))
            _ = try await flow.runCycle()
            try await env.procore.addCostCode(projectID: 102, fullCode: "31-100", name: "Earthwork", budget: Money(minor: 10_000_000))
            let replay = try await flow.replay(sourceIDs: ["DEMO-UNMAPPED"], overrideBudget: false)
            #expect(replay.purchaseOrders.read == 1)  // only the named record
            #expect(replay.purchaseOrders.created == 1)
            #expect(replay.purchaseOrders.released == 1)
            let again = try await flow.replay(sourceIDs: [], overrideBudget: false)
            #expect(again.purchaseOrders.created == 0)
            await expectNoDuplicates(env)
        }
    }

    @Test func anInvoiceBeforeItsPurchaseOrderWaitsAndGoesThroughOnceThePOLands() async throws {
        try await withEnvironment { env, data in
            let flow = env.makeFlow(settings: settings(data))
            _ = try await flow.runCycle()
            let waiting = try #require(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "ApInvoice", sourceID: "SUP007/LATE-INV-1"))
            #expect(waiting.errorCode == "waitingForDependency")
            #expect(waiting.reason.contains("DEMO-LATE"))
            #expect(try await env.store.audit(AuditFilter(outcome: .held, sourceID: "SUP007/LATE-INV-1")).count == 1)

            await env.syspro.insert("PorMasterHdr", rows: [data.latePurchaseOrder.header])
            await env.syspro.insert("PorMasterDetail", rows: data.latePurchaseOrder.lines)
            env.clock.advance(by: .seconds(600))
            let summary = try await flow.runCycle()
            #expect(summary.invoices.released == 1)
            #expect(summary.invoices.held == 0)
            let commitment = try #require(await env.procore.allCommitments().first { $0.originID == "SYSPRO-PO-DEMO-LATE" })
            let requisition = try #require(await env.procore.allRequisitions().first { $0.originID == "SYSPRO-AP-SUP007-LATE-INV-1" })
            #expect(requisition.commitmentID == commitment.id)
            #expect(requisition.total == Money(minor: 1_240_000))
        }
    }

    @Test func overBudgetPOsAreHeldUnderTheHoldPolicy() async throws {
        try await withEnvironment(budget: 1_000) { env, data in
            let summary = try await env.makeFlow(settings: settings(data, policy: .hold)).runCycle()
            #expect(summary.purchaseOrders.created == 0)
            let held = try await env.store.quarantined(flow: SysproProcoreFlow.name, status: .held).filter { $0.errorCode == "overBudget" }
            #expect(held.count == data.purchaseOrderCount - 1)
            #expect(held.allSatisfy { $0.reason.contains("exceeds the budget") && $0.reason.contains("--override-budget") })
            // replay with the override posts them, with the warning in the audit
            let flow = env.makeFlow(settings: settings(data, policy: .hold))
            let replay = try await flow.replay(sourceIDs: [held[0].sourceID], overrideBudget: true)
            #expect(replay.purchaseOrders.created == 1)
            let audit = try await env.store.audit(AuditFilter(outcome: .created, sourceID: held[0].sourceID))
            #expect(audit.first?.warning?.contains("override-budget") == true)
        }
    }

    @Test func overBudgetPOsArePostedWithAWarningUnderPostAndWarn() async throws {
        try await withEnvironment(budget: 1_000) { env, data in
            let summary = try await env.makeFlow(settings: settings(data, policy: .postAndWarn)).runCycle()
            #expect(summary.purchaseOrders.created == data.purchaseOrderCount - 1)
            #expect(!summary.warnings.isEmpty)
            let warned = try await env.store.audit(AuditFilter(outcome: .created)).filter { $0.warning?.contains("exceeds the budget") == true }
            #expect(warned.count == summary.warningCount)
            #expect(summary.warnings.count == min(summary.warningCount, CycleSummary.maxListed))
        }
    }

    @Test func malformedSourceRecordsAreQuarantinedWhileTheRestSync() async throws {
        try await withEnvironment { env, data in
            let today = "2026-11-30T00:00:00Z"
            func header(_ po: String, supplier: String = "SUP001", date: String = today) -> [String: JSONValue] {
                ["PurchaseOrder": .string(po), "Supplier": .string(supplier), "OrderEntryDate": .string(date), "OrderStatus": "1"]
            }
            func line(_ po: String, qty: JSONValue = 2, price: JSONValue = 10.0, job: String = "2301", gl: String = "5100-200") -> [String: JSONValue] {
                ["PurchaseOrder": .string(po), "Line": 1, "MOrderQty": qty, "MPrice": price, "MGlCode": .string(gl), "MJob": .string(job)]
            }
            await env.syspro.insert("PorMasterHdr", rows: [
                header("BAD-QTY"), header("BAD-PRICE"), header("BAD-JOB"), header("BAD-SUPPLIER", supplier: "SUP999"),
                header("BAD-DATE", date: "2099-01-01T00:00:00Z"), header("NO-LINES"), header("BAD-GL"),
                ["Supplier": "SUP001", "OrderEntryDate": .string(today)],  // no key at all
            ])
            await env.syspro.insert("PorMasterDetail", rows: [
                line("BAD-QTY", qty: "abc"), line("BAD-PRICE", price: -5), line("BAD-JOB", job: "9999"), line("BAD-SUPPLIER"),
                line("BAD-DATE"), line("BAD-GL", gl: "5100-999"),
            ])
            await env.syspro.insert("ApInvoice", rows: [
                ["Supplier": "SUP001", "Invoice": "BAD-AMOUNT", "InvoiceDate": .string(today), "OrigInvValue": "n/a", "PurchaseOrder": "X"],
                ["Supplier": "SUP001", "Invoice": "NEG-AMOUNT", "InvoiceDate": .string(today), "OrigInvValue": -10, "PurchaseOrder": "X"],
            ])
            let summary = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(summary.errors.isEmpty)
            #expect(summary.purchaseOrders.created == data.purchaseOrderCount - 1)  // the good ones all went through
            let reasons = Dictionary(
                uniqueKeysWithValues: try await env.store.quarantined(flow: SysproProcoreFlow.name, status: .held).map { ($0.sourceID, $0) })
            #expect(reasons["BAD-QTY"]?.reason.contains("MOrderQty is not a number") == true)
            #expect(reasons["BAD-PRICE"]?.reason.contains("MPrice is negative") == true)
            #expect(reasons["BAD-JOB"]?.errorCode == "unknownProject")
            #expect(reasons["BAD-JOB"]?.reason.contains("9999") == true)
            #expect(reasons["BAD-SUPPLIER"]?.errorCode == "unknownSupplier")
            #expect(reasons["BAD-SUPPLIER"]?.reason.contains("SUP999") == true)
            #expect(reasons["BAD-DATE"]?.reason.contains("out of range") == true)
            #expect(reasons["NO-LINES"]?.reason.contains("has no lines") == true)
            #expect(reasons["BAD-GL"]?.reason.contains("does not exist in SYSPRO's GenMaster") == true)
            #expect(reasons.keys.contains { $0.hasPrefix("?PorMasterHdr#") && reasons[$0]!.reason.contains("PurchaseOrder is missing") })
            #expect(reasons["SUP001/BAD-AMOUNT"]?.reason.contains("OrigInvValue is not a number") == true)
            #expect(reasons["SUP001/NEG-AMOUNT"]?.reason.contains("negative") == true)
            // Every quarantined record keeps its payload: nothing is lost.
            #expect(reasons.values.allSatisfy { $0.payload != nil })
            #expect(try await env.store.audit(AuditFilter(outcome: .failed)).count >= 8)
        }
    }

    @Test func aMalformedODataPageStopsOnlyThatEntityAndTheWatermarkStays() async throws {
        try await withEnvironment { env, data in
            env.sysproCore.faults.add(FaultRule(path: "*/PorMasterHdr", nth: 1, effect: FaultEffect(truncateBody: true)))
            let flow = env.makeFlow(settings: settings(data))
            let broken = try await flow.runCycle()
            #expect(broken.errors.count == 1)
            #expect(broken.errors[0].contains("not an OData JSON envelope"))
            #expect(try await env.store.watermark(flow: SysproProcoreFlow.name, entity: "PorMasterHdr") == nil)
            let healed = try await flow.runCycle()
            #expect(healed.errors.isEmpty)
            #expect(healed.purchaseOrders.created == data.purchaseOrderCount - 1)
            await expectNoDuplicates(env)
        }
    }

    @Test func overlapWindowCatchesLatePostingsOnPastDaysWithoutDoubling() async throws {
        try await withEnvironment { env, data in
            let flow = env.makeFlow(settings: settings(data))
            _ = try await flow.runCycle()
            #expect(try await env.store.watermark(flow: SysproProcoreFlow.name, entity: "PorMasterHdr") == "2026-11-29")
            // A PO posted late onto a day two days before the watermark, and an invoice likewise.
            await env.syspro.insert("PorMasterHdr", rows: [
                ["PurchaseOrder": "LATE-POSTED", "Supplier": "SUP002", "OrderEntryDate": "2026-11-27T00:00:00Z", "OrderStatus": "1"],
            ])
            await env.syspro.insert("PorMasterDetail", rows: [
                ["PurchaseOrder": "LATE-POSTED", "Line": 1, "MOrderQty": 3, "MPrice": 100.0, "MGlCode": "5100-200", "MJob": "2303"],
            ])
            let second = try await flow.runCycle()
            #expect(second.purchaseOrders.created == 1)  // the late one, found
            #expect(second.purchaseOrders.skipped > 0)  // the rest of the window, re-read and dropped
            #expect(await env.procore.allCommitments().contains { $0.originID == "SYSPRO-PO-LATE-POSTED" })
            await expectNoDuplicates(env)
        }
    }

    @Test func aWriteInterruptedHalfwayIsCompletedWithoutASecondCommitment() async throws {
        try await withEnvironment { env, data in
            // The 3rd lines sync fails with a 500: the commitment exists in Procore with some lines.
            env.procoreCore.faults.add(FaultRule(
                method: "PATCH", path: "/rest/v1.0/purchase_order_contracts/*/line_items/sync", nth: 3,
                effect: FaultEffect(status: 500, body: #"{"errors":"Internal Server Error"}"#)))
            let flow = env.makeFlow(settings: settings(data))
            let first = try await flow.runCycle()
            #expect(first.purchaseOrders.held == 2)  // DEMO-UNMAPPED and the interrupted one
            let interrupted = try await env.store.quarantined(flow: SysproProcoreFlow.name, status: .held).first { $0.errorCode == "transient" }
            let po = try #require(interrupted?.sourceID)
            #expect(try await env.store.crossReference(flow: SysproProcoreFlow.name, entity: "PorMasterHdr", sourceID: po)?.state == .pending)
            let second = try await flow.runCycle()
            #expect(second.purchaseOrders.updated == 1)  // found by origin_id and completed
            let commitments = await env.procore.allCommitments().filter { $0.originID == "SYSPRO-PO-\(po)" }
            #expect(commitments.count == 1)
            let expectedLines = await env.syspro.rows("PorMasterDetail").filter { $0["PurchaseOrder"]?.stringValue == po }.count
            #expect(commitments.first?.lines == expectedLines)
            await expectNoDuplicates(env)
        }
    }

    @Test func noSecretReachesTheAuditTrailOrTheStateFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-secrets-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let result = try await Demo.run(databasePath: path, purchaseOrders: 8, logger: quiet) { _ in }
        #expect(result.commitments == 10)
        #expect(result.stillHeld.isEmpty)
        var bytes = Data()
        for suffix in ["", "-wal"] { bytes += FileManager.default.contents(atPath: path + suffix) ?? Data() }
        #expect(!bytes.isEmpty)
        for secret in [DemoData.clientSecret, DemoData.operatorPassword, DemoData.odataPassword] {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "secret found in the state file")
        }
    }
}
