import ConnectorApp
import Flows
import Foundation
import ProcurifySimulator
import SimulatorKit
import SyncEngine
import SyncStore
import SysproSimulator

/// Flow 001's world: the Procurify and SYSPRO simulators seeded with the demo data set (its
/// vendors and `setup.purchaseOrders` purchased POs, one in six cancelled, bills for half), the
/// steps a Procurify user takes (purchase, revise, cancel, vendors, bills) and the assertions
/// that read SYSPRO as e.net wrote it.
struct ProcurifyWorld: ScenarioWorld {
    let clock: ManualClock
    let store: any SyncStateStore
    let sysproBackend: SysproBackend
    var syspro: SysproBackend? { sysproBackend }
    let procurify: ProcurifyBackend
    let simulators: ProcurifySysproEnvironment.Simulators
    let settings: ProcurifySysproSettings
    var tokenSystem: String { "procurify" }

    func core(_ system: String) -> SimulatorCore { system == "syspro" ? simulators.syspro : simulators.procurify }
    func advance(by duration: Duration) async { clock.advance(by: duration) }
    func settle() async {}

    static func execute(_ scenario: Scenario, runner: ScenarioRunner) async throws -> [StepResult] {
        let setup = scenario.setup
        let clock = ManualClock(start: setup.clock)
        let data = DemoData.procurify(purchaseOrders: setup.purchaseOrders, today: clock.now())
        var settings = ProcurifySysproSettings(ledgerCodes: ProcurifySysproEnvironment.demoLedger)
        settings.pageSize = 5
        settings = try merge(settings, setup.settings.objectValue ?? [:])
        let store = try SQLiteSyncStore.inMemory()
        let flowSettings = settings
        return try await ProcurifySysproEnvironment.run(data: data, clock: clock, store: store, settings: settings, logger: runner.logger) { _, syspro, procurify, simulators in
            if let overrides = setup.procurify.objectValue, !overrides.isEmpty {
                await procurify.setSettings(try merge(await procurify.settings, overrides))
            }
            if let overrides = setup.syspro.objectValue, !overrides.isEmpty {
                await syspro.setSettings(try merge(await syspro.settings, overrides))
            }
            let main: @Sendable () -> any SyncRunner = { simulators.makeFlow(settings: flowSettings, timeout: setup.clientTimeout) }
            let world = ProcurifyWorld(clock: clock, store: store, sysproBackend: syspro, procurify: procurify, simulators: simulators, settings: flowSettings)
            return await runner.steps(of: scenario, world: world, main: main, inFlight: 4)  // POs and bills go four at a time
        }
    }

    // MARK: steps

