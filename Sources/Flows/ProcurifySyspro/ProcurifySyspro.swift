import Foundation
import Logging
import ProcurifyClient
import SyncEngine
import SysproClient

/// Flow 001 on the flow runtime: Procurify vendors, purchased POs and approved bills into SYSPRO
/// suppliers (APSSSP), purchase orders (PORTOI) and AP invoices (APSTIN).
public typealias ProcurifySysproFlow = FlowRuntime<ProcurifySyspro>

extension FlowRuntime where Definition == ProcurifySyspro {
    public init(
        settings: ProcurifySysproSettings, procurify: ProcurifyClient, syspro: SysproClient, store: any SyncStateStore,
        clock: any SyncClock, logger: Logger, scope: String? = nil, holder: String = FlowRuntimeDefaults.processHolder
    ) {
        self.init(
            definition: ProcurifySyspro(settings: settings, procurify: procurify, syspro: syspro, clock: clock), store: store, clock: clock,
            logger: logger, scope: scope, holder: holder)
    }
}

/// A row of the ledger mapping: a Procurify account code (and, optionally, department) → the
/// SYSPRO GL code (`account-costcentre`, as `GenMaster.GlCode` holds it).
public struct LedgerMapping: Codable, Sendable, Equatable {
    public static let keys = ["accountCode", "department", "ledgerCode"]
    public var accountCode: String
    public var department: String?
    public var ledgerCode: String

    public init(accountCode: String, department: String? = nil, ledgerCode: String) {
        self.accountCode = accountCode
        self.department = department
        self.ledgerCode = ledgerCode
    }
}

/// Flow 001's per-customer settings.
public struct ProcurifySysproSettings: Codable, Sendable, Equatable {
    /// Account code (+ department) → GL code; a line whose code has no row is held naming it.
    public var ledgerCodes: [LedgerMapping] = []
    /// Procurify vendor id → SYSPRO supplier code, where the normalised code would be wrong.
    public var supplierOverrides: [String: String] = [:]
    /// Procurify currency name → SYSPRO currency code (SYSPRO's own codes, `$` for the local one).
    public var currencies: [String: String] = ["USD": "$"]
    /// Product class and warehouse of the non-stocked PO lines PORTOI needs.
    public var productClass = "MATL"
    public var warehouse = ""
    /// Days re-read before the watermark (Procurify's PO filter is by whole day).
    public var overlapDays = 1
    public var pageSize = 50
    /// Bill statuses that are payable, so posted: Approved, Paid, Payment Confirmed/Approved/Limbo.
    public var payableBillStatuses = [2, 4, 6, 7, 8]

    public init(ledgerCodes: [LedgerMapping] = []) { self.ledgerCodes = ledgerCodes }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case ledgerCodes, supplierOverrides, currencies, productClass, warehouse, overlapDays, pageSize, payableBillStatuses
    }

    /// The keys a config may set (any other is refused naming the line).
    public static let keys = CodingKeys.allCases.map(\.rawValue)

    /// Every key optional: what a config leaves out keeps its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ProcurifySysproSettings()
        ledgerCodes = try c.decodeIfPresent([LedgerMapping].self, forKey: .ledgerCodes) ?? d.ledgerCodes
        supplierOverrides = try c.decodeIfPresent([String: String].self, forKey: .supplierOverrides) ?? d.supplierOverrides
        currencies = try c.decodeIfPresent([String: String].self, forKey: .currencies) ?? d.currencies
        productClass = try c.decodeIfPresent(String.self, forKey: .productClass) ?? d.productClass
        warehouse = try c.decodeIfPresent(String.self, forKey: .warehouse) ?? d.warehouse
        overlapDays = try c.decodeIfPresent(Int.self, forKey: .overlapDays) ?? d.overlapDays
        pageSize = try c.decodeIfPresent(Int.self, forKey: .pageSize) ?? d.pageSize
        payableBillStatuses = try c.decodeIfPresent([Int].self, forKey: .payableBillStatuses) ?? d.payableBillStatuses
        guard (1...100).contains(pageSize) else { throw SyncError(.invalidConfig, "settings.pageSize \(pageSize) is outside 1…100 (Procurify's page size cap)") }
        guard (0...30).contains(overlapDays) else { throw SyncError(.invalidConfig, "settings.overlapDays \(overlapDays) is outside 0…30") }
    }
}

