import ClientKit
import Foundation
import Logging
import ProcoreClient
import SAPB1Client
import SyncEngine

/// Flow 002 on the flow runtime: Procore commitments, approved change orders, direct costs and
/// approved subcontractor invoices into SAP Business One purchase invoices and journal entries.
public typealias ProcoreSAPB1Flow = FlowRuntime<ProcoreSAPB1>

extension FlowRuntime where Definition == ProcoreSAPB1 {
    public init(
        settings: ProcoreSAPB1Settings, procore: ProcoreClient, sap: SAPB1Client, store: any SyncStateStore,
        clock: any SyncClock, logger: Logger, scope: String? = nil, holder: String = FlowRuntimeDefaults.processHolder
    ) {
        self.init(
            definition: ProcoreSAPB1(settings: settings, procore: procore, sap: sap, clock: clock), store: store, clock: clock,
            logger: logger, scope: scope, holder: holder)
    }
}

/// A Procore project the integration covers, and the SAP project code its documents carry.
public struct ProjectLink: Codable, Sendable, Equatable {
    public var procoreProject: Int64
    public var sapProject: String?

    public init(procoreProject: Int64, sapProject: String? = nil) {
        self.procoreProject = procoreProject
        self.sapProject = sapProject
    }
}

/// A row of the ledger mapping: a Procore cost code (in one project, or in every project when
/// `project` is absent) → the SAP GL account (`ChartOfAccounts.Code`) and profit center
/// (`ProfitCenters.CenterCode`, dimension 1 → `CostingCode`).
public struct CostCodeAccount: Codable, Sendable, Equatable {
    public static let keys = ["costCode", "project", "account", "profitCenter"]
    public var costCode: String
    public var project: Int64?
    public var account: String
    public var profitCenter: String

    public init(costCode: String, project: Int64? = nil, account: String, profitCenter: String) {
        self.costCode = costCode
        self.project = project
        self.account = account
        self.profitCenter = profitCenter
    }
}

/// Flow 002's per-customer settings.
public struct ProcoreSAPB1Settings: Codable, Sendable, Equatable {
    /// The Procore projects to read (each must be in the connection's company: checked before
    /// anything else is asked) and their SAP project codes.
    public var projects: [ProjectLink] = []
    /// Cost code (+ project) → GL account and profit center; both checked in SAP before a post.
    public var costCodes: [CostCodeAccount] = []
    /// Procore vendor id → SAP supplier `CardCode`, where the name match would be wrong.
    public var vendors: [String: String] = [:]
    /// What a commitment and its change orders become: `purchaseInvoice` or `journalEntry`.
    public var commitmentsAs = "purchaseInvoice"
    /// The credit side of every journal entry (accounts payable / accrued costs).
    public var apAccount = "2100"
    /// Minutes re-read before the watermark (Procore's `updated_at` of a record saved while a
    /// cycle read its project).
    public var overlapMinutes = 60
    public var pageSize = 100

    public init(projects: [ProjectLink] = [], costCodes: [CostCodeAccount] = []) {
        self.projects = projects
        self.costCodes = costCodes
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case projects, costCodes, vendors, commitmentsAs, apAccount, overlapMinutes, pageSize
    }