    func perform(_ step: Scenario.Step, state: inout RunState) async throws -> StepResult {
        switch step.action {
        case .procurifyPurchase(let vendorID, let currency, let lines, let fields):
            var po: [String: JSONValue] = ["purchaser": ["id": 12, "email": "buyer@acme.example", "department": ["id": 1, "name": "Head Office"]]]
            if let vendorID {
                guard let vendor = await vendors().first(where: { $0["id"]?.doubleValue == Double(vendorID) }) else {
                    return StepResult(step: step, passed: false, detail: "Procurify has no vendor \(vendorID)")
                }
                po["pref_vendor"] = vendor
                po["vendor_name"] = vendor["name"]
            }
            po["purchased_currency"] = await procurify.list("/api/v2/currencies")?.first { $0["name"]?.stringValue == currency } ?? ["id": 0, "name": .string(currency)]
            var total = 0.0
            po["order_items"] = .array(lines.enumerated().map { index, line in
                var item = line.objectValue ?? [:]
                item["PO_line_num"] = .number(Double(index + 1))
                item["name"] = item["name"] ?? .string("Scenario item \(index + 1)")
                item["unit"] = item["unit"] ?? "EA"
                total += (Double(item["quantity"]?.scalarText ?? "") ?? 0) * (Double(item["price"]?.scalarText ?? "") ?? 0)
                return .object(item)
            })
            po["total"] = .string(String(format: "%.2f", total))
            po.merge(fields) { _, raw in raw }
            let saved = await procurify.purchaseRequisition(.object(po))
            return StepResult(step: step, passed: true, detail: "Procurify PO \(saved["procurify_PO"]?.scalarText ?? "?") purchased (\(lines.count) line(s), total \(String(format: "%.2f", total)))")
        case .procurifyRevise(let number, let lines, let fields):
            let found = await procurify.revisePurchaseOrder(number: number, changes: fields, items: lines)
            return StepResult(step: step, passed: found, detail: found ? "Procurify PO \(number) revised" : "Procurify has no PO \(number)")
        case .procurifyCancel(let number):
            let found = await procurify.revisePurchaseOrder(number: number, changes: ["state": 1])
            return StepResult(step: step, passed: found, detail: found ? "Procurify PO \(number) cancelled" : "Procurify has no PO \(number)")
        case .procurifyVendor(let id, let name, let externalID):
            var body: [String: JSONValue] = ["name": .string(name)]
            if let externalID { body["external_id"] = .string(externalID) }
            if id == nil {
                body["email"] = []
                body["type"] = 3
            }
            let saved = try await procurify.saveVendor(body, id: id.map(String.init), partial: id != nil)
            return StepResult(step: step, passed: true, detail: "Procurify vendor \(saved["id"]?.scalarText ?? "?") \(id == nil ? "created" : "changed"): \(name)")
        case .procurifyBill(let number, let invoice, let status, let fields):
            guard let po = await procurify.allPurchaseOrders.first(where: { $0["procurify_PO"]?.doubleValue == Double(number) }) else {
                return StepResult(step: step, passed: false, detail: "Procurify has no PO \(number) to bill")
            }
            var subtotal = 0.0
            let items: [JSONValue] = (po["order_items"]?.arrayValue ?? []).map { line in
                let cost = (Double(line["quantity"]?.scalarText ?? "") ?? 0) * (Double(line["price"]?.scalarText ?? "") ?? 0)
                subtotal += cost
                return [
                    "id": .number((line["id"]?.doubleValue ?? 0) + 200_000), "description": line["name"] ?? .null, "quantity": line["quantity"] ?? .null,
                    "unit_cost": line["price"] ?? .null, "total_cost": .string(String(format: "%.2f", cost)), "tax_amount": "0.00",
                    "po": ["id": .number(Double(number)), "number": .string(String(number))],
                    "orderitem": ["id": line["id"] ?? .null, "PO_line_num": line["PO_line_num"] ?? .null],
                    "cost_allocations": [["account_code": line["accountCode"] ?? .null, "department": "Head Office", "percentage": 100]],
                ]
            }
            let today = clock.now().formatted(.iso8601)
            var bill: [String: JSONValue] = [
                "status": .number(Double(status)), "type": 0, "invoice_number": .string(invoice), "invoice_date": .string(today),
                "due_date": .string(clock.now().addingTimeInterval(30 * 86_400).formatted(.iso8601)), "currency": po["purchased_currency"] ?? .null,
                "vendor": po["pref_vendor"] ?? .null, "items": .array(items), "subtotal_cost": .string(String(format: "%.2f", subtotal)),
                "tax_amount": "0.00", "total_cost": .number(subtotal), "total_cost_with_tax": .number(subtotal),
                "added_purchase_orders": [["id": .number(Double(number)), "number": .string(String(number))]],
            ]
            bill.merge(fields) { _, raw in raw }
            await procurify.addBill(.object(bill))
            return StepResult(step: step, passed: true, detail: "bill \(invoice) entered on Procurify PO \(number) (status \(status), \(String(format: "%.2f", subtotal)))")
        case .procurifyBillStatus(let invoice, let status):
            let found = await procurify.setBillStatus(invoiceNumber: invoice, status: status)
            return StepResult(step: step, passed: found, detail: found ? "bill \(invoice) now in status \(status)" : "Procurify has no bill \(invoice)")
        default:
            return unsupported(step)
        }
    }

    func vendors() async -> [JSONValue] { await procurify.list("/api/v3/vendors") ?? [] }

    // MARK: assertions

    /// SYSPRO POs carrying a Procurify PO number.
    func orders() async -> [[String: JSONValue]] {
        await sysproBackend.rows("PorMasterHdr").filter { $0["CustomerPoNumber"]?.stringValue?.hasPrefix("PRC-PO-") == true }
    }

    /// SYSPRO AP invoices posted from Procurify bills.
    func invoices() async -> [[String: JSONValue]] {
        await sysproBackend.rows("ApInvoice").filter { $0["Reference"]?.stringValue?.hasPrefix("PRC-BILL-") == true }
    }

    static func cents(_ value: Double) -> Int64 { Int64((value * 100).rounded()) }

    /// A SYSPRO PO's lines and their value in cents.
    func lines(of po: JSONValue?) async -> (count: Int, cents: Int64) {
        let lines = await sysproBackend.rows("PorMasterDetail").filter { $0["PurchaseOrder"] == po }
        return (lines.count, lines.reduce(0) { $0 + Self.cents(($1["MOrderQty"]?.doubleValue ?? 0) * ($1["MPrice"]?.doubleValue ?? 0)) })
    }

