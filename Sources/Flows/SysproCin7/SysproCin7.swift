import Cin7Client
import Foundation
import Logging
import SyncEngine
import SysproClient

/// Flow 004 on the flow runtime: SYSPRO ↔ Cin7 Core suppliers, SYSPRO purchase orders into Cin7
/// purchases at their order stage, SYSPRO AP invoices into the purchase's invoice stage.
public typealias SysproCin7Flow = FlowRuntime<SysproCin7>

extension FlowRuntime where Definition == SysproCin7 {
    public init(
        settings: SysproCin7Settings, syspro: SysproClient, cin7: Cin7Client, store: any SyncStateStore,
        clock: any SyncClock, logger: Logger, scope: String? = nil, holder: String = FlowRuntimeDefaults.processHolder
    ) {
        self.init(
            definition: SysproCin7(settings: settings, syspro: syspro, cin7: cin7, clock: clock), store: store, clock: clock,
            logger: logger, scope: scope, holder: holder)
    }
}

/// What flow 004 says.
///
/// **Suppliers, both ways.** SYSPRO's supplier master has no change-date column (syspro.md §9), so
/// every cycle reads `ApSupplier` in full (OData pages; SYSPRO spends no budget on it) and the
/// runtime's version check drops the unchanged rows without an audit row each. Cin7's suppliers
/// are read by `ModifiedSince`. Each side's version is a hash of the attributes it *owns*
/// (``SysproCin7Settings/supplierOwners``), so a value the sync copied into a side reads as the
/// same version there and is never sent back: no ping-pong. Suppliers are matched by the SYSPRO
/// code kept in Cin7 (``SysproCin7Settings/codeAttribute``), else by normalised name; a write
/// compares first and sends only the owned attributes that differ (often nothing).
///
/// **Purchases.** A PO becomes `POST /purchase` (the header, with `Approach` and the reference
/// `SYSPRO-PO-<number>` in an additional attribute) then `POST /purchase/order` (lines, AUTHORISED;
/// DRAFT for a suspended PO). An AP invoice becomes the purchase's invoice stage: on a stock-first
/// purchase the stock received first, then `POST /purchase/invoice` with each line's GL account,
/// checked against Cin7's chart of accounts before anything is posted. A write whose answer was
/// lost is found again (the purchase list of the supplier since the intent, then each candidate's
/// reference) before anything is posted twice.
///
/// **Budget.** Cin7 allows 60 calls a minute per application. Per record: a supplier 0–1 call
/// (one more to write a new SYSPRO code back), a PO 2, an invoice 1 (2 stock-first); the supplier,
/// product and account lists cost one call per thousand per cycle.
public actor SysproCin7: FlowDefinition {
    public enum Plan: Sendable {
        case pushSupplier(code: String, values: SupplierValues, row: JSONValue)
        case pullSupplier(cin7: JSONValue, values: SupplierValues, sysproCode: String?)
        case purchase(PurchasePlan)
        case invoice(InvoicePlan)
    }

    public static let name = "syspro-cin7"
    static let sysproSuppliers = FlowEntity(
        name: "ApSupplier", label: "suppliers", noun: "supplier", source: "syspro", destination: "cin7", sourceName: "SYSPRO")
    static let cin7Suppliers = FlowEntity(
        name: "Cin7Supplier", label: "cin7Suppliers", noun: "Cin7 supplier", source: "cin7", destination: "syspro", sourceName: "Cin7")
    static let purchaseOrders = FlowEntity(
        name: SysproReader.purchaseOrderTable, label: "purchaseOrders", noun: "PO", source: "syspro", destination: "cin7", sourceName: "SYSPRO")
    static let invoices = FlowEntity(
        name: SysproReader.invoiceTable, label: "invoices", noun: "invoice", source: "syspro", destination: "cin7", sourceName: "SYSPRO")
    /// The labels scenario `summary:` assertions may name.
    public static let entityLabels = [sysproSuppliers.label, cin7Suppliers.label, purchaseOrders.label, invoices.label]

    /// A supplier name as both sides are matched on (``SupplierMatch/normalisedName(_:)``).
    public static func normalisedName(_ name: String) -> String { SupplierMatch.normalisedName(name) }
    /// The source id of a SYSPRO AP invoice (what `quarantine`, `audit` and `replay` name).
    public static func invoiceID(supplier: String, invoice: String) -> String { SysproReader.invoiceID(supplier: supplier, invoice: invoice) }

    /// Suppliers first (both ways), then POs, then invoices: what waits for something comes after it.
    public nonisolated var entities: [FlowEntity] { [Self.sysproSuppliers, Self.cin7Suppliers, Self.purchaseOrders, Self.invoices] }

    let settings: SysproCin7Settings
    let syspro: SysproClient
    let cin7: Cin7Client
    let clock: any SyncClock
    let reader: SysproReader

    // Per-cycle caches, read once when first needed (one Cin7 call per thousand records).
    var cin7SupplierList: [JSONValue]?
    var sysproSupplierRows: [String: JSONValue]?
    var productsBySKU: [String: JSONValue]?
    var accountsByCode: [String: JSONValue]?

    public init(settings: SysproCin7Settings, syspro: SysproClient, cin7: Cin7Client, clock: any SyncClock) {
        self.settings = settings
        self.syspro = syspro
        self.cin7 = cin7
        self.clock = clock
        self.reader = SysproReader(
            syspro: syspro, shape: settings.shape, overlapDays: settings.overlapDays, pageSize: settings.pageSize,
            lineBatchSize: settings.lineBatchSize, clock: clock)
    }

    /// A SYSPRO logon each cycle; Cin7 needs none (two headers on every call).
    public func open() async throws {
        cin7SupplierList = nil
        sysproSupplierRows = nil
        productsBySKU = nil
        accountsByCode = nil
        try await syspro.logon()
    }

    public func close() async { await syspro.logoff() }

    /// Suppliers are read in full or re-read in an overlap every cycle: unchanged ones are counted, not audited.
    public func auditsUnchanged(_ entity: FlowEntity) -> Bool {
        entity != Self.sysproSuppliers && entity != Self.cin7Suppliers
    }

    // MARK: reading

    public func read(_ entity: FlowEntity, since watermark: String?, cursor: String?) async throws -> SourcePage {
        switch entity {
        case Self.sysproSuppliers:
            let skip = cursor.flatMap(Int.init) ?? 0
            let page = try await syspro.odata(entity.name, orderBy: "Supplier", top: settings.pageSize, skip: skip)
            let more = !page.rows.isEmpty && (page.rows.count >= settings.pageSize || page.nextLink != nil)
            return SourcePage(records: page.rows.map(sysproSupplierRecord), next: more ? String(skip + page.rows.count) : nil)
        case Self.cin7Suppliers:
            let since = watermark.flatMap { try? Date($0, strategy: .iso8601) }?.addingTimeInterval(-Double(settings.cin7OverlapMinutes) * 60)
            let page = cursor.flatMap(Int.init) ?? 1
            let list = try await cin7.suppliers(page: page, limit: 1000, modifiedSince: since, includeDeprecated: true)
            let more = list.suppliers.count == 1000 && page * 1000 < list.total
            return SourcePage(records: list.suppliers.map(cin7SupplierRecord), next: more ? String(page + 1) : nil)
        default:
            return try await reader.read(entity, since: watermark, cursor: cursor)
        }
    }

    func sysproSupplierRecord(_ row: JSONValue) -> SourceRecord {
        let code = SupplierMatch.normalisedCode(SupplierMatch.text(row, "Supplier"))
        guard !code.isEmpty else { return SourceRecord(id: SourceRecord.unreadableID(entity: Self.sysproSuppliers.name, row: row), payload: row, watermark: nil) }
        // the version: what SYSPRO owns, as SYSPRO holds it (raw columns: a mapping change is no edit)
        let owned = settings.owned(by: .syspro)
        var basis: [String: JSONValue] = ["code": .string(code)]
        for attribute in owned {
            let column = ["name": "SupplierName", "currency": "Currency", "terms": "TermsCode", "email": "Email", "phone": "Telephone", "taxNumber": "TaxRegnNum"][attribute.rawValue]!
            basis[attribute.rawValue] = .string(SupplierMatch.text(row, column))
        }
        return SourceRecord(id: code, payload: row, watermark: nil, versionBasis: .object(basis))
    }

    func cin7SupplierRecord(_ supplier: JSONValue) -> SourceRecord {
        guard let id = supplier["ID"]?.stringValue?.lowercased() else {
            return SourceRecord(id: SourceRecord.unreadableID(entity: Self.cin7Suppliers.name, row: supplier), payload: supplier, watermark: nil)
        }
        var basis = SupplierMatch.cin7Values(supplier).json(settings.owned(by: .cin7)).objectValue ?? [:]
        basis["code"] = supplier[settings.codeAttribute] ?? .null
        basis["status"] = supplier["Status"] ?? .null
        let stamp = supplier["LastModifiedOn"]?.stringValue.flatMap { try? Date($0, strategy: .iso8601) }
        let mark = stamp.flatMap { $0 <= clock.now().addingTimeInterval(86400) ? $0.formatted(.iso8601) : nil }
        return SourceRecord(id: id, payload: supplier, watermark: mark, versionBasis: .object(basis))
    }

    public func reread(_ entity: FlowEntity, sourceID: String, payload: JSONValue?) async throws -> Reread {
        switch entity {
        case Self.sysproSuppliers:
            let filter = "Supplier eq \(SysproReader.quoted(sourceID))"
            guard let row = try await syspro.odata(entity.name, filter: filter).rows.first else { return .notFound("ApSupplier?$filter=\(filter)") }
            return .found(sysproSupplierRecord(row))
        case Self.cin7Suppliers:
            let list = try Cin7Client.list(try await cin7.get("supplier", query: [("ID", sourceID), ("IncludeDeprecated", "true")]), "SupplierList")
            guard let supplier = list.first else { return .gone }  // Cin7 answered for that ID: there is none
            return .found(cin7SupplierRecord(supplier))
        default:
            return try await reader.reread(entity, sourceID: sourceID, payload: payload)
        }
    }

    /// Open POs are swept every ``SysproCin7Settings/reconcileHours`` (a receipt moves no date
    /// column); the other entities are not.
    public func sweepInterval(_ entity: FlowEntity) -> TimeInterval? {
        entity == Self.purchaseOrders && settings.reconcileHours > 0 ? settings.reconcileHours * 3600 : nil
    }

    public func sweep(_ entity: FlowEntity, cursor: String?) async throws -> SourcePage {
        guard entity == Self.purchaseOrders else { return SourcePage(records: [], next: nil) }
        return try await reader.sweepOpenOrders(entity, cursor: cursor)
    }

    // MARK: caches

    func cin7Suppliers() async throws -> [JSONValue] {
        if let cin7SupplierList { return cin7SupplierList }
        let list = try await cin7.all("supplier", key: "SupplierList", query: [("IncludeDeprecated", "true")])
        cin7SupplierList = list
        return list
    }

    func remember(cin7 supplier: JSONValue) {
        guard var list = cin7SupplierList else { return }
        if let index = list.firstIndex(where: { $0["ID"]?.stringValue?.lowercased() == supplier["ID"]?.stringValue?.lowercased() }) {
            list[index] = supplier
        } else {
            list.append(supplier)
        }
        cin7SupplierList = list
    }

    func sysproSuppliers() async throws -> [String: JSONValue] {
        if let sysproSupplierRows { return sysproSupplierRows }
        var rows: [String: JSONValue] = [:]
        var skip = 0
        while true {
            let page = try await syspro.odata(Self.sysproSuppliers.name, orderBy: "Supplier", top: 5000, skip: skip)
            for row in page.rows { rows[SupplierMatch.normalisedCode(SupplierMatch.text(row, "Supplier"))] = row }
            skip += page.rows.count
            if page.rows.count < 5000 && page.nextLink == nil { break }
            if page.rows.isEmpty { break }
        }
        sysproSupplierRows = rows
        return rows
    }

    func products() async throws -> [String: JSONValue] {
        if let productsBySKU { return productsBySKU }
        var bySKU: [String: JSONValue] = [:]
        for product in try await cin7.all("product", key: "Products") {
            if let sku = product["SKU"]?.stringValue { bySKU[sku.uppercased()] = product }
        }
        productsBySKU = bySKU
        return bySKU
    }

    func accounts() async throws -> [String: JSONValue] {
        if let accountsByCode { return accountsByCode }
        var byCode: [String: JSONValue] = [:]
        for account in try await cin7.all("ref/account", key: "AccountsList") {
            if let code = account["Code"]?.stringValue { byCode[code] = account }
        }
        accountsByCode = byCode
        return byCode
    }

    /// The Cin7 supplier that is this SYSPRO supplier: the one carrying its code, else the only
    /// one of the same normalised name that carries no other code.
    func cin7Supplier(forCode code: String, name: String) async throws -> JSONValue? {
        let list = try await cin7Suppliers()
        if let byCode = list.first(where: { SupplierMatch.normalisedCode($0[settings.codeAttribute]?.stringValue ?? "") == code }) { return byCode }
        let wanted = SupplierMatch.normalisedName(name)
        let byName = list.filter {
            SupplierMatch.normalisedName($0["Name"]?.stringValue ?? "") == wanted && ($0[settings.codeAttribute]?.stringValue ?? "").isEmpty
        }
        return byName.count == 1 ? byName.first : byName.first { $0["Status"]?.stringValue != "Deprecated" }
    }

    // MARK: planning

    public func plan(_ entity: FlowEntity, _ record: SourceRecord, run: RunContext) async throws -> Planned<Plan> {
        switch entity {
        case Self.sysproSuppliers:
            let strict = Set(settings.owned(by: .syspro))
            let values = try SupplierMatch.sysproValues(record.payload, settings: settings, strict: strict)
            guard !values[.name].isEmpty else {
                throw SyncError(.invalidRecord, "SYSPRO supplier \(record.id) has no SupplierName; Cin7 needs a name — enter it in SYSPRO")
            }
            return Planned(key: "\(settings.originPrefix)-SUP-\(record.id)", plan: .pushSupplier(code: record.id, values: values, row: record.payload))
        case Self.cin7Suppliers:
            let values = SupplierMatch.cin7Values(record.payload)
            let code = record.payload[settings.codeAttribute]?.stringValue.map(SupplierMatch.normalisedCode).flatMap { $0.isEmpty ? nil : $0 }
            return Planned(key: "CIN7-SUP-\(record.id)", plan: .pullSupplier(cin7: record.payload, values: values, sysproCode: code))
        case Self.purchaseOrders:
            return try await planPurchase(record, run: run)
        default:
            return try await planInvoice(record, run: run)
        }
    }

    // MARK: writing

    public func write(_ entity: FlowEntity, _ planned: Planned<Plan>, run: RunContext) async throws -> Written {
        switch planned.plan {
        case .pushSupplier(let code, let values, _): try await pushSupplier(code: code, values: values)
        case .pullSupplier(let supplier, let values, let code): try await pullSupplier(supplier, values: values, code: code)
        case .purchase(let plan): try await writePurchase(plan, key: planned.key, previous: planned.previous, run: run)
        case .invoice(let plan): try await writeInvoice(plan, key: planned.key, previous: planned.previous, run: run)
        }
    }

    /// SYSPRO → Cin7: the attributes SYSPRO owns onto the matching Cin7 supplier (only those that
    /// differ, and the code when it is missing), or a new Cin7 supplier with everything SYSPRO has.
    func pushSupplier(code: String, values: SupplierValues) async throws -> Written {
        let owned = settings.owned(by: .syspro)
        let transformed = values.json(SupplierAttribute.allCases)
        if let match = try await cin7Supplier(forCode: code, name: values[.name]), let id = match["ID"]?.stringValue {
            let changes = SupplierMatch.differences(values, SupplierMatch.cin7Values(match), owned: owned)
            let linked = SupplierMatch.normalisedCode(match[settings.codeAttribute]?.stringValue ?? "") == code
            guard let body = SupplierMatch.cin7Update(match, changes: changes, extra: linked ? [:] : [settings.codeAttribute: .string(code)]) else {
                return Written(outcome: .skippedDuplicate, destinationID: id, transformed: transformed, response: "Cin7 supplier \(id) already has what SYSPRO owns")
            }
            let saved = try Cin7Client.list(try await cin7.call("PUT", "supplier", body: body), "SupplierList").first ?? match
            remember(cin7: saved)
            let what = (changes.keys.sorted().map(\.rawValue) + (linked ? [] : ["code"])).joined(separator: ", ")
            return Written(outcome: .updated, destinationID: id, transformed: body, response: "PUT /supplier \(id): \(what)")
        }
        var body: [String: JSONValue] = [
            "Name": .string(values[.name]), "Currency": .string(values[.currency].isEmpty ? "USD" : values[.currency]),
            "PaymentTerm": .string(values[.terms].isEmpty ? settings.newSupplierPaymentTerm : values[.terms]),
            "AccountPayable": .string(settings.newSupplierAccountPayable), "TaxRule": .string(settings.newSupplierTaxRule), "Status": "Active",
            settings.codeAttribute: .string(code),
        ]
        if !values[.taxNumber].isEmpty { body["TaxNumber"] = .string(values[.taxNumber]) }
        if !values[.email].isEmpty || !values[.phone].isEmpty {
            body["Contacts"] = [["Name": "Accounts", "Email": .string(values[.email]), "Phone": .string(values[.phone]), "Default": true]]
        }
        guard let saved = try Cin7Client.list(try await cin7.call("POST", "supplier", body: .object(body)), "SupplierList").first,
            let id = saved["ID"]?.stringValue
        else { throw SyncError(.unexpectedResponse, "Cin7 answered POST /supplier for \(code) without the new supplier's ID") }
        remember(cin7: saved)
        return Written(outcome: .created, destinationID: id, transformed: .object(body), response: "POST /supplier: \(id)")
    }

    /// Cin7 → SYSPRO: the attributes Cin7 owns onto the matching SYSPRO supplier (APSSSP
    /// `Setup/Update`, only what differs), or a new SYSPRO supplier (`Setup/Add`) whose code is
    /// then written back into Cin7.
    func pullSupplier(_ supplier: JSONValue, values: SupplierValues, code: String?) async throws -> Written {
        let id = supplier["ID"]?.stringValue?.lowercased() ?? "?"
        let rows = try await sysproSuppliers()
        let row: JSONValue? = code.flatMap { rows[$0] } ?? {
            let wanted = SupplierMatch.normalisedName(values[.name])
            let named = rows.values.filter { SupplierMatch.normalisedName(SupplierMatch.text($0, "SupplierName")) == wanted }
            return named.count == 1 ? named.first : nil
        }()
        let transformed = values.json(SupplierAttribute.allCases)
        if let row {
            let sysproCode = SupplierMatch.normalisedCode(SupplierMatch.text(row, "Supplier"))
            let current = try SupplierMatch.sysproValues(row, settings: settings, strict: [])
            let changes = SupplierMatch.differences(values, current, owned: settings.owned(by: .cin7))
            if !changes.isEmpty {
                let columns = try changes.sorted { $0.key < $1.key }.map { try SupplierMatch.sysproColumn($0.key, $0.value, settings: settings, supplier: id) }
                try await setupSupplier("Setup/Update", code: sysproCode, columns: columns)
                var updated = row.objectValue ?? [:]
                for (column, value) in columns { updated[column] = .string(value) }
                sysproSupplierRows?[sysproCode] = .object(updated)
            }
            if code != sysproCode { try await linkBack(supplier, code: sysproCode) }
            let outcome: Outcome = changes.isEmpty ? .skippedDuplicate : .updated
            let response = changes.isEmpty ? "SYSPRO supplier \(sysproCode) already has what Cin7 owns" : "APSSSP updated \(sysproCode): \(changes.keys.sorted().map(\.rawValue).joined(separator: ", "))"
            return Written(outcome: outcome, destinationID: sysproCode, transformed: transformed, response: response)
        }
        if supplier["Status"]?.stringValue == "Deprecated" {
            return Written(outcome: .skippedDuplicate, destinationID: "", transformed: transformed, response: "deprecated in Cin7 and not in SYSPRO: nothing to add")
        }
        guard settings.createSysproSuppliers else {
            throw SyncError(.unknownSupplier, "Cin7 supplier \(values[.name]) (\(id)) matches no SYSPRO supplier by code or name, and settings.createSysproSuppliers is off: add it in SYSPRO or put its SYSPRO code in \(settings.codeAttribute) in Cin7")
        }
        guard let newCode = SupplierMatch.newCode(for: values[.name], taken: { rows[$0] != nil }) else {
            throw SyncError(.invalidRecord, "Cin7 supplier \(id) has no name to make a SYSPRO supplier code from; give it a name in Cin7")
        }
        var columns = try SupplierAttribute.allCases.compactMap { attribute -> (String, String)? in
            let value = values[attribute]
            guard !value.isEmpty else { return nil }
            return try SupplierMatch.sysproColumn(attribute, value, settings: settings, supplier: id)
        }
        columns.append(("SupShortName", String(newCode.prefix(10))))
        try await setupSupplier("Setup/Add", code: newCode, columns: columns)
        var added: [String: JSONValue] = ["Supplier": .string(newCode)]
        for (column, value) in columns { added[column] = .string(value) }
        sysproSupplierRows?[newCode] = .object(added)
        try await linkBack(supplier, code: newCode)
        return Written(outcome: .created, destinationID: newCode, transformed: transformed, response: "APSSSP added supplier \(newCode)")
    }

    /// APSSSP with one item: the code and the columns, all of the document applied or none.
    func setupSupplier(_ operation: String, code: String, columns: [(String, String)]) async throws {
        let fields = columns.map { "<\($0.0)>\(SafeXML.escape($0.1))</\($0.0)>" }.joined()
        let xml = "<SetupApSupplier><Item><Key><Supplier>\(SafeXML.escape(code))</Supplier></Key>\(fields)</Item></SetupApSupplier>"
        let parameters = "<SetupApSupplier><Parameters><ApplyIfEntireDocumentValid>Y</ApplyIfEntireDocumentValid></Parameters></SetupApSupplier>"
        let result = try await syspro.post(operation, object: "APSSSP", parameters: parameters, xmlIn: xml)
        guard result.errors.isEmpty else {
            throw SyncError(.rejected, "SYSPRO refused supplier \(code) (APSSSP \(operation)): \(result.errors.joined(separator: "; ")). Fix it in Cin7 or in SYSPRO's set-up, then replay")
        }
    }

    /// Writes the SYSPRO code into the Cin7 supplier, so that both sides know the pair by code.
    func linkBack(_ supplier: JSONValue, code: String) async throws {
        guard let body = SupplierMatch.cin7Update(supplier, changes: [:], extra: [settings.codeAttribute: .string(code)]) else { return }
        if let saved = try Cin7Client.list(try await cin7.call("PUT", "supplier", body: body), "SupplierList").first { remember(cin7: saved) }
    }
}

extension CycleSummary {
    /// Flow 004's counts by entity.
    public var sysproSuppliers: EntityCounts { self[SysproCin7.sysproSuppliers.label] }
    public var cin7Suppliers: EntityCounts { self[SysproCin7.cin7Suppliers.label] }
}
