import CloudSuiteClient
import Foundation
import Logging
import ProcoreClient
import SyncEngine

/// Flow 003 on the flow runtime: Procore vendors, approved purchase order contracts and approved
/// subcontractor invoices into Infor CloudSuite M3 suppliers (CRS620MI), purchase orders
/// (PPS370MI batch entry) and supplier invoices (APS450MI). `serve` wakes it when Procore's
/// webhooks announce a change; every cycle reads by `updated_at`, so an event whose delivery was
/// lost is caught by the next one.
public typealias ProcoreCloudSuiteFlow = FlowRuntime<ProcoreCloudSuite>

extension FlowRuntime where Definition == ProcoreCloudSuite {
    public init(
        settings: ProcoreCloudSuiteSettings, procore: ProcoreClient, m3: CloudSuiteClient, store: any SyncStateStore,
        clock: any SyncClock, logger: Logger, scope: String? = nil, holder: String = FlowRuntimeDefaults.processHolder
    ) {
        self.init(
            definition: ProcoreCloudSuite(settings: settings, procore: procore, m3: m3, clock: clock), store: store, clock: clock,
            logger: logger, scope: scope, holder: holder)
    }
}

/// Flow 003's per-customer settings.
public struct ProcoreCloudSuiteSettings: Codable, Sendable, Equatable {
    /// The Procore projects whose contracts and invoices go to M3 (checked against the company).
    public var projects: [Int64] = []
    /// Procore cost code (`full_code`) → M3 item number (`ITNO`) of the PO line.
    public var items: [String: String] = [:]
    /// Procore cost code (`full_code`) → the accounting string of its PO lines (PPS370MI
    /// `AddAccString`): `account` is dimension 1 (AIT1), `costCentre` dimension 2 (AIT2), the usual
    /// M3 order; `dimensions` sets any of AIT1…AIT7 by number where a tenant orders them otherwise.
    /// Empty: M3 derives the accounting of the lines itself; once set, a cost code missing from it
    /// holds its contract.
    public var accounts: [String: AccountString] = [:]
    /// How many days of CloudSuite payments the first cycle reads back (later cycles go on from
    /// the day the last one finished).
    public var paymentsFromDays = 30
    /// Procore vendor id → M3 supplier number, where the name match would be wrong.
    public var suppliers: [String: String] = [:]
    /// The first letter of a supplier number made for a vendor M3 does not know (then its id).
    public var supplierPrefix = "P"
    /// Facility and warehouse of the purchase orders; the batch origin of PPS370MI entries.
    public var facility = "A01"
    public var warehouse = "100"
    public var batchOrigin = "PRC"
    /// APS450MI line type (`RDTP`) of an invoice line matched to a PO; site configuration.
    public var invoiceLineType = "1"
    public var overlapMinutes = 60
    public var pageSize = 100

    public init(projects: [Int64] = [], items: [String: String] = [:]) {
        self.projects = projects
        self.items = items
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case projects, items, accounts, paymentsFromDays, suppliers, supplierPrefix, facility, warehouse, batchOrigin, invoiceLineType, overlapMinutes
        case pageSize
    }

    public static let keys = CodingKeys.allCases.map(\.rawValue)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ProcoreCloudSuiteSettings()
        projects = try c.decodeIfPresent([Int64].self, forKey: .projects) ?? d.projects
        items = try c.decodeIfPresent([String: String].self, forKey: .items) ?? d.items
        accounts = try c.decodeIfPresent([String: AccountString].self, forKey: .accounts) ?? d.accounts
        paymentsFromDays = try c.decodeIfPresent(Int.self, forKey: .paymentsFromDays) ?? d.paymentsFromDays
        suppliers = try c.decodeIfPresent([String: String].self, forKey: .suppliers) ?? d.suppliers
        supplierPrefix = try c.decodeIfPresent(String.self, forKey: .supplierPrefix) ?? d.supplierPrefix
        facility = try c.decodeIfPresent(String.self, forKey: .facility) ?? d.facility
        warehouse = try c.decodeIfPresent(String.self, forKey: .warehouse) ?? d.warehouse
        batchOrigin = try c.decodeIfPresent(String.self, forKey: .batchOrigin) ?? d.batchOrigin
        invoiceLineType = try c.decodeIfPresent(String.self, forKey: .invoiceLineType) ?? d.invoiceLineType
        overlapMinutes = try c.decodeIfPresent(Int.self, forKey: .overlapMinutes) ?? d.overlapMinutes
        pageSize = try c.decodeIfPresent(Int.self, forKey: .pageSize) ?? d.pageSize
        guard supplierPrefix.count <= 3, !supplierPrefix.isEmpty else { throw SyncError(.invalidConfig, "settings.supplierPrefix is 1 to 3 characters") }
        guard (1...3).contains(batchOrigin.count) else { throw SyncError(.invalidConfig, "settings.batchOrigin (PPS370MI BAOR) is 1 to 3 characters") }
        guard (1...1000).contains(pageSize) else { throw SyncError(.invalidConfig, "settings.pageSize \(pageSize) is outside 1…1000") }
        guard (0...366).contains(paymentsFromDays) else { throw SyncError(.invalidConfig, "settings.paymentsFromDays \(paymentsFromDays) is outside 0…366") }
        for (code, string) in accounts where string.fields.isEmpty {
            throw SyncError(.invalidConfig, "settings.accounts \"\(code)\" names no account, cost centre or dimension")
        }
    }
}