    func evaluate(_ assertion: Scenario.Assertion, state: RunState) async throws -> String? {
        switch assertion {
        case .sysproOrders(let count):
            let found = await orders().count
            return found == count ? nil : "expected \(count) SYSPRO POs from Procurify, found \(found)"
        case .sysproOrder(let number, let exists, let lineCount, let total, let cancelled):
            let matches = await orders().filter { $0["CustomerPoNumber"]?.stringValue == "PRC-PO-\(number)" }
            if !exists { return matches.isEmpty ? nil : "expected no SYSPRO PO for Procurify PO \(number), found \(matches.count)" }
            guard matches.count == 1, let po = matches.first else { return "expected one SYSPRO PO for Procurify PO \(number), found \(matches.count)" }
            let (count, cents) = await lines(of: po["PurchaseOrder"])
            if let lineCount, count != lineCount { return "SYSPRO PO for Procurify PO \(number): expected \(lineCount) line(s), found \(count)" }
            if let total, Money.parse(.string(total))?.minor != cents {
                return "SYSPRO PO for Procurify PO \(number): expected lines worth \(total), found \(Money(minor: cents).decimalString)"
            }
            if let cancelled, (po["OrderStatus"] == "*") != cancelled {
                return "SYSPRO PO for Procurify PO \(number): expected it \(cancelled ? "" : "not ")cancelled, its OrderStatus is \(po["OrderStatus"]?.stringValue ?? "?")"
            }
            return nil
        case .sysproInvoices(let count):
            let found = await invoices().count
            return found == count ? nil : "expected \(count) SYSPRO AP invoices from Procurify bills, found \(found)"
        case .sysproInvoice(let invoice, let exists, let total, let procurifyPO):
            let matches = await invoices().filter { $0["Invoice"]?.stringValue == invoice }
            if !exists { return matches.isEmpty ? nil : "expected no SYSPRO AP invoice \(invoice), found \(matches.count)" }
            guard matches.count == 1, let row = matches.first else { return "expected one SYSPRO AP invoice \(invoice), found \(matches.count)" }
            if let total, Money.parse(.string(total)) != Money.parse(row["OrigInvValue"]) {
                return "AP invoice \(invoice): expected \(total), found \(row["OrigInvValue"]?.canonicalJSON() ?? "?")"
            }
            if let procurifyPO {
                let po = await sysproBackend.rows("PorMasterHdr").first { $0["PurchaseOrder"] == row["PurchaseOrder"] }
                if po?["CustomerPoNumber"]?.stringValue != "PRC-PO-\(procurifyPO)" {
                    return "AP invoice \(invoice): expected it on the SYSPRO PO of Procurify PO \(procurifyPO), it is on '\(row["PurchaseOrder"]?.stringValue ?? "")'"
                }
            }
            return nil
        case .sysproSupplier(let code, let exists, let name):
            let matches = await sysproBackend.rows("ApSupplier").filter { $0["Supplier"]?.stringValue == code }
            if !exists { return matches.isEmpty ? nil : "expected no SYSPRO supplier \(code), found \(matches.count)" }
            guard matches.count == 1, let row = matches.first else { return "expected one SYSPRO supplier \(code), found \(matches.count)" }
            if let name, row["SupplierName"]?.stringValue != name { return "supplier \(code): expected name \(name), found \(row["SupplierName"]?.stringValue ?? "?")" }
            return nil
        case .procurifyVendor(let name, let externalID):
            let matches = await vendors().filter { $0["name"]?.stringValue == name }
            guard matches.count == 1, let vendor = matches.first else { return "expected one Procurify vendor named \(name), found \(matches.count)" }
            if let externalID, vendor["external_id"]?.stringValue != externalID {
                return "Procurify vendor \(name): expected external_id \(externalID), found \(vendor["external_id"]?.stringValue ?? "none")"
            }
            return nil
        case .noDuplicates:
            var dupes: [String] = []
            func twice(_ keys: [String], _ what: String) {
                dupes += Dictionary(grouping: keys, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted().map { "\(what) \($0)" }
            }
            twice(await orders().compactMap { $0["CustomerPoNumber"]?.stringValue }, "PO")
            twice(await sysproBackend.rows("ApInvoice").compactMap { row in row["Invoice"]?.stringValue.map { "\(row["Supplier"]?.stringValue ?? "")/\($0)" } }, "invoice")
            twice(await invoices().compactMap { $0["Reference"]?.stringValue }, "bill")
            twice(await sysproBackend.rows("ApSupplier").compactMap { $0["Supplier"]?.stringValue }, "supplier")
            return dupes.isEmpty ? nil : "duplicate records in SYSPRO: \(dupes.prefix(5).joined(separator: ", "))"
        case .converged:
            return try await converged(scope: state.flow.scope)
        default:
            return "this assertion does not apply to flow \(ProcurifySyspro.name)"
        }
    }

    /// Procurify and SYSPRO agree: every vendor names an existing supplier in `external_id` (or
    /// its override); every purchased PO is in SYSPRO once with its lines and value, every
    /// cancelled one absent or cancelled there; every payable bill is one AP invoice of its value
    /// — or the record is held. Nothing from Procurify in SYSPRO lacks a source.
    func converged(scope: String) async throws -> String? {
        var problems: [String] = []
        let held = Set(try await store.quarantined(flow: scope, status: .held).map(\.sourceID))
        let suppliers = Set(await sysproBackend.rows("ApSupplier").compactMap { $0["Supplier"]?.stringValue })
        for vendor in await vendors() {
            guard let id = vendor["id"]?.scalarText, !held.contains(id) else { continue }
            let code = settings.supplierOverrides[id] ?? vendor["external_id"]?.stringValue ?? ""
            if !suppliers.contains(code) { problems.append("vendor \(id) (\(vendor["name"]?.stringValue ?? "?")): external_id '\(code)' is no SYSPRO supplier") }
        }
        let sysproOrders = Dictionary(grouping: await orders(), by: { $0["CustomerPoNumber"]?.stringValue ?? "" })
        var origins = Set<String>()
        for po in await procurify.allPurchaseOrders {
            guard let number = po["procurify_PO"]?.scalarText else { continue }
            origins.insert("PRC-PO-\(number)")
            if held.contains(number) { continue }
            let found = sysproOrders["PRC-PO-\(number)"] ?? []
            if po["state"]?.doubleValue == 1 {
                if found.contains(where: { $0["OrderStatus"] != "*" }) { problems.append("PO \(number) is cancelled in Procurify, open in SYSPRO") }
                continue
            }
            guard found.count == 1 else {
                problems.append("PO \(number): \(found.count) SYSPRO POs and not held")
                continue
            }
            let items = po["order_items"]?.arrayValue ?? []
            let expected = items.reduce(Int64(0)) { $0 + Self.cents((Double($1["quantity"]?.scalarText ?? "") ?? 0) * (Double($1["price"]?.scalarText ?? "") ?? 0)) }
            let (count, cents) = await lines(of: found[0]["PurchaseOrder"])
            if count != items.count || cents != expected {
                problems.append("PO \(number): SYSPRO has \(count) line(s) worth \(Money(minor: cents)), Procurify \(items.count) worth \(Money(minor: expected))")
            }
        }
        for key in sysproOrders.keys where !origins.contains(key) { problems.append("SYSPRO PO \(key) has no Procurify PO") }
        let sysproInvoices = Dictionary(grouping: await invoices(), by: { $0["Reference"]?.stringValue ?? "" })
        var references = Set<String>()
        for bill in await procurify.allBills {
            guard let uuid = bill["uuid"]?.stringValue else { continue }
            let reference = ProcurifySyspro.billReference(bill, uuid: uuid)
            references.insert(reference)
            guard let status = bill["status"]?.doubleValue, settings.payableBillStatuses.contains(Int(status)), !held.contains(uuid) else { continue }
            let found = sysproInvoices[reference] ?? []
            guard found.count == 1 else {
                problems.append("bill \(bill["invoice_number"]?.stringValue ?? uuid): \(found.count) SYSPRO AP invoices and not held")
                continue
            }
            let expected = (bill["items"]?.arrayValue ?? []).reduce(Int64(0)) { $0 + Self.cents(Double($1["total_cost"]?.scalarText ?? "") ?? 0) }
                + Self.cents(Double(bill["tax_amount"]?.scalarText ?? "") ?? 0)
            if Money.parse(found[0]["OrigInvValue"])?.minor != expected {
                problems.append("bill \(bill["invoice_number"]?.stringValue ?? uuid): SYSPRO \(found[0]["OrigInvValue"]?.canonicalJSON() ?? "?"), Procurify \(Money(minor: expected))")
            }
        }
        for key in sysproInvoices.keys where !references.contains(key) { problems.append("SYSPRO AP invoice \(key) has no Procurify bill") }
        return Scenario.notConverged(problems)
    }
}
