import ConnectorApp
import Flows
import Foundation
import Logging
import SimulatorKit
import SyncEngine
import Cin7Simulator
import SyncStore
import SysproSimulator
import Testing

/// Flow 004 end to end: SYSPRO and Cin7 simulators on loopback, real HTTP, one simulated clock.
/// The scenario library (`scenarios/syspro-cin7/`) covers the faults; these tests pin the
/// properties a scenario cannot state as directly: a third cycle writes nothing, the Cin7 pace
/// never exceeds 60 calls in any minute, an edit on both sides costs one write per side.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SysproCin7FlowTests {
    static let today = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01T00:00:00Z

    func withFlow<R: Sendable>(
        purchaseOrders: Int = 6, settings: SysproCin7Settings = DemoData.sysproCin7Settings,
        _ body: @Sendable (SysproCin7Environment.Simulators, SysproBackendRef, any SyncStateStore, ManualClock) async throws -> R
    ) async throws -> R {
        let clock = ManualClock(start: Self.today)
        let data = DemoData.sysproCin7(purchaseOrders: purchaseOrders, today: clock.now())
        let store = try SQLiteSyncStore.inMemory()
        return try await SysproCin7Environment.run(data: data, clock: clock, store: store, settings: settings, logger: Logger(label: "test")) { _, syspro, cin7, simulators in
            try await body(simulators, SysproBackendRef(syspro: syspro, cin7: cin7), store, clock)
        }
    }

    @Test func twoCyclesConvergeAndAThirdWritesNothing() async throws {
        try await withFlow { simulators, backends, store, clock in
            let flow = simulators.makeFlow(settings: DemoData.sysproCin7Settings)
            let first = try await flow.runCycle()
            #expect(first.errors.isEmpty)
            // Eight SYSPRO suppliers: six matched by name to hand-typed Cin7 suppliers and linked,
            // two created in Cin7; "Metro Fasteners" exists only in Cin7 and becomes a SYSPRO supplier.
            let suppliers = await backends.cin7.allSuppliers
            #expect(suppliers.count == 9)
            #expect(suppliers.allSatisfy { !($0["AdditionalAttribute1"]?.stringValue ?? "").isEmpty })
            #expect(await backends.syspro.rows("ApSupplier").count == 9)
            let purchases = await backends.cin7.allPurchases
            #expect(purchases.count == 7)  // six POs and DEMO-NEWGL
            #expect(try await store.quarantined(flow: SysproCin7.name, status: .held).map(\.errorCode).sorted() == ["missingAccount", "waitingForDependency"])

            clock.advance(by: .seconds(15 * 60))
            _ = try await flow.runCycle()
            let writes = await simulators.cin7.journal.all.count
            let sysproWrites = simulators.syspro.journal.all.filter { $0.path.contains("Setup") || $0.path.contains("Transaction") }.count
            clock.advance(by: .seconds(15 * 60))
            // A restarted process: nothing cached, the store alone says what is done.
            let third = try await simulators.makeFlow(settings: DemoData.sysproCin7Settings).runCycle()
            #expect(third.errors.isEmpty)
            for label in SysproCin7.entityLabels {
                #expect(third[label].created == 0 && third[label].updated == 0, "\(label): \(third[label].text)")
            }
            let thirdWrites = simulators.cin7.journal.all.dropFirst(writes).filter { $0.method != "GET" }
            #expect(thirdWrites.isEmpty, "Cin7 writes in the third cycle: \(thirdWrites.map { "\($0.method) \($0.path)" })")
            #expect(simulators.syspro.journal.all.filter { $0.path.contains("Setup") || $0.path.contains("Transaction") }.count == sysproWrites)
        }
    }

    @Test func theCin7PaceNeverSpendsMoreThanSixtyCallsInAnyMinute() async throws {
        try await withFlow(purchaseOrders: 40) { simulators, _, _, clock in
            _ = try await simulators.makeFlow(settings: DemoData.sysproCin7Settings).runCycle()
            let stamps = simulators.cin7.journal.all.map(\.at).sorted()
            #expect(stamps.count > 60, "the run must be long enough to test the pace (\(stamps.count) calls)")
            var worst = 0
            var start = 0
            for (index, stamp) in stamps.enumerated() {
                while stamp.timeIntervalSince(stamps[start]) >= 60 { start += 1 }
                worst = max(worst, index - start + 1)
            }
            #expect(worst <= 60, "\(worst) Cin7 calls inside one minute")
            #expect(simulators.cin7.journal.all.filter { $0.status == 503 || $0.status == 429 }.isEmpty)
        }
    }

    @Test func aSupplierEditedOnBothSidesTakesEachOwnersValueWithOneWritePerSide() async throws {
        try await withFlow { simulators, backends, _, clock in
            let flow = simulators.makeFlow(settings: DemoData.sysproCin7Settings)
            _ = try await flow.runCycle()
            clock.advance(by: .seconds(15 * 60))
            _ = try await flow.runCycle()
            clock.advance(by: .seconds(15 * 60))
            // SYSPRO owns the name, Cin7 the e-mail; each side edits both.
            await backends.syspro.update("ApSupplier", where: "Supplier", equals: "SUP002", set: ["SupplierName": "Harbor Ready Mix Concrete", "Email": "syspro-side@harbor.example"])
            let cin7Name = await backends.cin7.allSuppliers.first { $0["AdditionalAttribute1"]?.stringValue == "SUP002" }!["Name"]!.stringValue!
            try await backends.cin7.editSupplier(named: cin7Name, fields: ["Name": "Harbour Readymix (Cin7 edit)", "Email": "cin7-side@harbor.example"])
            let cin7Before = simulators.cin7.journal.all.count
            let sysproBefore = simulators.syspro.journal.all.count
            let summary = try await flow.runCycle()
            #expect(summary.errors.isEmpty)
            let supplier = await backends.cin7.allSuppliers.first { $0["AdditionalAttribute1"]?.stringValue == "SUP002" }!
            #expect(supplier["Name"]?.stringValue == "Harbor Ready Mix Concrete")
            let contact = supplier["Contacts"]?.arrayValue?.first { $0["Default"]?.boolValue == true }
            #expect(contact?["Email"]?.stringValue == "cin7-side@harbor.example")
            let row = await backends.syspro.rows("ApSupplier").first { $0["Supplier"]?.stringValue == "SUP002" }
            #expect(row?["SupplierName"]?.stringValue == "Harbor Ready Mix Concrete")
            #expect(row?["Email"]?.stringValue == "cin7-side@harbor.example")
            let cin7Puts = simulators.cin7.journal.all.dropFirst(cin7Before).filter { $0.method == "PUT" && $0.path.hasSuffix("/supplier") }
            #expect(cin7Puts.count == 1)
            let sysproSetups = simulators.syspro.journal.all.dropFirst(sysproBefore).filter { $0.path.contains("Setup/Update") }
            #expect(sysproSetups.count == 1)
            // …and neither write comes back as a change in the next cycle.
            clock.advance(by: .seconds(15 * 60))
            let after = simulators.cin7.journal.all.count
            let next = try await flow.runCycle()
            #expect(next.sysproSuppliers.updated == 0 && next.cin7Suppliers.updated == 0)
            #expect(simulators.cin7.journal.all.dropFirst(after).allSatisfy { $0.method == "GET" })
        }
    }

    @Test func namesAreMatchedIgnoringCaseLegalFormsAndPunctuation() {
        #expect(SysproCin7.normalisedName("Pacific Rebar Supply Pty Ltd") == SysproCin7.normalisedName("PACIFIC REBAR SUPPLY"))
        #expect(SysproCin7.normalisedName("Harbor Ready-Mix") == SysproCin7.normalisedName("Harbor Ready Mix"))
        #expect(SysproCin7.normalisedName("Northside Drywall Co.") == SysproCin7.normalisedName("Northside Drywall Company"))
        #expect(SysproCin7.normalisedName("Granite State Aggregates LLC") == SysproCin7.normalisedName("Granite State Aggregates, LLC"))
        #expect(SysproCin7.normalisedName("Summit Steel") != SysproCin7.normalisedName("Summit Steel Fabricators"))
    }

    @Test func theExampleConfigLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/config/syspro-cin7.yaml").path
        let config = try ConnectorConfig.load(path: path)
        let integration = try #require(config.integrations.first)
        let settings = try #require(integration.sysproCin7Settings)
        #expect(integration.flow == SysproCin7.name && integration.intervalMinutes == 15)
        #expect(settings.glAccounts.count == 4 && settings.products["OLD-REBAR-12"] == "SKU-5100" && settings.nonStockProduct == "SERVICE-MISC")
        #expect(settings.supplierOwners[.email] == .cin7 && settings.supplierOwners[.name] == .syspro)
        // a typo in a settings key, and the seed's RECEIVE approach: refused with the file named
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(throws: SyncError.self) { try ConnectorConfig.parse(text.replacingOccurrences(of: "invoiceTolerance:", with: "invoiceTolerence:"), path: "t.yaml") }
        #expect(throws: SyncError.self) { try ConnectorConfig.parse(text.replacingOccurrences(of: "approach: auto", with: "approach: RECEIVE"), path: "t.yaml") }
        // the settings check's own message reaches the user, not the YAML decoder's "not valid YAML"
        do {
            _ = try ConnectorConfig.parse(text.replacingOccurrences(of: "        terms: syspro", with: "        paymentTerm: syspro"), path: "t.yaml")
            Issue.record("an unknown supplier attribute was accepted")
        } catch let error as SyncError {
            #expect(error.message.contains("unknown attribute 'paymentTerm'"), "\(error.message)")
        }
    }

    @Test func settingsRefuseWhatCin7CannotDo() throws {
        func decode(_ json: String) throws -> SysproCin7Settings { try JSONDecoder().decode(SysproCin7Settings.self, from: Data(json.utf8)) }
        #expect(throws: SyncError.self) { try decode(#"{"approach": "RECEIVE"}"#) }
        #expect(throws: SyncError.self) { try decode(#"{"codeAttribute": "AdditionalAttribute11"}"#) }
        #expect(throws: SyncError.self) { try decode(#"{"supplierOwners": {"fax": "cin7"}}"#) }
        #expect(throws: SyncError.self) { try decode(#"{"supplierOwners": {"email": "both"}}"#) }
        let settings = try decode(#"{"supplierOwners": {"email": "syspro"}, "poWatermarkColumn": "OrderDueDate"}"#)
        #expect(settings.supplierOwners[.email] == .syspro)
        #expect(settings.supplierOwners[.name] == .syspro)
        #expect(settings.poWatermarkColumn == "OrderDueDate")
    }
}

/// The two backends of one run, passed as one value.
struct SysproBackendRef: Sendable {
    let syspro: SysproBackend
    let cin7: Cin7Backend
}
