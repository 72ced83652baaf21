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
        case projects, items, suppliers, supplierPrefix, facility, warehouse, batchOrigin, invoiceLineType, overlapMinutes, pageSize
    }

    public static let keys = CodingKeys.allCases.map(\.rawValue)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ProcoreCloudSuiteSettings()
        projects = try c.decodeIfPresent([Int64].self, forKey: .projects) ?? d.projects
        items = try c.decodeIfPresent([String: String].self, forKey: .items) ?? d.items
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
    }
}

/// What flow 003 says. Vendors are matched to M3 suppliers by number (the mapping, else the one
/// this flow made) and by name, and added with `AddSupplier` only after a look-up (M3's add is
/// not idempotent). A purchase order contract becomes a PPS370MI entry (StartEntry, AddHead,
/// AddLine per line, FinishEntry) whose `YRE1` ("your reference", A10) carries the Procore
/// contract id — `PPS200MI/SearchHead YRE1:<id>` finds it before every entry, so a retry, a crash
/// between FinishEntry and the cross-reference, or a redelivered webhook never makes a second
/// PO. An approved invoice becomes an APS450MI batch on its supplier and PO after
/// `LstInvBySupInv` (payee, supplier, supplier invoice number) finds none.
public actor ProcoreCloudSuite: FlowDefinition {
    public enum Plan: Sendable {
        case supplier(number: String, name: String)
        case order(contract: String, head: [(String, String)], lines: [[(String, String)]])
        case invoice(supplier: String, invoice: String, head: [(String, String)], line: [(String, String)])
    }

    public static let name = "procore-cloudsuite"
    static let vendors = FlowEntity(name: "vendors", label: "vendors", noun: "vendor", source: "procore", destination: "cloudsuite", sourceName: "Procore")
    static let contracts = FlowEntity(name: "contracts", label: "contracts", noun: "contract", source: "procore", destination: "cloudsuite", sourceName: "Procore")
    static let invoices = FlowEntity(name: "invoices", label: "invoices", noun: "invoice", source: "procore", destination: "cloudsuite", sourceName: "Procore")
    public static let entityLabels = [vendors.label, contracts.label, invoices.label]
    public nonisolated var entities: [FlowEntity] { [Self.vendors, Self.contracts, Self.invoices] }

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

    public func reread(_ entity: FlowEntity, sourceID: String, payload: JSONValue?) async throws -> Reread {
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
            var lines: [[(String, String)]] = []
            for item in value["line_items"]?.arrayValue ?? [] {
                let code = item["cost_code"]?["full_code"]?.stringValue ?? ""
                guard let itemNumber = settings.items[code] else {
                    throw SyncError(.missingCostCode, "Procore cost code \(code) has no M3 item in settings.items; add \"\(code)\": <ITNO> and replay")
                }
                guard let amount = Money.parse(item["amount"] ?? nil) else { throw SyncError(.invalidRecord, "contract \(record.id) has a line without a readable amount") }
                lines.append([("ITNO", itemNumber), ("ORQA", "1"), ("PUPR", Self.amount(amount))])
            }
            guard !lines.isEmpty else { throw SyncError(.invalidRecord, "contract \(record.id) has no lines") }
            guard record.id.count <= 10 else { throw SyncError(.invalidRecord, "contract id \(record.id) is longer than M3's YRE1 (10)") }
            let today = CalendarDay.string(clock.now()).replacingOccurrences(of: "-", with: "")
            var head: [(String, String)] = [
                ("FACI", settings.facility), ("WHLO", settings.warehouse), ("SUNO", supplier), ("DWDT", Self.day(value["delivery_date"]) ?? today), ("YRE1", record.id),
            ]
            if let ordered = Self.day(value["contract_date"]) { head.append(("PUDT", ordered)) }
            return Planned(key: "YRE1:\(record.id)", plan: .order(contract: record.id, head: head, lines: lines))
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
            return Planned(key: "\(supplier)/\(number)", plan: .invoice(supplier: supplier, invoice: String(number), head: head, line: line))
        }
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
                    let result = try await m3.execute("PPS370MI", "AddLine", fields: [("MSGN", message)] + line)
                    if let error = result.error { throw Self.refused("line \(index + 1) of contract \(contract)", error) }
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
        }
    }

    /// Vendors one at a time (a new supplier is named once); POs and invoices two at a time.
    public func concurrency(_ entity: FlowEntity) -> Int { entity == Self.vendors ? 1 : 2 }
}