    /// The keys a config may set.
    public static let keys = CodingKeys.allCases.map(\.rawValue)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ProcoreSAPB1Settings()
        projects = try c.decodeIfPresent([ProjectLink].self, forKey: .projects) ?? d.projects
        costCodes = try c.decodeIfPresent([CostCodeAccount].self, forKey: .costCodes) ?? d.costCodes
        vendors = try c.decodeIfPresent([String: String].self, forKey: .vendors) ?? d.vendors
        commitmentsAs = try c.decodeIfPresent(String.self, forKey: .commitmentsAs) ?? d.commitmentsAs
        apAccount = try c.decodeIfPresent(String.self, forKey: .apAccount) ?? d.apAccount
        overlapMinutes = try c.decodeIfPresent(Int.self, forKey: .overlapMinutes) ?? d.overlapMinutes
        pageSize = try c.decodeIfPresent(Int.self, forKey: .pageSize) ?? d.pageSize
        guard ["purchaseInvoice", "journalEntry"].contains(commitmentsAs) else {
            throw SyncError(.invalidConfig, "settings.commitmentsAs is '\(commitmentsAs)'; it is purchaseInvoice or journalEntry")
        }
        if let bad = projects.first(where: { $0.procoreProject <= 0 }) {
            throw SyncError(.invalidConfig, "settings.projects has Procore project id \(bad.procoreProject); ids are positive numbers")
        }
        guard (1...1000).contains(pageSize) else { throw SyncError(.invalidConfig, "settings.pageSize \(pageSize) is outside 1…1000") }
        guard (0...1440).contains(overlapMinutes) else { throw SyncError(.invalidConfig, "settings.overlapMinutes \(overlapMinutes) is outside 0…1440") }
    }
}

