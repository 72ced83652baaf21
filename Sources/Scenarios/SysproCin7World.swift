import Cin7Simulator
import ConnectorApp
import Flows
import Foundation
import SimulatorKit
import SyncEngine
import SyncStore
import SysproSimulator

/// Flow 004's world: the SYSPRO and Cin7 simulators seeded with flow 004's data set
/// (``DemoData/sysproCin7(purchaseOrders:today:seed:)``), what people do in Cin7 (edit a
/// supplier, add an account), and the assertions that read Cin7's purchases and suppliers.
struct SysproCin7World: ScenarioWorld {
    let clock: ManualClock
    let store: any SyncStateStore
    let sysproBackend: SysproBackend
    var syspro: SysproBackend? { sysproBackend }
    let cin7: Cin7Backend
    let simulators: SysproCin7Environment.Simulators
    let settings: SysproCin7Settings
    let data: DemoData
    var tokenSystem: String { "cin7" }

    func core(_ system: String) -> SimulatorCore { system == "syspro" ? simulators.syspro : simulators.cin7 }
    func advance(by duration: Duration) async { clock.advance(by: duration) }
    func settle() async {}

    static func execute(_ scenario: Scenario, runner: ScenarioRunner) async throws -> [StepResult] {
        let setup = scenario.setup
        let clock = ManualClock(start: setup.clock)
        let data = DemoData.sysproCin7(purchaseOrders: setup.purchaseOrders, today: clock.now())
        var settings = DemoData.sysproCin7Settings
        settings.pageSize = 5
        settings = try merge(settings, setup.settings.objectValue ?? [:])
        var cin7Overrides = setup.cin7.objectValue ?? [:]
        let pace = cin7Overrides.removeValue(forKey: "clientCallsPerMinute").map { Int($0.doubleValue ?? 0) } ?? ConnectorConfig.Cin7Section.defaultCallsPerMinute
        let store = try SQLiteSyncStore.inMemory()
        let (flowSettings, simulatorOverrides) = (settings, cin7Overrides)
        return try await SysproCin7Environment.run(data: data, clock: clock, store: store, settings: settings, logger: runner.logger) { _, syspro, cin7, simulators in
            if !simulatorOverrides.isEmpty { await cin7.setSettings(try merge(await cin7.settings, simulatorOverrides)) }
            if let overrides = setup.syspro.objectValue, !overrides.isEmpty {
                await syspro.setSettings(try merge(await syspro.settings, overrides))
            }
            let main: @Sendable () -> any SyncRunner = {
                simulators.makeFlow(settings: flowSettings, timeout: setup.clientTimeout, callsPerMinute: pace > 0 ? pace : nil)
            }
            let world = SysproCin7World(
                clock: clock, store: store, sysproBackend: syspro, cin7: cin7, simulators: simulators, settings: flowSettings, data: data)
            return await runner.steps(of: scenario, world: world, main: main, inFlight: 1)
        }
    }

    // MARK: steps

    func perform(_ step: Scenario.Step, state: inout RunState) async throws -> StepResult {
        switch step.action {
        case .cin7Supplier(let name, let fields, let create):
            do {
                if create {
                    var body = fields
                    body["Name"] = .string(name)
                    let saved = try await cin7.addSupplier(body)
                    return StepResult(step: step, passed: true, detail: "supplier \(name) created in Cin7 (\(saved["ID"]?.scalarText ?? "?"))")
                }
                try await cin7.editSupplier(named: name, fields: fields)
                return StepResult(step: step, passed: true, detail: "Cin7 supplier \(name) edited: \(fields.keys.sorted().joined(separator: ", "))")
            } catch {
                return StepResult(step: step, passed: false, detail: "Cin7 refused: \(error)")
            }
        case .cin7Account(let code, let name, let status):
            await cin7.setAccount(code: code, name: name, status: status)
            return StepResult(step: step, passed: true, detail: "account \(code) \(status) in Cin7's chart")
        case .cin7Settings(let overrides):
            await cin7.setSettings(try merge(await cin7.settings, overrides.objectValue ?? [:]))
            return StepResult(step: step, passed: true, detail: "Cin7 simulator settings changed")
        case .addLatePurchaseOrder:
            await sysproBackend.insert("PorMasterHdr", rows: [data.latePurchaseOrder.header])
            await sysproBackend.insert("PorMasterDetail", rows: data.latePurchaseOrder.lines)
            return StepResult(step: step, passed: true, detail: "PO DEMO-LATE entered in SYSPRO")
        default:
            return unsupported(step)
        }
    }

    // MARK: assertions