/// The M3 accounting string of a PO line (PPS370MI `AddAccString`, AIT1…AIT7, 8 characters each).
public struct AccountString: Codable, Sendable, Equatable {
    public var account: String?
    public var costCentre: String?
    /// Dimension number (1…7) → value, for tenants whose dimensions are ordered otherwise.
    public var dimensions: [String: String]?

    public init(account: String? = nil, costCentre: String? = nil, dimensions: [String: String]? = nil) {
        self.account = account
        self.costCentre = costCentre
        self.dimensions = dimensions
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        account = try c.decodeIfPresent(String.self, forKey: .account)
        costCentre = try c.decodeIfPresent(String.self, forKey: .costCentre)
        dimensions = try c.decodeIfPresent([String: String].self, forKey: .dimensions)
        for (key, value) in fields {
            guard value.count <= 8 else { throw SyncError(.invalidConfig, "settings.accounts: \(key) \(value) is longer than M3's 8 characters") }
        }
        for key in (dimensions ?? [:]).keys where Int(key).map({ !(1...7).contains($0) }) ?? true {
            throw SyncError(.invalidConfig, "settings.accounts: dimension \(key) is not 1…7")
        }
    }

    /// `AIT1`… fields in dimension order.
    public var fields: [(String, String)] {
        var byDimension: [Int: String] = [:]
        if let account { byDimension[1] = account }
        if let costCentre { byDimension[2] = costCentre }
        for (key, value) in dimensions ?? [:] { if let number = Int(key) { byDimension[number] = value } }
        return byDimension.sorted { $0.key < $1.key }.filter { !$0.value.isEmpty }.map { ("AIT\($0.key)", $0.value) }
    }
}