/// What flow 002 says. Procore is read per configured project (its lists take one `project_id`)
/// by `filters[updated_at]` from the watermark, which moves only when every project was read; the
/// id of the Procore record goes into the SAP document's `U_PROCORE_ID` (and `NumAtCard` /
/// `Reference`: `PROCORE-CMT-…`) and is looked up before every post, so no retry, replay or
/// restart posts twice. One SAP login per cycle, logout at its end; a dead session (401, code 301)
/// is one fresh login (SAPB1Client); `-5002` is SAP's validation error and holds the record with
/// SAP's text.
public actor ProcoreSAPB1: FlowDefinition {
    public enum Plan: Sendable {
        /// `PurchaseInvoices` or `JournalEntries`, the body ready, the rounding note if any.
        case document(set: String, body: JSONValue, note: String?)
    }

    public static let name = "procore-sapb1"
    static let commitments = FlowEntity(name: "commitments", label: "commitments", noun: "commitment", source: "procore", destination: "sapb1", sourceName: "Procore")
    static let changeOrders = FlowEntity(name: "changeOrders", label: "changeOrders", noun: "change order", source: "procore", destination: "sapb1", sourceName: "Procore")
    static let directCosts = FlowEntity(name: "directCosts", label: "directCosts", noun: "direct cost", source: "procore", destination: "sapb1", sourceName: "Procore")
    static let payments = FlowEntity(name: "paymentApplications", label: "paymentApplications", noun: "payment application", source: "procore", destination: "sapb1", sourceName: "Procore")
    public static let entityLabels = [commitments.label, changeOrders.label, directCosts.label, payments.label]
    public nonisolated var entities: [FlowEntity] { [Self.commitments, Self.changeOrders, Self.directCosts, Self.payments] }

    let settings: ProcoreSAPB1Settings
    let procore: ProcoreClient
    let sap: SAPB1Client
    let clock: any SyncClock
    /// Per cycle: SAP's amount precision, what SAP said of accounts, centers and vendors, each
    /// project's cost codes, commitments read for their change orders, and when each entity's read began.
    var accuracy = 2
    var known: [String: String?] = [:]
    var cards: [String: String?] = [:]
    var costCodeNames: [Int64: [Int64: String]] = [:]
    var contracts: [String: JSONValue] = [:]
    var readStarted: [String: String] = [:]

    public init(settings: ProcoreSAPB1Settings, procore: ProcoreClient, sap: SAPB1Client, clock: any SyncClock) {
        self.settings = settings
        self.procore = procore
        self.sap = sap
        self.clock = clock
    }

    /// Checks the configured projects against the company before anything else, then logs on to
    /// SAP once for the cycle and reads its amount precision.
    public func open() async throws {
        (known, cards, costCodeNames, contracts, readStarted) = ([:], [:], [:], [:], [:])
        try await reader.checkProjects()
        try await sap.login()
        accuracy = (try await sap.adminInfo())["TotalsAccuracy"].flatMap(Self.int64).map(Int.init) ?? 2
        // the look-up before every post filters on U_PROCORE_ID: a company without the field
        // would refuse every record alike, so the cycle stops here saying how to add it
        for (set, table) in [("PurchaseInvoices", "OPCH"), ("JournalEntries", "OJDT")] {
            let key = set == "JournalEntries" ? "JdtNum" : "DocEntry"
            let reply = try await sap.call("GET", "\(set)?$select=\(key)&$top=1&$filter=" + "U_PROCORE_ID eq ''".percentEncoded(keeping: "-._~'"))
            if reply.status == 400, let error = SAPB1Error(reply), error.message.contains("U_PROCORE_ID") {
                throw SyncError(.invalidConfig, "SAP company \(sap.connection.companyDB) has no user-defined field U_PROCORE_ID on \(set) (\(error.code): \(error.message)); create PROCORE_ID (alphanumeric, 50) on \(table) with UserFieldsMD or in SAP's user-defined fields set-up, restart the Service Layer, then run again")
            }
        }
    }

    public func close() async { await sap.logout() }

    static func int64(_ value: JSONValue) -> Int64? {
        if let n = value.doubleValue, n == n.rounded() { return Int64(n) }
        return value.stringValue.flatMap { Int64($0) }
    }

    // MARK: reading Procore

    nonisolated func listPath(_ entity: FlowEntity, project: Int64) -> (String, [(String, String)]) {
        let scope = [("project_id", String(project))]
        switch entity {
        case Self.commitments: return ("/rest/v1.0/purchase_order_contracts", scope + [("filters[status]", "Approved")])
        case Self.changeOrders: return ("/rest/v1.0/change_order_packages", scope)
        case Self.directCosts: return ("/rest/v1.1/projects/\(project)/direct_costs", [])
        default: return ("/rest/v1.0/requisitions", scope + [("filters[status]", "approved")])
        }
    }

    var reader: ProcoreProjectReader {
        ProcoreProjectReader(
            procore: procore, projects: settings.projects.map(\.procoreProject), overlapMinutes: settings.overlapMinutes, pageSize: settings.pageSize,
            clock: clock)
    }

    public func read(_ entity: FlowEntity, since watermark: String?, cursor: String?) async throws -> SourcePage {
        if cursor == nil { readStarted[entity.name] = clock.now().formatted(.iso8601) }
        return try await reader.page(
            entity, since: watermark, cursor: cursor, started: readStarted[entity.name] ?? clock.now().formatted(.iso8601),
            list: { self.listPath(entity, project: $0) },
            // only approved change orders and direct costs post (commitments and invoices are filtered by Procore)
            keep: { entity != Self.changeOrders && entity != Self.directCosts || $0["status"]?.stringValue == "approved" },
            detail: { id, project, item in try await self.detail(entity, id: id, project: project, summary: item) })
    }

    /// The record with what planning needs: its lines (one more read per record: lists carry
    /// none) and its project, as `{"project_id", "record", "lines"}`.
    func detail(_ entity: FlowEntity, id: Int64, project: Int64, summary: JSONValue) async throws -> JSONValue {
        let scope = [("project_id", String(project))]
        let record: JSONValue
        let lines: JSONValue
        switch entity {
        case Self.commitments:
            record = try await procore.json("GET", "/rest/v1.0/purchase_order_contracts/\(id)", query: scope, what: "commitment \(id)")
            lines = record["line_items"] ?? []
        case Self.changeOrders:
            record = try await procore.json("GET", "/rest/v1.0/change_order_packages/\(id)", query: scope, what: "change order package \(id)")
            lines = record["line_items"] ?? []
        case Self.directCosts:
            record = try await procore.json("GET", "/rest/v1.1/projects/\(project)/direct_costs/\(id)", what: "direct cost \(id)")
            lines = record["line_items"] ?? []
        default:
            record = summary
            lines = try await procore.json("GET", "/rest/v1.0/requisitions/\(id)/contract_items", query: scope, what: "the items of invoice \(id)")
        }
        return ["project_id": .number(Double(project)), "record": record, "lines": lines]
    }

    public func reread(_ entity: FlowEntity, sourceID: String, payload: JSONValue?) async throws -> Reread {
        guard let project = payload?["project_id"].flatMap(Self.int64), let id = Int64(sourceID) else {
            return .notFound("the held record carries no Procore project to read \(sourceID) from")
        }
        do {
            var summary = payload?["record"] ?? [:]
            if entity == Self.payments {
                summary = try await procore.json("GET", "/rest/v1.0/requisitions/\(id)", query: [("project_id", String(project))], what: "invoice \(id)")
            }
            return .found(SourceRecord(id: sourceID, payload: try await detail(entity, id: id, project: project, summary: summary), watermark: nil))
        } catch let error as SyncError where error.code == .rejected && error.message.contains("(404)") {
            return .gone
        }
    }

    // MARK: planning

    /// A GL account or profit center as SAP has it: `nil` when usable, else why not (once per cycle).
    func check(_ set: String, _ key: String) async throws -> String? {
        let id = "\(set)|\(key)"
        if let answer = known[id] { return answer }
        let what = set == "ChartOfAccounts" ? "GL account" : "profit center"
        let reply = try await sap.call("GET", "\(set)('\(key.replacingOccurrences(of: "'", with: "''"))')")
        let answer: String?
        switch reply.status {
        case 200:
            let row = try JSONValue(parsing: reply.body)
            let active = set == "ChartOfAccounts" ? row["ActiveAccount"]?.stringValue : row["Active"]?.stringValue
            answer = active == "tNO" ? "SAP's \(what) \(key) is inactive (or a title account); activate it in SAP or map the cost code elsewhere, then replay" : nil
        case 404: answer = "SAP has no \(what) \(key); create it in SAP or fix the costCodes mapping, then replay"
        default: throw SyncError(.transient, "SAP B1 answered \(reply.status) when asked for \(what) \(key): \(reply.excerpt)")
        }
        known[id] = answer
        return answer
    }

    /// The SAP account and profit center of a Procore cost code in a project, checked in SAP.
    func ledger(costCode: String, project: Int64) async throws -> (account: String, center: String) {
        guard let row = settings.costCodes.first(where: { $0.costCode == costCode && $0.project == project })
            ?? settings.costCodes.first(where: { $0.costCode == costCode && $0.project == nil })
        else {
            throw SyncError(.missingCostCode, "Procore cost code \(costCode) (project \(project)) has no SAP account and profit center in the costCodes mapping; add {costCode: \"\(costCode)\", account: …, profitCenter: …} and replay")
        }
        if let problem = try await check("ChartOfAccounts", row.account) { throw SyncError(.missingCostCode, problem) }
        if let problem = try await check("ProfitCenters", row.profitCenter) { throw SyncError(.missingCostCode, problem) }
        return (row.account, row.profitCenter)
    }

    /// The SAP supplier of a Procore vendor: the mapping, else the supplier business partner of
    /// the same name (asked once per cycle).
    func card(vendorID: String?, name: String?) async throws -> String {
        if let vendorID, let card = settings.vendors[vendorID] { return card }
        guard let name, !name.isEmpty else { throw SyncError(.unknownSupplier, "the record names no vendor; map it in settings.vendors or set one in Procore, then replay") }
        if let cached = cards[name] {
            guard let cached else { throw Self.noCard(name, vendorID) }
            return cached
        }
        let filter = "CardName eq '\(name.replacingOccurrences(of: "'", with: "''"))' and CardType eq 'cSupplier'"
        let found = try await sap.json("GET", "BusinessPartners?$select=CardCode&$filter=" + filter.percentEncoded(keeping: "-._~'"), what: "the supplier named \(name)")
        let code = found["value"]?.arrayValue?.first?["CardCode"]?.stringValue
        cards[name] = code
        guard let code else { throw Self.noCard(name, vendorID) }
        return code
    }

    static func noCard(_ name: String, _ vendorID: String?) -> SyncError {
        SyncError(.unknownSupplier, "SAP has no supplier named '\(name)'; create the business partner in SAP or map Procore vendor \(vendorID ?? "?") in settings.vendors, then replay")
    }

    /// Cost code ids of a project → full codes (invoice items carry only the id).
    func costCode(id: Int64, project: Int64) async throws -> String? {
        if costCodeNames[project] == nil {
            let codes = try await procore.list("/rest/v1.0/cost_codes", query: [("project_id", String(project))], what: "the cost codes of project \(project)")
            costCodeNames[project] = Dictionary(codes.compactMap { c in c["id"].flatMap(Self.int64).map { ($0, c["full_code"]?.stringValue ?? "") } }, uniquingKeysWith: { a, _ in a })
        }
        return costCodeNames[project]?[id]
    }

    /// Minor units at SAP's precision: Procore's cents rounded (half away from zero) to
    /// `TotalsAccuracy` digits when SAP keeps fewer than two.
    func rounded(_ amount: Money) -> Money {
        guard accuracy < 2 else { return amount }
        let step = Int64(pow(10, Double(2 - accuracy)))
        let units = (Double(amount.minor) / Double(step)).rounded(.toNearestOrAwayFromZero)
        return Money(minor: Int64(units) * step)
    }

    static func decimal(_ amount: Money) -> JSONValue { .number(Double(amount.minor) / 100) }

    struct Line {
        var description: String
        var account: String
        var center: String
        var amount: Money
    }

    public func plan(_ entity: FlowEntity, _ record: SourceRecord, run: RunContext) async throws -> Planned<Plan> {
        guard let project = record.payload["project_id"].flatMap(Self.int64), let source = record.payload["record"] else {
            throw SyncError(.invalidRecord, "\(entity.noun) \(record.id) was read without its project")
        }
        let link = settings.projects.first { $0.procoreProject == project }
        var lines: [Line] = []
        for item in record.payload["lines"]?.arrayValue ?? [] {
            let amountField = entity == Self.payments ? item["work_completed_this_period"] : item["amount"]
            guard let amount = Money.parse(amountField ?? nil) else {
                throw SyncError(.invalidRecord, "\(entity.noun) \(record.id) has a line without a readable amount (\(amountField?.canonicalJSON() ?? "none"))")
            }
            if amount == .zero { continue }
            var code = item["cost_code"]?["full_code"]?.stringValue
            if code == nil, let id = item["cost_code_id"].flatMap(Self.int64) { code = try await costCode(id: id, project: project) }
            guard let code, !code.isEmpty else { throw SyncError(.invalidRecord, "\(entity.noun) \(record.id) has a line without a cost code") }
            let (account, center) = try await ledger(costCode: code, project: project)
            let text = item["description"]?.stringValue ?? item["description_of_work"]?.stringValue ?? ""
            lines.append(Line(description: String("\(code) \(text)".prefix(100)), account: account, center: center, amount: amount))
        }
        guard !lines.isEmpty else { throw SyncError(.invalidRecord, "\(entity.noun) \(record.id) has no lines with an amount") }
        // SAP's precision: each line rounded, the difference reported, never absorbed silently
        let exact = lines.reduce(Money.zero) { $0 + $1.amount }
        for index in lines.indices { lines[index].amount = rounded(lines[index].amount) }
        let total = lines.reduce(Money.zero) { $0 + $1.amount }
        let note = total == exact ? nil : "amounts rounded to \(accuracy) decimals (SAP TotalsAccuracy): Procore \(exact.decimalString), SAP \(total.decimalString), difference \((exact - total).decimalString)"
        let today = CalendarDay.string(clock.now())
        let key: String
        let reference: String
        let memo: String
        var date = today
        var vendorID = source["vendor"]?["id"].flatMap(Self.int64).map(String.init) ?? source["vendor_id"].flatMap(Self.int64).map(String.init)
        var vendorName = source["vendor"]?["company"]?.stringValue ?? source["vendor_name"]?.stringValue
        var asInvoice = false
        switch entity {
        case Self.commitments:
            key = "cmt:\(record.id)"
            reference = "PROCORE-CMT-\(record.id)"
            memo = "Procore commitment \(source["number"]?.scalarText ?? record.id) \(source["title"]?.stringValue ?? "")"
            asInvoice = settings.commitmentsAs == "purchaseInvoice"
        case Self.changeOrders:
            guard let contract = source["contract_id"].flatMap(Self.int64) else { throw SyncError(.invalidRecord, "change order \(record.id) names no commitment") }
            guard try await run.destinationID(entity: Self.commitments.name, sourceID: String(contract)) != nil else {
                throw SyncError(.waitingForDependency, "change order \(record.id) waits for Procore commitment \(contract), which has not reached SAP yet; it goes through once the commitment is posted")
            }
            let parent = try await commitment(contract, project: project)
            vendorID = parent["vendor"]?["id"].flatMap(Self.int64).map(String.init)
            vendorName = parent["vendor"]?["company"]?.stringValue
            key = "cmt:\(contract):co:\(record.id)"
            reference = "PROCORE-CMT-\(contract)-CO\(source["number"]?.scalarText ?? record.id)"
            memo = "Procore commitment \(parent["number"]?.scalarText ?? String(contract)) change order \(source["number"]?.scalarText ?? record.id)"
            asInvoice = settings.commitmentsAs == "purchaseInvoice" && total > .zero  // a deductive change reverses through a journal entry
        case Self.directCosts:
            key = "dc:\(record.id)"
            reference = "PROCORE-DC-\(record.id)"
            memo = "Procore direct cost \(source["invoice_number"]?.stringValue ?? record.id)"
            date = source["direct_cost_date"]?.stringValue ?? today
        default:
            key = "req:\(record.id)"
            reference = "PROCORE-REQ-\(record.id)"
            memo = "Procore invoice \(source["invoice_number"]?.stringValue ?? record.id) on \(source["contract_name"]?.stringValue ?? "")"
            date = source["billing_date"]?.stringValue ?? today
        }
        let sapProject = link?.sapProject
        if asInvoice {
            let card = try await self.card(vendorID: vendorID, name: vendorName)
            var body: [String: JSONValue] = [
                "CardCode": .string(card), "DocType": "dDocument_Service", "NumAtCard": .string(reference), "DocDate": .string(date),
                "TaxDate": .string(date), "Comments": .string(String(memo.prefix(254))), "U_PROCORE_ID": .string(key),
                "DocumentLines": .array(lines.map { line in
                    var fields: [String: JSONValue] = [
                        "ItemDescription": .string(line.description), "AccountCode": .string(line.account), "LineTotal": Self.decimal(line.amount),
                        "CostingCode": .string(line.center),
                    ]
                    if let sapProject { fields["ProjectCode"] = .string(sapProject) }
                    return .object(fields)
                }),
            ]
            if let sapProject { body["Project"] = .string(sapProject) }
            return Planned(key: key, plan: .document(set: "PurchaseInvoices", body: .object(body), note: note))
        }
        // a journal entry: costs debited per line (credited for a deductive change), the AP account the other way
        var entries: [JSONValue] = lines.map { line in
            let negative = line.amount < .zero
            let value = Self.decimal(negative ? .zero - line.amount : line.amount)
            var fields: [String: JSONValue] = [
                "AccountCode": .string(line.account), "Debit": negative ? 0 : value, "Credit": negative ? value : 0,
                "CostingCode": .string(line.center), "LineMemo": .string(String(line.description.prefix(50))),
            ]
            if let sapProject { fields["ProjectCode"] = .string(sapProject) }
            return .object(fields)
        }
        let balance = Self.decimal(total < .zero ? .zero - total : total)
        entries.append(["AccountCode": .string(settings.apAccount), "Debit": total < .zero ? balance : 0, "Credit": total < .zero ? 0 : balance,
                        "LineMemo": .string(String(reference.prefix(50)))])
        var body: [String: JSONValue] = [
            "ReferenceDate": .string(date), "TaxDate": .string(date), "Memo": .string(String(memo.prefix(50))), "Reference": .string(reference),
            "U_PROCORE_ID": .string(key), "JournalEntryLines": .array(entries),
        ]
        if let sapProject { body["ProjectCode"] = .string(sapProject) }
        return Planned(key: key, plan: .document(set: "JournalEntries", body: .object(body), note: note))
    }

    /// A change order's commitment (its vendor), read once per cycle.
    func commitment(_ id: Int64, project: Int64) async throws -> JSONValue {
        if let known = contracts[String(id)] { return known }
        let found = try await procore.json("GET", "/rest/v1.0/purchase_order_contracts/\(id)", query: [("project_id", String(project))], what: "commitment \(id)")
        contracts[String(id)] = found
        return found
    }

    // MARK: writing SAP

    public func write(_ entity: FlowEntity, _ planned: Planned<Plan>, run: RunContext) async throws -> Written {
        guard case .document(let set, let body, let note) = planned.plan else { throw SyncError(.invalidRecord, "nothing to write") }
        let keyField = set == "JournalEntries" ? "JdtNum" : "DocEntry"
        let select = set == "JournalEntries" ? keyField : "\(keyField),DocTotal"
        let lookup = "\(set)?$select=\(select)&$filter=" + "U_PROCORE_ID eq '\(planned.key.replacingOccurrences(of: "'", with: "''"))'".percentEncoded(keeping: "-._~'")
        let what = "\(set == "JournalEntries" ? "journal entry" : "purchase invoice") \(planned.key)"
        if let existing = try await sap.json("GET", lookup, what: "the \(what) look-up")["value"]?.arrayValue?.first, let found = existing[keyField]?.scalarText {
            // posted before; if Procore's amount moved since (a commitment edited after approval),
            // say so: SAP keeps what was posted, a change order is the way to amend it
            var warning = note
            let planned = (body["DocumentLines"]?.arrayValue ?? []).reduce(Money.zero) { $0 + (Money.parse($1["LineTotal"] ?? nil) ?? .zero) }
            if let total = Money.parse(existing["DocTotal"] ?? nil), set == "PurchaseInvoices", total != planned {
                warning = [note, "Procore now says \(planned.decimalString), SAP's \(set)(\(found)) holds \(total.decimalString): amend it in SAP or through a change order"].compactMap { $0 }.joined(separator: "; ")
            }
            return Written(outcome: .skippedDuplicate, destinationID: "\(set)(\(found))", transformed: body, response: "\(what) exists in SAP as \(set)(\(found))", warning: warning)
        }
        let reply = try await sap.call("POST", set, body: body)
        guard reply.status == 201 else {
            if reply.status >= 500 || reply.status == 429 {
                throw SyncError(.transient, "SAP B1 answered \(reply.status) to \(what): \(reply.excerpt)")
            }
            let error = SAPB1Error(reply)
            throw SyncError(.rejected, "SAP refused \(what) (\(reply.status), code \(error?.code ?? "?")): \(error?.message ?? reply.excerpt). Fix it in SAP or in the mapping, then replay")
        }
        let created = try JSONValue(parsing: reply.body)
        guard let id = created[keyField]?.scalarText else { throw SyncError(.unexpectedResponse, "SAP B1 created \(what) without a \(keyField)") }
        var warning = note
        if set == "PurchaseInvoices", let sapTotal = Money.parse(created["DocTotal"] ?? nil) {
            let sent = (body["DocumentLines"]?.arrayValue ?? []).reduce(Money.zero) { $0 + (Money.parse($1["LineTotal"] ?? nil) ?? .zero) }
            if sapTotal != sent {
                warning = [warning, "SAP's DocTotal \(sapTotal.decimalString) differs from the lines sent (\(sent.decimalString)): tax or rounding in SAP"].compactMap { $0 }.joined(separator: "; ")
            }
        }
        return Written(outcome: .created, destinationID: "\(set)(\(id))", transformed: body, response: "\(set) \(keyField) \(id)", warning: warning)
    }

    /// Change orders and invoices of one commitment go after it; documents overlap two at a time.
    public func concurrency(_ entity: FlowEntity) -> Int { 2 }
}