    func reference(_ purchase: JSONValue) -> String? { purchase["AdditionalAttributes"]?[settings.codeAttribute]?.stringValue }

    /// Cin7 purchases that carry a SYSPRO PO reference.
    func purchases() async -> [JSONValue] {
        await cin7.allPurchases.filter { reference($0)?.hasPrefix("\(settings.originPrefix)-PO-") == true }
    }

    func evaluate(_ assertion: Scenario.Assertion, state: RunState) async throws -> String? {
        switch assertion {
        case .cin7Purchases(let count):
            let found = await purchases().count
            return found == count ? nil : "expected \(count) Cin7 purchases from SYSPRO POs, found \(found)"
        case .cin7Purchase(let po, let exists, let status, let approach, let invoice):
            let matches = await purchases().filter { reference($0) == "\(settings.originPrefix)-PO-\(po)" }
            if !exists { return matches.isEmpty ? nil : "expected no Cin7 purchase for PO \(po), found \(matches.count)" }
            guard matches.count == 1, let purchase = matches.first else { return "expected one Cin7 purchase for PO \(po), found \(matches.count)" }
            if let status, purchase["Status"]?.stringValue != status { return "PO \(po): Cin7 purchase is \(purchase["Status"]?.scalarText ?? "?"), expected \(status)" }
            if let approach, purchase["Approach"]?.stringValue != approach { return "PO \(po): approach \(purchase["Approach"]?.scalarText ?? "?"), expected \(approach)" }
            if let invoice, purchase["Invoice"]?["InvoiceNumber"]?.stringValue != invoice {
                return "PO \(po): invoice \(purchase["Invoice"]?["InvoiceNumber"]?.scalarText ?? "none"), expected \(invoice)"
            }
            return nil
        case .cin7Supplier(let code, let name, let fields):
            let matches = await cin7.allSuppliers.filter { supplier in
                (code == nil || supplier[settings.codeAttribute]?.stringValue == code) && (name == nil || supplier["Name"]?.stringValue == name)
            }
            guard matches.count == 1, let supplier = matches.first else {
                return "expected one Cin7 supplier \(code.map { "with code \($0)" } ?? "") \(name.map { "named \($0)" } ?? ""), found \(matches.count)"
            }
            let contact = supplier["Contacts"]?.arrayValue?.first { $0["Default"]?.boolValue == true } ?? supplier["Contacts"]?.arrayValue?.first
            for (field, expected) in fields.sorted(by: { $0.key < $1.key }) {
                let found = (field == "Email" || field == "Phone" ? contact?[field] : supplier[field])?.scalarText ?? ""
                if found != expected { return "Cin7 supplier \(supplier["Name"]?.scalarText ?? "?"): \(field) is '\(found)', expected '\(expected)'" }
            }
            return nil
        case .sysproSupplier(let code, let exists, let name):
            let matches = await sysproBackend.rows("ApSupplier").filter { $0["Supplier"]?.stringValue == code }
            if !exists { return matches.isEmpty ? nil : "expected no SYSPRO supplier \(code), found \(matches.count)" }
            guard matches.count == 1, let row = matches.first else { return "expected one SYSPRO supplier \(code), found \(matches.count)" }
            if let name, row["SupplierName"]?.stringValue != name { return "supplier \(code): expected name \(name), found \(row["SupplierName"]?.stringValue ?? "?")" }
            return nil
        case .noDuplicates:
            var dupes: [String] = []
            func twice(_ keys: [String], _ what: String) {
                dupes += Dictionary(grouping: keys, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted().map { "\(what) \($0)" }
            }
            twice(await purchases().compactMap(reference), "purchase")
            twice(await cin7.allSuppliers.compactMap { $0[settings.codeAttribute]?.stringValue }.filter { !$0.isEmpty }, "Cin7 supplier code")
            twice(await cin7.allSuppliers.map { SysproCin7.normalisedName($0["Name"]?.stringValue ?? "") }, "Cin7 supplier name")
            twice(await sysproBackend.rows("ApSupplier").map { SysproCin7.normalisedName($0["SupplierName"]?.stringValue ?? "") }, "SYSPRO supplier name")
            return dupes.isEmpty ? nil : "duplicate records: \(dupes.prefix(5).joined(separator: ", "))"
        case .converged:
            return try await converged(scope: state.flow.scope)
        default:
            return "this assertion does not apply to flow \(SysproCin7.name)"
        }
    }

    /// SYSPRO and Cin7 agree: every SYSPRO supplier is one Cin7 supplier carrying its code, with
    /// the values of what SYSPRO owns; every open SYSPRO PO is one Cin7 purchase whose order
    /// lines are the PO's (product, quantity, price); every AP invoice is its purchase's invoice,
    /// authorised, on the lines' amount — or the record is held. Nothing from SYSPRO in Cin7
    /// lacks a source.
    func converged(scope: String) async throws -> String? {
        var problems: [String] = []
        let held = Set(try await store.quarantined(flow: scope, status: .held).map(\.sourceID))
        let suppliers = await cin7.allSuppliers
        for row in await sysproBackend.rows("ApSupplier") {
            let code = row["Supplier"]?.stringValue ?? ""
            if held.contains(code) { continue }
            let linked = suppliers.filter { $0[settings.codeAttribute]?.stringValue == code }
            guard linked.count == 1, let supplier = linked.first else {
                problems.append("SYSPRO supplier \(code): \(linked.count) Cin7 suppliers carry its code")
                continue
            }
            if settings.supplierOwners[.name] == .syspro, supplier["Name"]?.stringValue != row["SupplierName"]?.stringValue {
                problems.append("supplier \(code): Cin7 name '\(supplier["Name"]?.scalarText ?? "")', SYSPRO '\(row["SupplierName"]?.scalarText ?? "")'")
            }
        }
        let byReference = Dictionary(grouping: await purchases(), by: { reference($0) ?? "" })
        let details = Dictionary(grouping: await sysproBackend.rows("PorMasterDetail"), by: { $0["PurchaseOrder"]?.stringValue ?? "" })
        var origins = Set<String>()
        for header in await sysproBackend.rows("PorMasterHdr") {
            guard let po = header["PurchaseOrder"]?.stringValue else { continue }
            origins.insert("\(settings.originPrefix)-PO-\(po)")
            if held.contains(po) || header["OrderStatus"]?.stringValue == "*" { continue }
            let found = byReference["\(settings.originPrefix)-PO-\(po)"] ?? []
            guard found.count == 1, let purchase = found.first else {
                problems.append("PO \(po): \(found.count) Cin7 purchases and not held")
                continue
            }
            let lines = (details[po] ?? []).filter { $0["LineType"]?.stringValue != "6" }.map { line -> String in
                let code = line["MStockCode"]?.scalarText ?? ""
                let sku = code.isEmpty ? (settings.nonStockProduct ?? "") : (settings.products[code] ?? code)
                return "\(sku.uppercased())|\(line["MOrderQty"]?.doubleValue ?? 0)|\(line["MPrice"]?.doubleValue ?? 0)"
            }.sorted()
            let ordered = (purchase["Order"]?["Lines"]?.arrayValue ?? []).map {
                "\($0["SKU"]?.scalarText.uppercased() ?? "")|\($0["Quantity"]?.doubleValue ?? 0)|\($0["Price"]?.doubleValue ?? 0)"
            }.sorted()
            if lines != ordered { problems.append("PO \(po): Cin7 order lines \(ordered), SYSPRO \(lines)") }
        }
        for key in byReference.keys where !origins.contains(key) { problems.append("Cin7 purchase \(key) has no SYSPRO PO") }
        let invoiced = await purchases()
        for invoice in await sysproBackend.rows("ApInvoice") {
            guard let supplier = invoice["Supplier"]?.stringValue, let number = invoice["Invoice"]?.stringValue,
                let po = invoice[settings.invoicePurchaseOrderColumn]?.stringValue
            else { continue }
            let id = SysproCin7.invoiceID(supplier: supplier, invoice: number)
            if held.contains(id) { continue }
            let on = invoiced.filter { reference($0) == "\(settings.originPrefix)-PO-\(po)" }
            guard on.count == 1, let purchase = on.first else {
                problems.append("invoice \(supplier)/\(number): its PO \(po) has \(on.count) Cin7 purchases and the invoice is not held")
                continue
            }
            let document = purchase["Invoice"]
            guard document?["InvoiceNumber"]?.stringValue == number, document?["Status"]?.stringValue == "AUTHORISED" else {
                problems.append("invoice \(supplier)/\(number): the purchase of PO \(po) has invoice \(document?["InvoiceNumber"]?.scalarText ?? "none") (\(document?["Status"]?.scalarText ?? "?")) and it is not held")
                continue
            }
            if Money.parse(invoice["OrigInvValue"]) != Money.parse(document?["Total"]) {
                problems.append("invoice \(supplier)/\(number): Cin7 \(document?["Total"]?.scalarText ?? "?"), SYSPRO \(invoice["OrigInvValue"]?.scalarText ?? "?")")
            }
        }
        return Scenario.notConverged(problems)
    }
}