/// What flow 003 says. Vendors are matched to M3 suppliers by number (the mapping, else the one
/// this flow made) and by name, and added with `AddSupplier` only after a look-up (M3's add is
/// not idempotent). A purchase order contract becomes a PPS370MI entry (StartEntry, AddHead,
/// AddLine per line, FinishEntry) whose `YRE1` ("your reference", A10) carries the Procore
/// contract id — `PPS200MI/SearchHead YRE1:<id>` finds it before every entry, so a retry, a crash
/// between FinishEntry and the cross-reference, or a redelivered webhook never makes a second
/// PO. An approved invoice becomes an APS450MI batch on its supplier and PO after
/// `LstInvBySupInv` (payee, supplier, supplier invoice number) finds none. Payments come back the
/// other way, for reference: M3's supplier ledger (`FPLEDG`, transaction code 50, read with
/// `EXPORTMI/Select` one registration day at a time) names the supplier invoice a payment
/// settles; the invoice this flow sent (found by its key, supplier/invoice number) says which
/// Procore contract and invoice it belongs to, and the payment becomes a contract payment there
/// with `origin_id` `M3-PAY-…`. Payments of invoices that did not come from Procore are skipped.
public actor ProcoreCloudSuite: FlowDefinition {
    public enum Plan: Sendable {
        case supplier(number: String, name: String)
        case order(contract: String, head: [(String, String)], lines: [(line: [(String, String)], accounting: [(String, String)])])
        case invoice(supplier: String, invoice: String, head: [(String, String)], line: [(String, String)])
        case payment(project: String, contract: String, body: JSONValue)
        /// A payment of an invoice this integration did not send: audited, not written.
        case unrelated(String)
    }

    public static let name = "procore-cloudsuite"
    static let vendors = FlowEntity(name: "vendors", label: "vendors", noun: "vendor", source: "procore", destination: "cloudsuite", sourceName: "Procore")
    static let contracts = FlowEntity(name: "contracts", label: "contracts", noun: "contract", source: "procore", destination: "cloudsuite", sourceName: "Procore")
    static let invoices = FlowEntity(name: "invoices", label: "invoices", noun: "invoice", source: "procore", destination: "cloudsuite", sourceName: "Procore")
    static let payments = FlowEntity(name: "payments", label: "payments", noun: "payment", source: "cloudsuite", destination: "procore", sourceName: "CloudSuite")
    public static let entityLabels = [vendors.label, contracts.label, invoices.label, payments.label]
    public nonisolated var entities: [FlowEntity] { [Self.vendors, Self.contracts, Self.invoices, Self.payments] }

    let settings: ProcoreCloudSuiteSettings
    let procore: ProcoreClient
    let m3: CloudSuiteClient
    let clock: any SyncClock
    /// Per cycle: M3's suppliers by name (one list read), commitments read for their invoices,
    /// and when each entity's read began.
    var supplierNames: [String: String]?
    var commitments: [String: JSONValue] = [:]
    var readStarted: [String: String] = [:]

    public init(settings: ProcoreCloudSuiteSettings, procore: ProcoreClient, m3: CloudSuiteClient, clock: any SyncClock) {
        self.settings = settings
        self.procore = procore
        self.m3 = m3
        self.clock = clock
    }

    var reader: ProcoreProjectReader {
        ProcoreProjectReader(procore: procore, projects: settings.projects, overlapMinutes: settings.overlapMinutes, pageSize: settings.pageSize, clock: clock)
    }

    public func open() async throws {
        (supplierNames, commitments, readStarted) = (nil, [:], [:])
        try await reader.checkProjects()
        try await m3.logIn()
    }

    public func close() async {}

    static func day(_ value: JSONValue?) -> String? {
        guard let text = value?.stringValue, text.count >= 10, CalendarDay.date(String(text.prefix(10))) != nil else { return nil }
        return text.prefix(10).replacingOccurrences(of: "-", with: "")
    }

    // MARK: reading Procore

    public func read(_ entity: FlowEntity, since watermark: String?, cursor: String?) async throws -> SourcePage {
        if cursor == nil { readStarted[entity.name] = clock.now().formatted(.iso8601) }
        let started = readStarted[entity.name] ?? clock.now().formatted(.iso8601)
        switch entity {
        case Self.vendors:
            // the company's vendors, one list (not per project)
            var query = [("company_id", String(procore.connection.companyID)), ("per_page", String(settings.pageSize))]
            if let since = watermark.flatMap({ try? Date($0, strategy: .iso8601) }), cursor == nil {
                let from = since.addingTimeInterval(-Double(settings.overlapMinutes) * 60).formatted(.iso8601)
                query.append(("filters[updated_at]", "\(from)...\(clock.now().addingTimeInterval(86_400).formatted(.iso8601))"))
            }
            let reply = try await procore.call("GET", cursor ?? "/rest/v1.0/vendors", query: cursor == nil ? query : [])
            guard let items = try ProcoreClient.decode(reply, what: "the company's vendors").arrayValue else {
                throw SyncError(.unexpectedResponse, "Procore answered the company's vendors with something that is not a list")
            }
            let records = items.map { item in
                SourceRecord(id: item["id"].map(\.scalarText).flatMap { $0.isEmpty ? nil : $0 } ?? SourceRecord.unreadableID(entity: entity.name, row: item), payload: item, watermark: nil)
            }
            let next = items.isEmpty ? nil : ProcoreClient.nextLink(reply.header("Link"))
            return SourcePage(records: records, next: next, completes: next == nil ? started : nil)
        case Self.payments:
            return try await paymentsPage(since: watermark, cursor: cursor)
        case Self.contracts:
            return try await reader.page(
                entity, since: watermark, cursor: cursor, started: started,
                list: { ("/rest/v1.0/purchase_order_contracts", [("project_id", String($0)), ("filters[status]", "Approved")]) }, keep: { _ in true },
                detail: { id, project, _ in
                    try await self.procore.json("GET", "/rest/v1.0/purchase_order_contracts/\(id)", query: [("project_id", String(project))], what: "contract \(id)")
                })
        default:
            return try await reader.page(
                entity, since: watermark, cursor: cursor, started: started,
                list: { ("/rest/v1.0/requisitions", [("project_id", String($0)), ("filters[status]", "approved")]) }, keep: { _ in true },
                detail: { _, project, item in ["project_id": .number(Double(project)), "record": item] })
        }
    }

    /// The ledger columns a payment is read with; the supplier invoice number last, so a
    /// separator inside it cannot shift the others.
    static let paymentColumns = ["EPDIVI", "EPYEA4", "EPJRNO", "EPJSNO", "EPSUNO", "EPACDT", "EPCUCD", "EPCUAM", "EPVSER", "EPVONO", "EPSINO"]
    static let paymentsPerDay = 10_000

    /// One registration day of M3 payments (`FPLEDG`, `TRCD` 50) per page, from the watermark's
    /// day (or `paymentsFromDays` back) to today; the watermark becomes today, so today is read
    /// again next cycle (payments registered later that day) and what was sent is skipped.
    func paymentsPage(since watermark: String?, cursor: String?) async throws -> SourcePage {
        let now = clock.now()
        let today = Self.compact(CalendarDay.string(now))
        let first = Self.compact(CalendarDay.string(now.addingTimeInterval(-86_400 * Double(settings.paymentsFromDays))))
        let day = cursor ?? watermark.flatMap { $0.count == 8 && $0.allSatisfy(\.isNumber) ? min($0, today) : nil } ?? first
        let query = "\(Self.paymentColumns.joined(separator: ", ")) from FPLEDG where EPTRCD = 50 and EPRGDT = \(day)"
        let result = try await m3.execute("EXPORTMI", "Select", fields: [("QERY", query), ("SEPC", ";"), ("HDRS", "1")], maxRecords: Self.paymentsPerDay + 1)
        if let error = result.error { throw Self.refused("the payment read of \(day) (EXPORTMI on FPLEDG; a tenant without EXPORTMI needs a CMS100MI list instead)", error) }
        var rows = result.records.compactMap { $0["REPL"] }
        guard rows.count <= Self.paymentsPerDay else {
            throw SyncError(.unexpectedResponse, "M3 registered more than \(Self.paymentsPerDay) supplier payments on \(day); the payment read would be cut short — tell ml-connector support")
        }
        if let header = rows.first, header.hasPrefix("EPDIVI") { rows.removeFirst() }
        let records = rows.map { line -> SourceRecord in
            let parts = line.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count >= Self.paymentColumns.count else {
                let row: JSONValue = ["REPL": .string(line)]
                return SourceRecord(id: SourceRecord.unreadableID(entity: Self.payments.name, row: row), payload: row, watermark: nil)
            }
            var object: [String: JSONValue] = [:]
            for (index, name) in Self.paymentColumns.enumerated() {
                let value = index == Self.paymentColumns.count - 1 ? parts[index...].joined(separator: ";") : parts[index]
                object[String(name.dropFirst(2))] = .string(value)
            }
            let id = ["DIVI", "YEA4", "JRNO", "JSNO"].map { object[$0]?.stringValue ?? "" }.joined(separator: "/")
            return SourceRecord(id: id, payload: .object(object), watermark: nil)
        }
        let next = day < today ? Self.compact(CalendarDay.string(CalendarDay.date(Self.dashed(day))!.addingTimeInterval(86_400))) : nil
        return SourcePage(records: records, next: next, completes: next == nil ? today : nil)
    }

    static func compact(_ day: String) -> String { day.replacingOccurrences(of: "-", with: "") }
    static func dashed(_ day: String) -> String { "\(day.prefix(4))-\(day.dropFirst(4).prefix(2))-\(day.suffix(2))" }

    public func reread(_ entity: FlowEntity, sourceID: String, payload: JSONValue?) async throws -> Reread {
        if entity == Self.payments {
            // a held payment is its ledger row as it was read: M3 never changes a posted row
            guard let payload else { return .notFound("the held payment kept no ledger row") }
            return .found(SourceRecord(id: sourceID, payload: payload, watermark: nil))
        }
        do {
            switch entity {
            case Self.vendors:
                return .found(SourceRecord(id: sourceID, payload: try await procore.json(
                    "GET", "/rest/v1.0/vendors/\(sourceID)", query: [("company_id", String(procore.connection.companyID))], what: "vendor \(sourceID)"), watermark: nil))
            case Self.contracts:
                guard let project = payload?["project"]?["id"].flatMap(ProcoreProjectReader.int64) else { return .notFound("the held contract names no project") }
                return .found(SourceRecord(id: sourceID, payload: try await procore.json(
                    "GET", "/rest/v1.0/purchase_order_contracts/\(sourceID)", query: [("project_id", String(project))], what: "contract \(sourceID)"), watermark: nil))
            default:
                guard let project = payload?["project_id"].flatMap(ProcoreProjectReader.int64) else { return .notFound("the held invoice names no project") }
                let record = try await procore.json("GET", "/rest/v1.0/requisitions/\(sourceID)", query: [("project_id", String(project))], what: "invoice \(sourceID)")
                return .found(SourceRecord(id: sourceID, payload: ["project_id": .number(Double(project)), "record": record], watermark: nil))
            }
        } catch let error as SyncError where error.code == .rejected && error.message.contains("(404)") {
            return .gone
        }
    }

    // MARK: planning

    /// M3's suppliers by name, read once per cycle.
    func supplierByName(_ name: String) async throws -> String? {
        if supplierNames == nil {
            let result = try await m3.execute("CRS620MI", "LstSuppliers", maxRecords: 10_000)
            if let error = result.error { throw SyncError(.rejected, "M3 refused the supplier list: \(error)") }
            supplierNames = Dictionary(result.records.compactMap { r in r["SUNM"].map { ($0.uppercased(), r["SUNO"] ?? "") } }, uniquingKeysWith: { a, _ in a })
        }
        return supplierNames?[name.uppercased()]
    }

    /// The M3 supplier of a Procore vendor id: the mapping, else the one the vendors entity wrote.
    func supplier(vendorID: String?, run: RunContext) async throws -> String {
        guard let vendorID else { throw SyncError(.invalidRecord, "the record names no vendor") }
        if let number = settings.suppliers[vendorID] { return number }
        if let number = try await run.destinationID(entity: Self.vendors.name, sourceID: vendorID) { return number }
        throw SyncError(.unknownSupplier, "Procore vendor \(vendorID) has no M3 supplier yet; it goes through once the vendor is synced (or map it in settings.suppliers)")
    }

    func commitment(_ id: String, project: Int64) async throws -> JSONValue {
        if let known = commitments[id] { return known }
        let found = try await procore.json("GET", "/rest/v1.0/purchase_order_contracts/\(id)", query: [("project_id", String(project))], what: "contract \(id)")
        commitments[id] = found
        return found
    }

    static func amount(_ money: Money) -> String { money.decimalString }

    public func plan(_ entity: FlowEntity, _ record: SourceRecord, run: RunContext) async throws -> Planned<Plan> {
        let value = record.payload
        switch entity {
        case Self.vendors:
            guard let name = value["name"]?.stringValue, !name.isEmpty else { throw SyncError(.invalidRecord, "vendor \(record.id) has no name") }
            let number: String
            if let mapped = settings.suppliers[record.id] {
                number = mapped
            } else if let byName = try await supplierByName(String(name.prefix(36))) {
                number = byName  // matched by name: the supplier M3 already has
            } else {
                number = String((settings.supplierPrefix + record.id).prefix(10))
            }
            return Planned(key: number, plan: .supplier(number: number, name: String(name.prefix(36))))
        case Self.contracts:
            let supplier = try await self.supplier(vendorID: value["vendor"]?["id"].map(\.scalarText), run: run)
            var lines: [(line: [(String, String)], accounting: [(String, String)])] = []
            for item in value["line_items"]?.arrayValue ?? [] {
                let code = item["cost_code"]?["full_code"]?.stringValue ?? ""
                guard let itemNumber = settings.items[code] else {
                    throw SyncError(.missingCostCode, "Procore cost code \(code) has no M3 item in settings.items; add \"\(code)\": <ITNO> and replay")
                }
                guard let amount = Money.parse(item["amount"] ?? nil) else { throw SyncError(.invalidRecord, "contract \(record.id) has a line without a readable amount") }
                var accounting: [(String, String)] = []
                if !settings.accounts.isEmpty {
                    guard let string = settings.accounts[code] else {
                        throw SyncError(.missingCostCode, "Procore cost code \(code) has no M3 account in settings.accounts; add \"\(code)\": {account: <AIT1>, costCentre: <AIT2>} and replay")
                    }
                    accounting = string.fields
                }
                lines.append((line: [("ITNO", itemNumber), ("ORQA", "1"), ("PUPR", Self.amount(amount))], accounting: accounting))
            }
            guard !lines.isEmpty else { throw SyncError(.invalidRecord, "contract \(record.id) has no lines") }
            guard record.id.count <= 10 else { throw SyncError(.invalidRecord, "contract id \(record.id) is longer than M3's YRE1 (10)") }
            let today = CalendarDay.string(clock.now()).replacingOccurrences(of: "-", with: "")
            var head: [(String, String)] = [
                ("FACI", settings.facility), ("WHLO", settings.warehouse), ("SUNO", supplier), ("DWDT", Self.day(value["delivery_date"]) ?? today), ("YRE1", record.id),
            ]
            if let ordered = Self.day(value["contract_date"]) { head.append(("PUDT", ordered)) }
            return Planned(key: "YRE1:\(record.id)", plan: .order(contract: record.id, head: head, lines: lines))
        case Self.payments:
            return try await planPayment(record, run: run)
        default:
            guard let source = value["record"], let project = value["project_id"].flatMap(ProcoreProjectReader.int64),
                let contract = source["commitment_id"].map(\.scalarText), !contract.isEmpty
            else { throw SyncError(.invalidRecord, "invoice \(record.id) names no contract") }
            guard let order = try await run.destinationID(entity: Self.contracts.name, sourceID: contract) else {
                throw SyncError(.waitingForDependency, "invoice \(record.id) waits for contract \(contract), which has not reached M3 yet; it goes through once the PO is there")
            }
            let parent = try await commitment(contract, project: project)
            let supplier = try await self.supplier(vendorID: parent["vendor"]?["id"].map(\.scalarText), run: run)
            let number = String((source["invoice_number"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 }.map { $0 } ?? "PRC-\(record.id)").prefix(24)
            guard let amount = Money.parse(source["total_claimed_amount"] ?? nil) else { throw SyncError(.invalidRecord, "invoice \(record.id) has no readable total_claimed_amount") }
            let date = Self.day(source["billing_date"]) ?? CalendarDay.string(clock.now()).replacingOccurrences(of: "-", with: "")
            let head: [(String, String)] = [
                ("SUNO", supplier), ("SPYN", supplier), ("SINO", String(number)), ("IVDT", date), ("CUAM", Self.amount(amount)), ("PUNO", order),
                ("YRE1", record.id.count <= 10 ? record.id : String(record.id.suffix(10))),
            ]
            let line: [(String, String)] = [("RDTP", settings.invoiceLineType), ("NLAM", Self.amount(amount)), ("PUNO", order)]
            return Planned(
                key: "\(supplier)/\(number)", plan: .invoice(supplier: supplier, invoice: String(number), head: head, line: line),
                links: ["project": String(project), "contract": contract])
        }
    }

    /// A ledger row → the contract payment of the invoice it settles.
    func planPayment(_ record: SourceRecord, run: RunContext) async throws -> Planned<Plan> {
        let value = record.payload
        func field(_ name: String) -> String { value[name]?.stringValue ?? "" }
        let (supplier, invoice) = (field("SUNO"), field("SINO"))
        guard !supplier.isEmpty, !invoice.isEmpty else { throw SyncError(.invalidRecord, "payment \(record.id) names no supplier or invoice") }
        guard let amount = Money.parse(value["CUAM"] ?? nil) else { throw SyncError(.invalidRecord, "payment \(record.id) has no readable amount (CUAM \(field("CUAM")))") }
        guard amount > .zero else {
            throw SyncError(.invalidRecord, "payment \(record.id) of \(supplier)/\(invoice) is \(amount.decimalString): a reversal, which Procore's payments do not take; record it in Procore by hand, then release it with `ml-connector replay \(record.id)`")
        }
        guard let day = CalendarDay.date(Self.dashed(field("ACDT"))) else { throw SyncError(.invalidRecord, "payment \(record.id) has no readable accounting date (ACDT \(field("ACDT")))") }
        let key = "M3-PAY-" + record.id.replacingOccurrences(of: "/", with: "-")
        guard let sent = try await run.crossReference(entity: Self.invoices.name, key: "\(supplier)/\(invoice)") else {
            return Planned(key: key, plan: .unrelated("M3 invoice \(supplier)/\(invoice) did not come from Procore through this integration"))
        }
        guard sent.state == .done else {
            throw SyncError(.waitingForDependency, "payment \(record.id) waits for invoice \(sent.sourceID) (\(supplier)/\(invoice)), whose write to M3 is not confirmed yet; it goes through once the invoice is")
        }
        guard let project = sent.links?["project"], let contract = sent.links?["contract"] else {
            throw SyncError(.waitingForDependency, "invoice \(sent.sourceID) (\(supplier)/\(invoice)) was sent before payments were tracked and does not say its contract; run `ml-connector replay \(sent.sourceID)`, then this payment")
        }
        var payment: [String: JSONValue] = [
            "date": .string(CalendarDay.string(day)), "amount": .string(amount.decimalString), "invoice_number": .string(invoice),
            "requisition_id": .string(sent.sourceID), "origin_id": .string(key),
            "notes": .string("CloudSuite AP payment, voucher \(field("VSER"))\(field("VONO")) (\(field("CUCD")))"),
        ]
        if let requisition = Int64(sent.sourceID) { payment["requisition_id"] = .number(Double(requisition)) }
        return Planned(key: key, plan: .payment(project: project, contract: contract, body: .object(payment)))
    }

    // MARK: writing M3

    /// An M3 refusal in its own words, with the fix.
    static func refused(_ what: String, _ error: MIError) -> SyncError {
        SyncError(.rejected, "M3 refused \(what): \(error). Fix it in Procore or in M3's set-up, then replay")
    }

    public func write(_ entity: FlowEntity, _ planned: Planned<Plan>, run: RunContext) async throws -> Written {
        switch planned.plan {
        case .supplier(let number, let name):
            let transformed: JSONValue = ["SUNO": .string(number), "SUNM": .string(name)]
            let found = try await m3.execute("CRS620MI", "GetBasicData", fields: [("SUNO", number)])
            if found.error == nil, !found.records.isEmpty {
                return Written(outcome: .skippedDuplicate, destinationID: number, transformed: transformed, response: "supplier \(number) exists in M3")
            }
            let added = try await m3.execute("CRS620MI", "AddSupplier", fields: [("SUNO", number), ("SUNM", name)])
            if let error = added.error { throw Self.refused("supplier \(number)", error) }
            supplierNames?[name.uppercased()] = number
            return Written(outcome: .created, destinationID: number, transformed: transformed, response: "CRS620MI added supplier \(number)")
        case .order(let contract, let head, let lines):
            let transformed: JSONValue = .object(Dictionary(head.map { ($0.0, JSONValue.string($0.1)) }, uniquingKeysWith: { a, _ in a }))
            let existing = try await m3.execute("PPS200MI", "SearchHead", fields: [("SQRY", "YRE1:\(contract)")])
            if let error = existing.error { throw Self.refused("the PO search for contract \(contract)", error) }
            if let number = existing.records.first?["PUNO"] {
                return Written(outcome: .skippedDuplicate, destinationID: number, transformed: transformed, response: "PO \(number) carries contract \(contract)")
            }
            let start = try await m3.execute("PPS370MI", "StartEntry", fields: [("BAOR", settings.batchOrigin)])
            if let error = start.error { throw Self.refused("a PO entry for contract \(contract)", error) }
            guard let message = start.records.first?["MSGN"] else { throw SyncError(.unexpectedResponse, "M3 started a PO entry without a message number (MSGN)") }
            do {
                let added = try await m3.execute("PPS370MI", "AddHead", fields: [("MSGN", message)] + head)
                if let error = added.error { throw Self.refused("the PO head of contract \(contract)", error) }
                for (index, line) in lines.enumerated() {
                    let result = try await m3.execute("PPS370MI", "AddLine", fields: [("MSGN", message)] + line.line)
                    if let error = result.error { throw Self.refused("line \(index + 1) of contract \(contract)", error) }
                    guard !line.accounting.isEmpty else { continue }
                    let number = result.records.first?["PNLI"] ?? String(index + 1)
                    let accounted = try await m3.execute("PPS370MI", "AddAccString", fields: [("MSGN", message), ("PNLI", number)] + line.accounting)
                    if let error = accounted.error {
                        throw SyncError(.missingCostCode, "M3 refused the accounting of line \(index + 1) of contract \(contract) (\(line.accounting.map { "\($0.0) \($0.1)" }.joined(separator: ", "))): \(error). Create it in M3 or correct settings.accounts, then replay")
                    }
                }
                let finished = try await m3.execute("PPS370MI", "FinishEntry", fields: [("MSGN", message)])
                if let error = finished.error { throw Self.refused("the PO of contract \(contract)", error) }
                guard let number = added.records.first?["PUNO"] else { throw SyncError(.unexpectedResponse, "M3 added a PO head without a PUNO") }
                return Written(outcome: .created, destinationID: number, transformed: transformed, response: "PPS370MI entry \(message) made PO \(number)")
            } catch {
                // an entry that did not finish is not a PO: clean it up, then report
                _ = try? await m3.execute("PPS370MI", "DeleteEntry", fields: [("MSGN", message)])
                throw error
            }
        case .invoice(let supplier, let invoice, let head, let line):
            let transformed: JSONValue = .object(Dictionary(head.map { ($0.0, JSONValue.string($0.1)) }, uniquingKeysWith: { a, _ in a }))
            let existing = try await m3.execute("APS450MI", "LstInvBySupInv", fields: [("SPYN", supplier), ("SUNO", supplier), ("SINO", invoice)])
            if let error = existing.error { throw Self.refused("the invoice look-up of \(supplier)/\(invoice)", error) }
            if let batch = existing.records.first?["INBN"] {
                return Written(outcome: .skippedDuplicate, destinationID: batch, transformed: transformed, response: "invoice batch \(batch) holds \(supplier)/\(invoice)")
            }
            let added = try await m3.execute("APS450MI", "AddHead", fields: head)
            if let error = added.error { throw Self.refused("invoice \(invoice) of \(supplier)", error) }
            guard let batch = added.records.first?["INBN"] else { throw SyncError(.unexpectedResponse, "M3 added an invoice head without a batch number (INBN)") }
            let result = try await m3.execute("APS450MI", "AddLine", fields: [("INBN", batch)] + line)
            if let error = result.error { throw Self.refused("the line of invoice \(invoice) (batch \(batch) was added without it: complete it in M3)", error) }
            return Written(outcome: .created, destinationID: batch, transformed: transformed, response: "APS450MI batch \(batch)")
        case .unrelated(let why):
            return Written(outcome: .skippedDuplicate, destinationID: "-", transformed: [:], response: "not sent to Procore: \(why)")
        case .payment(let project, let contract, let body):
            let scope: [(String, String)] = [("project_id", project), ("contract_id", contract)]
            // a payment whose earlier write may have landed is looked up by its origin_id first
            if planned.previous != nil, let found = try await contractPayment(origin: planned.key, scope: scope) {
                return Written(outcome: .skippedDuplicate, destinationID: found, transformed: body, response: "contract payment \(found) carries \(planned.key)")
            }
            let reply = try await procore.call("POST", "/rest/v1.0/contract_payments", body: [
                "project_id": .string(project), "contract_id": .string(contract), "contract_payment": body,
            ])
            if reply.status == 422, reply.excerpt.contains("origin_id"), let found = try await contractPayment(origin: planned.key, scope: scope) {
                return Written(outcome: .skippedDuplicate, destinationID: found, transformed: body, response: "contract payment \(found) carries \(planned.key)")
            }
            let made = try ProcoreClient.decode(reply, what: "the payment \(planned.key) on contract \(contract)")
            guard let id = made["id"].map(\.scalarText), !id.isEmpty else { throw SyncError(.unexpectedResponse, "Procore made a contract payment without an id") }
            return Written(outcome: .created, destinationID: id, transformed: body, response: "contract payment \(id) on contract \(contract)")
        }
    }

    /// The contract payment carrying `origin`, if Procore has one.
    func contractPayment(origin: String, scope: [(String, String)]) async throws -> String? {
        let listed = try await procore.list("/rest/v1.0/contract_payments", query: scope, what: "the payments of contract \(scope[1].1)")
        return listed.first { $0["origin_id"]?.stringValue == origin }?["id"].map(\.scalarText)
    }

    /// Vendors one at a time (a new supplier is named once); POs, invoices and payments two at a time.
    public func concurrency(_ entity: FlowEntity) -> Int { entity == Self.vendors ? 1 : 2 }

    /// The payments of one contract one after another (Procore numbers them per contract).
    public func lane(_ entity: FlowEntity, _ record: SourceRecord) -> String? {
        entity == Self.payments ? record.payload["SUNO"]?.stringValue : nil
    }
}