/// What flow 001 says: three entities read from Procurify (vendors in full every cycle, POs by
/// `modified_date`, bills by `last_modified_datetime`), planned against the mapping tables, and
/// written to SYSPRO through e.net business objects after a COMFND look-up by the Procurify id the
/// flow writes into SYSPRO: the supplier code itself, `PorMasterHdr.CustomerPoNumber`
/// (`PRC-PO-<number>`), and (supplier, invoice number) — SYSPRO's own AP invoice key. No retry,
/// replay or duplicate read makes a second supplier, PO or invoice. A PO cancelled in Procurify
/// (state 1) cancels its SYSPRO PO (PORTOI action D, `OrderStatus` `*`) if it got there, and is
/// skipped if it never did.
public actor ProcurifySyspro: FlowDefinition {
    public enum Plan: Sendable {
        case supplier(code: String, name: String, currency: String, vendorID: String, externalID: String?)
        case order(number: String, supplier: String, xmlHeader: String, lines: [String])
        /// Cancelled in Procurify: cancel the SYSPRO PO if it reached SYSPRO (PORTOI action D).
        case cancel(number: String)
        case bill(supplier: String, invoice: String, xml: String)
    }

    public static let name = "procurify-syspro"
    static let vendors = FlowEntity(name: "vendors", label: "vendors", noun: "vendor", source: "procurify", destination: "syspro", sourceName: "Procurify")
    static let orders = FlowEntity(name: "purchaseOrders", label: "purchaseOrders", noun: "PO", source: "procurify", destination: "syspro", sourceName: "Procurify")
    static let bills = FlowEntity(name: "bills", label: "bills", noun: "bill", source: "procurify", destination: "syspro", sourceName: "Procurify")
    public static let entityLabels = [vendors.label, orders.label, bills.label]
    public nonisolated var entities: [FlowEntity] { [Self.vendors, Self.orders, Self.bills] }

    let settings: ProcurifySysproSettings
    let procurify: ProcurifyClient
    let syspro: SysproClient
    let clock: any SyncClock
    var ledgerValid: [String: Bool] = [:]
    var currencyValid: [String: Bool] = [:]

    public init(settings: ProcurifySysproSettings, procurify: ProcurifyClient, syspro: SysproClient, clock: any SyncClock) {
        self.settings = settings
        self.procurify = procurify
        self.syspro = syspro
        self.clock = clock
    }

    public func open() async throws {
        ledgerValid = [:]
        currencyValid = [:]
        try await procurify.refreshToken()  // a fresh 24 h token every cycle
        try await syspro.logon()
    }

    public func close() async { await syspro.logoff() }

    // MARK: reading Procurify

    public func read(_ entity: FlowEntity, since watermark: String?, cursor: String?) async throws -> SourcePage {
        switch entity {
        case Self.vendors:
            let page = try await procurify.page(cursor ?? "/api/v3/vendors/", query: cursor == nil ? [("page_size", String(settings.pageSize))] : [])
            return SourcePage(records: page.items.map { SourceRecord(id: $0["id"]?.scalarText ?? SourceRecord.unreadableID(entity: entity.name, row: $0), payload: $0, watermark: nil) },
                              next: page.next)
        case Self.orders:
            var query: [(String, String)] = [("order_by", "last_modified"), ("page_size", String(settings.pageSize))]
            if let day = watermark.flatMap({ CalendarDay.date(String($0.prefix(10))) }) {
                query.append(("modified_date_0", CalendarDay.string(day.addingTimeInterval(-Double(settings.overlapDays) * 86_400))))
            }
            let page = try await procurify.page(cursor ?? "/api/v2/purchase_orders/purchased/all/", query: cursor == nil ? query : [])
            var records: [SourceRecord] = []
            for summary in page.items {
                guard let number = summary["procurify_PO"]?.scalarText else {
                    records.append(SourceRecord(id: SourceRecord.unreadableID(entity: entity.name, row: summary), payload: summary, watermark: nil))
                    continue
                }
                // the list carries no lines: the detail has them
                let detail = try await procurify.get("/api/v2/purchase_orders/\(number)/")["data"] ?? summary
                records.append(SourceRecord(id: number, payload: detail, watermark: summary["last_modified"]?.stringValue))
            }
            return SourcePage(records: records, next: page.next)
        default:
            var query: [(String, String)] = [("order_by", "last_modified_datetime"), ("page_size", String(settings.pageSize))]
            if let watermark { query.append(("last_modified_datetime_0", watermark)) }
            let page = try await procurify.page(cursor ?? "/api/v3/ap/bills/", query: cursor == nil ? query : [])
            var records: [SourceRecord] = []
            for summary in page.items {
                guard let status = summary["status"]?.doubleValue, settings.payableBillStatuses.contains(Int(status)) else { continue }  // not payable yet
                guard let uuid = summary["uuid"]?.stringValue else {
                    records.append(SourceRecord(id: SourceRecord.unreadableID(entity: entity.name, row: summary), payload: summary, watermark: nil))
                    continue
                }
                let detail = try await procurify.get("/api/v2/ap/bills/\(uuid)/")["data"] ?? summary
                records.append(SourceRecord(id: uuid, payload: detail, watermark: summary["last_modified_datetime"]?.stringValue))
            }
            return SourcePage(records: records, next: page.next)
        }
    }

    public func reread(_ entity: FlowEntity, sourceID: String, payload: JSONValue?) async throws -> Reread {
        let path: String
        switch entity {
        case Self.vendors: path = "/api/v3/vendors/\(sourceID)/"
        case Self.orders: path = "/api/v2/purchase_orders/\(sourceID)/"
        default: path = "/api/v2/ap/bills/\(sourceID)/"
        }
        do {
            guard let data = try await procurify.get(path)["data"] else { return .notFound("Procurify answered \(path) without data") }
            return .found(SourceRecord(id: sourceID, payload: data, watermark: nil))
        } catch let error as SyncError where error.code == .rejected && error.message.contains("404") {
            return .gone
        }
    }

    // MARK: planning

    /// A SYSPRO supplier code from a Procurify vendor: the override, else its `external_id`, else
    /// its name — upper-cased, letters and digits only, at most 15 characters (`ApSupplier.Supplier`).
    static func supplierCode(_ vendor: JSONValue, overrides: [String: String]) -> String? {
        if let id = vendor["id"]?.scalarText, let code = overrides[id] { return code }
        let source = vendor["external_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? vendor["name"]?.stringValue ?? ""
        let code = String(source.uppercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(15))
        return code.isEmpty ? nil : code
    }

    static func text(_ value: String) -> String { SafeXML.escape(value) }

    /// The AP invoice's `TransactionReference` (kept in `ApInvoice.Reference`): `PRC-BILL-` and
    /// the bill's numeric Procurify id, which fits where its 32-character uuid would not (a uuid
    /// cut short is no longer unique).
    public static func billReference(_ bill: JSONValue, uuid: String) -> String {
        "PRC-BILL-" + (bill["id"]?.scalarText ?? String(uuid.prefix(20)))
    }

    static func day(_ value: JSONValue?) -> String? {
        guard let text = value?.stringValue, text.count >= 10, CalendarDay.date(String(text.prefix(10))) != nil else { return nil }
        return String(text.prefix(10))
    }

    func ledger(accountCode: String, department: String?) throws -> String {
        if let row = settings.ledgerCodes.first(where: { $0.accountCode == accountCode && $0.department != nil && $0.department == department })
            ?? settings.ledgerCodes.first(where: { $0.accountCode == accountCode && $0.department == nil })
        {
            return row.ledgerCode
        }
        throw SyncError(.missingCostCode, "Procurify account code \(accountCode)\(department.map { " (department \($0))" } ?? "") has no SYSPRO GL code in the ledgerCodes mapping; add a row {accountCode: \"\(accountCode)\", ledgerCode: …} and replay")
    }

    func checkLedger(_ code: String) async throws {
        if let known = ledgerValid[code] {
            if !known { throw SyncError(.missingCostCode, "GL code \(code) is not in SYSPRO's GenMaster; create it in SYSPRO or fix the ledgerCodes mapping, then replay") }
            return
        }
        let found = try await !syspro.find(table: "GenMaster", columns: ["GlCode"], whereEqual: [("GlCode", code)], maxRows: 1).isEmpty
        ledgerValid[code] = found
        if !found { throw SyncError(.missingCostCode, "GL code \(code) is not in SYSPRO's GenMaster; create it in SYSPRO or fix the ledgerCodes mapping, then replay") }
    }

    /// The SYSPRO currency of a Procurify currency name: mapped, and known to SYSPRO
    /// (`TblCurrency`, read once per cycle per code).
    func currency(_ name: String?) async throws -> String {
        let name = name ?? "USD"
        guard let code = settings.currencies[name] else {
            throw SyncError(.invalidRecord, "currency \(name) has no SYSPRO currency in the currencies mapping (SYSPRO knows its own codes, e.g. \"$\"); add it and replay")
        }
        if currencyValid[code] == nil {
            currencyValid[code] = try await !syspro.find(table: "TblCurrency", columns: ["Currency"], whereEqual: [("Currency", code)], maxRows: 1).isEmpty
        }
        guard currencyValid[code] == true else {
            throw SyncError(.invalidRecord, "currency \(code) (Procurify \(name)) is not in SYSPRO's TblCurrency; add it in SYSPRO's currency set-up or fix the currencies mapping, then replay")
        }
        return code
    }

    /// The SYSPRO supplier of a Procurify vendor: the override, or the one the vendors entity
    /// wrote (its cross-reference) — an unknown vendor waits for the vendor to go through.
    func supplier(of vendor: JSONValue?, run: RunContext) async throws -> String {
        guard let vendor, let id = vendor["id"]?.scalarText else { throw SyncError(.invalidRecord, "the record names no vendor") }
        if let code = settings.supplierOverrides[id] { return code }
        if let code = try await run.destinationID(entity: Self.vendors.name, sourceID: id) { return code }
        throw SyncError(.unknownSupplier, "Procurify vendor \(id) (\(vendor["name"]?.stringValue ?? "?")) has no SYSPRO supplier yet; it goes through once the vendor is synced (or add a supplierOverrides row)")
    }

    public func plan(_ entity: FlowEntity, _ record: SourceRecord, run: RunContext) async throws -> Planned<Plan> {
        let value = record.payload
        switch entity {
        case Self.vendors:
            guard let code = Self.supplierCode(value, overrides: settings.supplierOverrides), let name = value["name"]?.stringValue, !name.isEmpty else {
                throw SyncError(.invalidRecord, "vendor \(record.id) has no name to make a supplier code from")
            }
            let currency = try await self.currency(nil)
            return Planned(key: code, plan: .supplier(code: code, name: String(name.prefix(50)), currency: currency, vendorID: record.id,
                                                      externalID: value["external_id"]?.stringValue))
        case Self.orders:
            guard let number = value["procurify_PO"]?.scalarText else { throw SyncError(.invalidRecord, "PO \(record.id) has no procurify_PO") }
            if value["state"]?.doubleValue == 1 {  // cancelled in Procurify (state 1, procurify.md §4.1)
                return Planned(key: "PRC-PO-\(number)", plan: .cancel(number: number))
            }
            let supplier = try await self.supplier(of: value["pref_vendor"], run: run)
            _ = try await currency(value["purchased_currency"]?["name"]?.stringValue)
            let department = value["purchaser"]?["department"]?["name"]?.stringValue
            var lines: [String] = []
            for item in value["order_items"]?.arrayValue ?? [] {
                let account = item["accountCode"]?.stringValue ?? item["account"]?["account_code"]?["code"]?.stringValue ?? ""
                let ledger = try self.ledger(accountCode: account, department: item["account"]?["department"]?["name"]?.stringValue ?? department)
                try await checkLedger(ledger)
                guard let quantity = Double(item["quantity"]?.scalarText ?? ""), quantity > 0,
                    let price = Double(item["price"]?.scalarText ?? ""), price >= 0
                else { throw SyncError(.invalidRecord, "PO \(number) line \(item["PO_line_num"]?.scalarText ?? "?") has no readable quantity or price") }
                let code = (item["sku"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? "PRC-\(item["id"]?.scalarText ?? "")"
                lines.append("<StockCode>\(Self.text(String(code.prefix(30))))</StockCode><StockDescription>\(Self.text(String((item["name"]?.stringValue ?? "").prefix(50))))</StockDescription>"
                    + (settings.warehouse.isEmpty ? "" : "<Warehouse>\(Self.text(settings.warehouse))</Warehouse>")
                    + "<OrderQty>\(quantity)</OrderQty><OrderUom>\(Self.text(item["unit"]?.stringValue ?? "EA"))</OrderUom><PriceMethod>M</PriceMethod>"
                    + "<Price>\(String(format: "%.5f", price))</Price><LedgerCode>\(Self.text(ledger))</LedgerCode><ProductClass>\(Self.text(settings.productClass))</ProductClass>")
            }
            guard !lines.isEmpty else { throw SyncError(.invalidRecord, "PO \(number) has no lines") }
            let header = "<Supplier>\(Self.text(supplier))</Supplier><OrderType>L</OrderType><CustomerPoNumber>PRC-PO-\(number)</CustomerPoNumber>"
                + (Self.day(value["date"]).map { "<OrderDate>\($0)</OrderDate>" } ?? "")
                + (Self.day(value["promise_date"]).map { "<DueDate>\($0)</DueDate>" } ?? "")
            return Planned(key: "PRC-PO-\(number)", plan: .order(number: number, supplier: supplier, xmlHeader: header, lines: lines))
        default:
            guard let invoice = value["invoice_number"]?.stringValue, !invoice.isEmpty else { throw SyncError(.invalidRecord, "bill \(record.id) has no invoice number") }
            let supplier = try await self.supplier(of: value["vendor"], run: run)
            var distribution = ""
            var net = 0.0
            var purchaseOrder = ""
            for item in value["items"]?.arrayValue ?? [] {
                if let po = item["po"]?["id"]?.scalarText ?? item["po"]?["number"]?.scalarText, purchaseOrder.isEmpty {
                    guard let sysproPO = try await run.destinationID(entity: Self.orders.name, sourceID: po) else {
                        throw SyncError(.waitingForDependency, "bill \(invoice) waits for Procurify PO \(po), which has not reached SYSPRO yet; it goes through once the PO lands")
                    }
                    guard !sysproPO.isEmpty else {
                        throw SyncError(.invalidRecord, "bill \(invoice) is on Procurify PO \(po), which was cancelled before it reached SYSPRO; take the PO off the bill in Procurify (or enter the invoice in SYSPRO by hand), then replay")
                    }
                    purchaseOrder = sysproPO
                }
                let allocation = item["cost_allocations"]?.arrayValue?.first
                let account = allocation?["account_code"]?.stringValue ?? ""
                let ledger = try self.ledger(accountCode: account, department: allocation?["department"]?.stringValue)
                try await checkLedger(ledger)
                guard let amount = Double(item["total_cost"]?.scalarText ?? "") else { throw SyncError(.invalidRecord, "bill \(invoice) has an item without a readable total_cost") }
                net += amount
                distribution += "<LedgerDistribution><LedgerCode>\(Self.text(ledger))</LedgerCode><LedgerValue>\(String(format: "%.2f", amount))</LedgerValue></LedgerDistribution>"
            }
            let tax = Double(value["tax_amount"]?.scalarText ?? "0") ?? 0
            let xml = "<Item><Supplier>\(Self.text(supplier))</Supplier><TransactionCode>I</TransactionCode><Invoice>\(Self.text(String(invoice.prefix(20))))</Invoice>"
                + "<TransactionValue>\(String(format: "%.2f", net + tax))</TransactionValue><TaxValue>\(String(format: "%.2f", tax))</TaxValue>"
                + "<TransactionReference>\(Self.text(Self.billReference(value, uuid: record.id)))</TransactionReference>"
                + (purchaseOrder.isEmpty ? "" : "<PurchaseOrder>\(Self.text(purchaseOrder))</PurchaseOrder>")
                + (Self.day(value["invoice_date"]).map { "<InvoiceDate>\($0)</InvoiceDate>" } ?? "")
                + (Self.day(value["due_date"]).map { "<DueDate>\($0)</DueDate>" } ?? "")
                + distribution + "</Item>"
            return Planned(key: SourceRecord.compositeID([supplier, invoice]), plan: .bill(supplier: supplier, invoice: invoice, xml: xml))
        }
    }

    // MARK: writing SYSPRO

    /// A refusal in SYSPRO's own words, with the fix.
    static func refused(_ what: String, _ result: SysproClient.PostResult) -> SyncError {
        SyncError(.rejected, "SYSPRO refused \(what): \(result.errors.joined(separator: "; ")). Fix it in Procurify or in SYSPRO's set-up, then replay")
    }

    public func write(_ entity: FlowEntity, _ planned: Planned<Plan>, run: RunContext) async throws -> Written {
        switch planned.plan {
        case .supplier(let code, let name, let currency, let vendorID, let externalID):
            let found = try await syspro.find(table: "ApSupplier", columns: ["Supplier", "SupplierName"], whereEqual: [("Supplier", code)], maxRows: 1)
            let transformed: JSONValue = ["supplier": .string(code), "name": .string(name)]
            if !found.isEmpty {  // made on both sides, or by an earlier attempt: one supplier
                try await linkBack(vendorID: vendorID, externalID: externalID, code: code)
                return Written(outcome: .skippedDuplicate, destinationID: code, transformed: transformed, response: "supplier \(code) exists in SYSPRO")
            }
            let xml = "<SetupApSupplier><Item><Key><Supplier>\(Self.text(code))</Supplier></Key><SupplierName>\(Self.text(name))</SupplierName>"
                + "<Currency>\(Self.text(currency))</Currency></Item></SetupApSupplier>"
            let result = try await syspro.post("Setup/Add", object: "APSSSP", parameters: "<SetupApSupplier><Parameters><ApplyIfEntireDocumentValid>Y</ApplyIfEntireDocumentValid></Parameters></SetupApSupplier>", xmlIn: xml)
            guard result.errors.isEmpty else { throw Self.refused("supplier \(code)", result) }
            try await linkBack(vendorID: vendorID, externalID: externalID, code: code)
            return Written(outcome: .created, destinationID: code, transformed: transformed, response: "APSSSP added supplier \(code)")
        case .order(let number, let supplier, let header, let lines):
            let parameters = "<PostPurchaseOrders><Parameters><IgnoreWarnings>N</IgnoreWarnings><AllowNonStockItems>Y</AllowNonStockItems>"
                + "<AllowZeroPrice>Y</AllowZeroPrice><Status>1</Status></Parameters></PostPurchaseOrders>"
            let existing = try await syspro.find(table: "PorMasterHdr", columns: ["PurchaseOrder"], whereEqual: [("CustomerPoNumber", planned.key)], maxRows: 1)
                .first?["PurchaseOrder"]
            let transformed: JSONValue = ["procurifyPO": .string(number), "supplier": .string(supplier), "lines": .number(Double(lines.count))]
            if let existing {
                // changed in Procurify after it was posted: one PORTOI change — the old lines out, the new ones in
                let old = try await syspro.find(table: "PorMasterDetail", columns: ["Line"], whereEqual: [("PurchaseOrder", existing)], maxRows: 1000)
                let deletes = old.compactMap { $0["Line"] }.map { "<StockLine><PurchaseOrderLine>\($0)</PurchaseOrderLine><LineActionType>D</LineActionType></StockLine>" }
                let adds = lines.map { "<StockLine><LineActionType>A</LineActionType>\($0)</StockLine>" }
                let headerChange = header.replacingOccurrences(of: "<Supplier>\(Self.text(supplier))</Supplier>", with: "")
                let xml = "<PostPurchaseOrders><Orders><OrderHeader><OrderActionType>C</OrderActionType><PurchaseOrder>\(existing)</PurchaseOrder>\(headerChange)</OrderHeader>"
                    + "<OrderDetails>\((deletes + adds).joined())</OrderDetails></Orders></PostPurchaseOrders>"
                if planned.previous?.state != .done && planned.previous != nil {
                    // an earlier attempt landed (its answer was lost): it is the same PO, nothing to change
                    return Written(outcome: .skippedDuplicate, destinationID: existing, transformed: transformed, response: "PO \(existing) already carries \(planned.key)")
                }
                let result = try await syspro.post("Transaction/Post", object: "PORTOI", parameters: parameters, xmlIn: xml)
                guard result.errors.isEmpty else { throw Self.refused("the change of PO \(existing) (Procurify PO \(number))", result) }
                return Written(outcome: .updated, destinationID: existing, transformed: transformed, response: "PORTOI changed PO \(existing)")
            }
            let xml = "<PostPurchaseOrders><Orders><OrderHeader><OrderActionType>A</OrderActionType>\(header)</OrderHeader><OrderDetails>"
                + lines.map { "<StockLine><LineActionType>A</LineActionType>\($0)</StockLine>" }.joined() + "</OrderDetails></Orders></PostPurchaseOrders>"
            let result = try await syspro.post("Transaction/Post", object: "PORTOI", parameters: parameters, xmlIn: xml)
            guard result.errors.isEmpty, let po = result.document.child("Order")?.child("Key")?.value("PurchaseOrder") else {
                throw Self.refused("Procurify PO \(number)", result)
            }
            return Written(outcome: .created, destinationID: po, transformed: transformed, response: "PORTOI added PO \(po)")
        case .cancel(let number):
            let transformed: JSONValue = ["procurifyPO": .string(number), "cancelled": true]
            let found = try await syspro.find(table: "PorMasterHdr", columns: ["PurchaseOrder", "OrderStatus"], whereEqual: [("CustomerPoNumber", planned.key)], maxRows: 1).first
            guard let found, let po = found["PurchaseOrder"] else {
                return Written(outcome: .skippedDuplicate, destinationID: "", transformed: transformed, response: "cancelled in Procurify before it reached SYSPRO: nothing to write")
            }
            if found["OrderStatus"] == "*" {
                return Written(outcome: .skippedDuplicate, destinationID: po, transformed: transformed, response: "PO \(po) is already cancelled in SYSPRO")
            }
            let xml = "<PostPurchaseOrders><Orders><OrderHeader><OrderActionType>D</OrderActionType><PurchaseOrder>\(Self.text(po))</PurchaseOrder></OrderHeader></Orders></PostPurchaseOrders>"
            let parameters = "<PostPurchaseOrders><Parameters><IgnoreWarnings>N</IgnoreWarnings></Parameters></PostPurchaseOrders>"
            let result = try await syspro.post("Transaction/Post", object: "PORTOI", parameters: parameters, xmlIn: xml)
            guard result.errors.isEmpty else { throw Self.refused("the cancellation of PO \(po) (Procurify PO \(number))", result) }
            return Written(outcome: .updated, destinationID: po, transformed: transformed, response: "PORTOI cancelled PO \(po)")
        case .bill(let supplier, let invoice, let item):
            let transformed: JSONValue = ["supplier": .string(supplier), "invoice": .string(invoice)]
            let found = try await syspro.find(table: "ApInvoice", columns: ["Invoice"], whereEqual: [("Supplier", supplier), ("Invoice", invoice)], maxRows: 1)
            if !found.isEmpty {
                return Written(outcome: .skippedDuplicate, destinationID: planned.key, transformed: transformed, response: "invoice \(invoice) of \(supplier) exists in SYSPRO")
            }
            let parameters = "<PostApInvoice><Parameters><PostingPeriod>C</PostingPeriod><IgnoreWarnings>N</IgnoreWarnings>"
                + "<ApplyIfEntireDocumentValid>Y</ApplyIfEntireDocumentValid><ValidateOnly>N</ValidateOnly></Parameters></PostApInvoice>"
            let result = try await syspro.post("Transaction/Post", object: "APSTIN", parameters: parameters, xmlIn: "<PostApInvoice>\(item)</PostApInvoice>")
            guard result.errors.isEmpty else { throw Self.refused("bill \(invoice) of \(supplier)", result) }
            return Written(outcome: .created, destinationID: planned.key, transformed: transformed, response: "APSTIN posted invoice \(invoice) for \(supplier)")
        }
    }

    /// The other way of "vendors aligned both ways": the SYSPRO supplier code goes into the
    /// Procurify vendor's `external_id` (its slot for the ERP code) when it is not there yet, so
    /// both systems name the pair. Once written it matches, and the vendor's next pass writes
    /// nothing (no ping-pong).
    func linkBack(vendorID: String, externalID: String?, code: String) async throws {
        guard externalID != code else { return }
        _ = try await procurify.write("PATCH", "/api/v3/vendors/\(vendorID)/", body: ["external_id": .string(code)])
    }

    /// Bills of one vendor go one after another (SYSPRO journals them in order); vendors and POs
    /// overlap.
    public func concurrency(_ entity: FlowEntity) -> Int { entity == Self.vendors ? 1 : 4 }
}
