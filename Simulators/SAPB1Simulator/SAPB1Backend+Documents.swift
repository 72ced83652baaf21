import Foundation
import SimulatorKit
import SyncEngine

/// The entity sets the simulator serves, as the Service Layer's metadata describes them: the key,
/// the OData type name SAP's texts use (`Property 'X' of 'Document' is invalid`), the properties a
/// client may send or filter on, and the child collection of a document.
public struct SAPB1EntitySchema: Sendable {
    public struct Lines: Sendable {
        public var name: String
        public var type: String
        public var key: String
        public var properties: Set<String>
    }

    public var key: String
    public var numericKey: Bool
    public var type: String
    public var properties: Set<String>
    public var lines: Lines?
    /// Properties SAP computes or assigns: ignored silently in a PATCH (sapb1.md §5).
    public var readOnly: Set<String>
    /// Documents cannot be deleted (-5006; `Cancel` instead) and are built by `add`.
    public var isDocument: Bool { lines != nil }
    /// Sets a client may `POST` to.
    public var creatable: Bool

    static let documentLine = Lines(name: "DocumentLines", type: "DocumentLine", key: "LineNum", properties: [
        "LineNum", "ItemCode", "ItemDescription", "Quantity", "Price", "UnitPrice", "PriceAfterVAT", "Currency", "Rate", "DiscountPercent",
        "LineTotal", "AccountCode", "WarehouseCode", "TaxCode", "VatGroup", "TaxTotal", "TaxPercentagePerRow", "ProjectCode", "CostingCode",
        "CostingCode2", "CostingCode3", "CostingCode4", "CostingCode5", "BaseType", "BaseEntry", "BaseLine", "FreeText", "LineStatus",
        "RowTotalFC", "MeasureUnit", "UoMEntry",
    ])
    static let journalLine = Lines(name: "JournalEntryLines", type: "JournalEntryLine", key: "Line_ID", properties: [
        "Line_ID", "AccountCode", "ShortName", "Debit", "Credit", "FCDebit", "FCCredit", "FCCurrency", "LineMemo", "Reference1", "Reference2",
        "ProjectCode", "CostingCode", "CostingCode2", "CostingCode3", "CostingCode4", "CostingCode5", "DueDate", "TaxDate", "ReferenceDate1",
        "ContraAccount", "TaxGroup", "VatLine",
    ])

    /// The sets, by name. Property lists are the documented ones (sapb1.md §8, the Service
    /// Layer's `$metadata` as published client models carry it), not every property SAP has.
    public static let all: [String: SAPB1EntitySchema] = [
        "BusinessPartners": SAPB1EntitySchema(key: "CardCode", numericKey: false, type: "BusinessPartner", properties: [
            "CardCode", "CardName", "CardType", "GroupCode", "FederalTaxID", "Currency", "Phone1", "Phone2", "EmailAddress", "Valid", "Frozen",
            "Address", "City", "Country", "ZipCode", "Notes", "PayTermsGrpCode", "CardForeignName", "ContactPerson", "BPAddresses",
            "ContactEmployees", "VatLiable", "DebitorAccount", "UpdateDate", "CreateDate",
        ], readOnly: ["CardCode", "CreateDate", "UpdateDate"], creatable: true),
        "Items": SAPB1EntitySchema(key: "ItemCode", numericKey: false, type: "Item", properties: [
            "ItemCode", "ItemName", "ItemType", "ItemsGroupCode", "PurchaseItem", "SalesItem", "InventoryItem", "Valid", "Frozen",
            "PurchaseUnit", "InventoryUOM", "DefaultWarehouse", "UpdateDate", "CreateDate",
        ], readOnly: ["ItemCode", "CreateDate", "UpdateDate"], creatable: true),
        "Projects": SAPB1EntitySchema(key: "Code", numericKey: false, type: "Project", properties: ["Code", "Name", "ValidFrom", "ValidTo", "Active"],
                                      readOnly: ["Code"], creatable: true),
        "ChartOfAccounts": SAPB1EntitySchema(key: "Code", numericKey: false, type: "ChartOfAccount", properties: [
            "Code", "Name", "FormatCode", "AccountType", "ActiveAccount", "AccountLevel", "FatherAccountKey", "AcctCurrency", "Balance",
            "LockManualTransaction", "ProjectCode",
        ], readOnly: ["Code", "Balance"], creatable: false),
        "ProfitCenters": SAPB1EntitySchema(key: "CenterCode", numericKey: false, type: "ProfitCenter", properties: [
            "CenterCode", "CenterName", "GroupCode", "InWhichDimension", "EffectiveFrom", "EffectiveTo", "Active", "CenterOwner", "CostCenterType",
        ], readOnly: ["CenterCode"], creatable: false),
        "SalesTaxCodes": SAPB1EntitySchema(key: "Code", numericKey: false, type: "SalesTaxCode", properties: ["Code", "Name", "Rate", "IsItemLevel", "Inactive"],
                                           readOnly: ["Code"], creatable: false),
        "VatGroups": SAPB1EntitySchema(key: "Code", numericKey: false, type: "VatGroup", properties: ["Code", "Name", "Category", "Inactive", "VatGroups_Lines"],
                                       readOnly: ["Code"], creatable: false),
        "PurchaseInvoices": SAPB1EntitySchema(key: "DocEntry", numericKey: true, type: "Document", properties: [
            "DocEntry", "DocNum", "DocType", "HandWritten", "Printed", "DocDate", "DocDueDate", "CardCode", "CardName", "Address", "NumAtCard",
            "DocTotal", "VatSum", "DocCurrency", "DocRate", "Reference1", "Reference2", "Comments", "JournalMemo", "PaymentGroupCode", "Series",
            "TaxDate", "Project", "Rounding", "RoundingDiffAmount", "DocumentStatus", "Cancelled", "CreationDate", "UpdateDate", "UpdateTime",
            "DocTotalFc", "DocTotalSys", "VatSumFc", "DiscountPercent", "TotalDiscount", "BPL_IDAssignedToInvoice", "DocObjectCode",
            "ControlAccount", "SalesPersonCode", "TransNum", "DocumentLines",
        ], lines: documentLine, readOnly: ["DocEntry", "DocNum", "CardName", "DocTotal", "VatSum", "DocumentStatus", "Cancelled", "CreationDate",
                                           "UpdateDate", "UpdateTime", "TransNum", "DocObjectCode"], creatable: true),
        "JournalEntries": SAPB1EntitySchema(key: "JdtNum", numericKey: true, type: "JournalEntry", properties: [
            "JdtNum", "Number", "ReferenceDate", "DueDate", "TaxDate", "Memo", "Reference", "Reference2", "Reference3", "ProjectCode",
            "TransactionCode", "Series", "Indicator", "StornoDate", "AutoVAT", "Original", "OriginalJournal", "JournalEntryLines",
        ], lines: journalLine, readOnly: ["JdtNum", "Number", "Original", "OriginalJournal"], creatable: true),
    ]

    init(key: String, numericKey: Bool, type: String, properties: Set<String>, lines: Lines? = nil, readOnly: Set<String>, creatable: Bool) {
        self.key = key
        self.numericKey = numericKey
        self.type = type
        self.properties = properties
        self.lines = lines
        self.readOnly = readOnly
        self.creatable = creatable
    }

    /// `Property 'X' of 'Document' is invalid` for the first property of `body` (or of one of
    /// its lines) the type does not have; annotations (`odata.…`, `@odata.…`) pass.
    func unknownProperty(in body: [String: JSONValue], userFields: [String]) -> String? {
        func check(_ fields: [String: JSONValue], _ known: Set<String>, _ type: String) -> String? {
            for key in fields.keys.sorted() where !known.contains(key) && !userFields.contains(key) && !key.hasPrefix("odata.") && !key.hasPrefix("@odata.") {
                return "Property '\(key)' of '\(type)' is invalid"
            }
            return nil
        }
        if let problem = check(body, properties, type) { return problem }
        if let lines, let members = body[lines.name]?.arrayValue {
            for member in members {
                guard let fields = member.objectValue else { return "Property '\(lines.name)' of '\(type)' is invalid" }
                if let problem = check(fields, lines.properties, lines.type) { return problem }
            }
        }
        return nil
    }
}

extension SAPB1Backend {
    /// A refused write: SAP's code and text.
    struct Refusal: Error {
        var code: Int
        var text: String
        var status = 400
    }

    /// All company data, for a `$batch` change set to roll back.
    func snapshot() -> [String: [String: [JSONValue]]] { sets }
    func restore(_ saved: [String: [String: [JSONValue]]]) { sets = saved }

    /// Creates an entity the way the Service Layer validates it. Documents: the business partner
    /// must be a supplier, GL accounts active, items, projects, profit centers and tax codes known,
    /// `U_` fields created, a journal entry balanced; keys assigned and totals computed (VAT from
    /// each line's `TaxCode`/`VatGroup`) and rounded to the company's `TotalsAccuracy`. Master
    /// data: the key is required and unique.
    func add(_ set: String, company db: String, body: [String: JSONValue]) -> Result<JSONValue, Refusal> {
        guard let schema = SAPB1EntitySchema.all[set], schema.creatable else {
            return .failure(Refusal(code: -5006, text: "The requested action is not supported for this object."))
        }
        if let problem = schema.unknownProperty(in: body, userFields: settings.userFields) { return .failure(Refusal(code: -1000, text: problem)) }
        let today = CalendarDay.string(clock.now())
        var entity: [String: JSONValue]
        switch set {
        case "PurchaseInvoices":
            switch invoice(body, company: db) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let built): entity = built
            }
            let entry = (sets[db]?[set]?.count ?? 0) + 1
            entity["DocEntry"] = .number(Double(entry))
            entity["DocNum"] = .number(Double(6000 + entry))
            entity["DocumentStatus"] = "bost_Open"
            entity["Cancelled"] = "tNO"
            entity["CreationDate"] = .string(today)
        case "JournalEntries":
            switch journal(body, company: db) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let built): entity = built
            }
            let number = (sets[db]?[set]?.count ?? 0) + 30_001
            entity["JdtNum"] = .number(Double(number))
            entity["Number"] = .number(Double(number))
        default:
            guard let key = body[schema.key]?.stringValue, !key.isEmpty else {
                return .failure(Refusal(code: -5002, text: "Enter a code [\(schema.type).\(schema.key)]"))
            }
            guard !(sets[db]?[set] ?? []).contains(where: { $0[schema.key]?.stringValue?.uppercased() == key.uppercased() }) else {
                let text = set == "BusinessPartners"
                    ? "1320000140 - Business partner code '\(key)' already assigned to a business partner; enter a unique business partner code"
                    : set == "Items" ? "Item code '\(key)' already exists" : "This entry already exists in the following tables (ODBC -2035)"
                return .failure(Refusal(code: -10, text: text))
            }
            entity = body
            if set == "BusinessPartners" || set == "Items" { entity["CreateDate"] = .string(today) }
        }
        let stored = JSONValue.object(entity)
        sets[db, default: [:]][set, default: []].append(stored)
        return .success(stored)
    }

    /// `PATCH` (or `PUT` with `replace`): unknown properties refused with -1000, read-only ones
    /// ignored; a document's lines merge by their key (a member without a known key is appended)
    /// unless `replaceCollections` (`B1S-ReplaceCollectionsOnPatch: true`); a document is validated
    /// and its totals computed again as on add, and a refusal leaves it unchanged.
    func update(_ set: String, company db: String, key: String, body: [String: JSONValue], replace: Bool, replaceCollections: Bool) -> Refusal? {
        guard let schema = SAPB1EntitySchema.all[set] else { return Refusal(code: -5006, text: "The requested action is not supported for this object.") }
        guard let index = (sets[db]?[set] ?? []).firstIndex(where: { $0[schema.key]?.scalarText == key }),
            let current = sets[db]?[set]?[index].objectValue
        else { return Refusal(code: -2028, text: "No matching records found (ODBC -2028)", status: 404) }
        if let problem = schema.unknownProperty(in: body, userFields: settings.userFields) { return Refusal(code: -1000, text: problem) }
        if schema.isDocument, current["Cancelled"]?.stringValue == "tYES" || current["DocumentStatus"]?.stringValue == "bost_Close" {
            return Refusal(code: -5002, text: "Document is already closed or cancelled; it cannot be updated")
        }
        var merged = replace ? current.filter { schema.readOnly.contains($0.key) } : current
        for (field, value) in body where !schema.readOnly.contains(field) {
            if let lines = schema.lines, field == lines.name, !replace, !replaceCollections {
                var members = current[field]?.arrayValue ?? []
                for member in value.arrayValue ?? [] {
                    if let lineKey = member[lines.key]?.scalarText, let at = members.firstIndex(where: { $0[lines.key]?.scalarText == lineKey }) {
                        members[at] = .object((members[at].objectValue ?? [:]).merging(member.objectValue ?? [:]) { _, new in new })
                    } else {
                        var appended = member.objectValue ?? [:]
                        appended[lines.key] = nil
                        members.append(.object(appended))
                    }
                }
                merged[field] = .array(members)
            } else {
                merged[field] = value
            }
        }
        let today = CalendarDay.string(clock.now())
        switch set {
        case "PurchaseInvoices":
            switch invoice(merged, company: db) {
            case .failure(let refusal): return refusal
            case .success(let built): merged = built
            }
        case "JournalEntries":
            switch journal(merged, company: db) {
            case .failure(let refusal): return refusal
            case .success(let built): merged = built
            }
        default: break
        }
        if schema.properties.contains("UpdateDate") { merged["UpdateDate"] = .string(today) }
        sets[db]?[set]?[index] = .object(merged)
        return nil
    }

    /// `DELETE` on master data; documents answer -5006 (they are cancelled, not deleted).
    func delete(_ set: String, company db: String, key: String) -> Refusal? {
        guard let schema = SAPB1EntitySchema.all[set], !schema.isDocument, schema.creatable else {
            return Refusal(code: -5006, text: "The requested action is not supported for this object.")
        }
        guard let index = (sets[db]?[set] ?? []).firstIndex(where: { $0[schema.key]?.scalarText == key }) else {
            return Refusal(code: -2028, text: "No matching records found (ODBC -2028)", status: 404)
        }
        sets[db]?[set]?.remove(at: index)
        return nil
    }

    /// Rounds to the company's `TotalsAccuracy`, half away from zero (inferred).
    func rounder(_ db: String) -> (Double) -> Double {
        let scale = pow(10.0, Double(company(db)?.totalsAccuracy ?? 2))
        return { value in (abs(value) * scale).rounded(.toNearestOrAwayFromZero) / scale * (value < 0 ? -1 : 1) }
    }

    func exists(_ db: String, _ table: String, _ field: String, _ value: String) -> Bool {
        (sets[db]?[table] ?? []).contains { $0[field]?.stringValue == value }
    }

    /// The posting date against the company's posting periods. The out-of-range text is SAP's
    /// (10000156, as a public integration's log quotes it); the locked-period text is inferred.
    func checkPeriod(_ db: String, _ date: JSONValue?, table: String) -> Refusal? {
        guard let periods = companies.first(where: { $0.companyDB.lowercased() == db.lowercased() })?.postingPeriods, !periods.isEmpty else { return nil }
        let day = String((date?.stringValue ?? CalendarDay.string(clock.now())).prefix(10))
        guard let period = periods.first(where: { $0.from <= day && day <= $0.to }) else {
            return Refusal(code: -5002, text: "10000156 - Posting Date deviates from the defined range. To complete the operation, define the posting period to match the entered Posting Date.")
        }
        if ["locked", "closing"].contains(period.status) {
            return Refusal(code: -5002, text: "Posting period \(period.code) is \(period.status); choose a posting date in an unlocked period [\(table).RefDate] , '\(day)'")
        }
        return nil
    }

    /// A profit center a line names (`CostingCode`, SAP's `OcrCode`): known and active.
    func checkCenter(_ db: String, _ center: String, table: String, line number: Int) -> Refusal? {
        guard let row = (sets[db]?["ProfitCenters"] ?? []).first(where: { $0["CenterCode"]?.stringValue == center }) else {
            return Refusal(code: -5002, text: "Invalid distribution rule [\(table).OcrCode][line: \(number)] , '\(center)'")
        }
        if row["Active"]?.stringValue == "tNO" {
            return Refusal(code: -5002, text: "Distribution rule '\(center)' is inactive [\(table).OcrCode][line: \(number)]")  // text inferred
        }
        return nil
    }

    /// The entities of a set in a company, as stored (tests, scenarios, the demo).
    public func rows(_ set: String, company db: String) -> [JSONValue] {
        sets.first { $0.key.lowercased() == db.lowercased() }?.value[set] ?? []
    }

    public func count(_ set: String, company db: String) -> Int { rows(set, company: db).count }

    /// The company's `TotalsAccuracy` (2 when not set).
    public func totalsAccuracy(company db: String) -> Int {
        companies.first { $0.companyDB.lowercased() == db.lowercased() }?.totalsAccuracy ?? 2
    }

    /// Master data changed in SAP by hand (a profit center deactivated, an account added):
    /// the entity of `set` whose key property equals `key` gets `fields`, or is added when absent.
    public func upsert(_ set: String, company db: String, key: String, fields: [String: JSONValue]) {
        guard let schema = SAPB1EntitySchema.all[set], let name = sets.keys.first(where: { $0.lowercased() == db.lowercased() }) else { return }
        var rows = sets[name]?[set] ?? []
        if let at = rows.firstIndex(where: { $0[schema.key]?.scalarText == key }) {
            var row = rows[at].objectValue ?? [:]
            row.merge(fields) { _, new in new }
            rows[at] = .object(row)
        } else {
            var row = fields
            row[schema.key] = .string(key)
            rows.append(.object(row))
        }
        sets[name, default: [:]][set] = rows
    }

    /// A posting period's status changed, as finance does at month end. - Returns: whether it exists.
    public func setPostingPeriod(company db: String, code: String, status: String) -> Bool {
        guard let c = companies.firstIndex(where: { $0.companyDB.lowercased() == db.lowercased() }),
            let p = companies[c].postingPeriods?.firstIndex(where: { $0.code == code })
        else { return false }
        companies[c].postingPeriods?[p].status = status
        return true
    }

    func checkAccount(_ db: String, _ code: String, table: String) -> Refusal? {
        guard let account = (sets[db]?["ChartOfAccounts"] ?? []).first(where: { $0["Code"]?.stringValue == code }) else {
            return Refusal(code: -5002, text: "Invalid account code [\(table).AcctCode] , '\(code)'")
        }
        guard account["ActiveAccount"]?.stringValue != "tNO" else {
            return Refusal(code: -5002, text: "Account \(code) is a title account or inactive; choose an active account [\(table).AcctCode]")
        }
        return nil
    }

    /// The VAT rate of a line's tax code: `TaxCode` against `SalesTaxCodes` (US localization),
    /// `VatGroup` against `VatGroups` (the rate of its last `VatGroups_Lines` period); `nil` and a
    /// refusal text for one the company does not have.
    func taxRate(_ db: String, line: JSONValue, number: Int) -> Result<Double, Refusal> {
        if let code = line["TaxCode"]?.stringValue, !code.isEmpty {
            guard let tax = (sets[db]?["SalesTaxCodes"] ?? []).first(where: { $0["Code"]?.stringValue == code }) else {
                return .failure(Refusal(code: -5002, text: "Invalid tax code [PCH1.TaxCode][line: \(number)] , '\(code)'"))
            }
            return .success(tax["Rate"]?.doubleValue ?? 0)
        }
        if let code = line["VatGroup"]?.stringValue, !code.isEmpty {
            guard let group = (sets[db]?["VatGroups"] ?? []).first(where: { $0["Code"]?.stringValue == code }) else {
                return .failure(Refusal(code: -5002, text: "Invalid VAT group [PCH1.VatGroup][line: \(number)] , '\(code)'"))
            }
            return .success(group["VatGroups_Lines"]?.arrayValue?.last?["Rate"]?.doubleValue ?? group["Rate"]?.doubleValue ?? 0)
        }
        return .success(0)
    }

    /// A purchase invoice validated and computed: `DocType` defaults to `dDocument_Items` (its
    /// lines need a known `ItemCode`); service lines need an active GL account; line totals,
    /// `VatSum` (per line, from its tax code) and `DocTotal` = lines + VAT, each rounded.
    func invoice(_ body: [String: JSONValue], company db: String) -> Result<[String: JSONValue], Refusal> {
        let round = rounder(db)
        guard let card = body["CardCode"]?.stringValue else { return .failure(Refusal(code: -5002, text: "Enter a business partner code [OPCH.CardCode]")) }
        guard let partner = (sets[db]?["BusinessPartners"] ?? []).first(where: { $0["CardCode"]?.stringValue == card }),
            partner["CardType"]?.stringValue == "cSupplier"
        else { return .failure(Refusal(code: -5002, text: "Invalid BP code [OPCH.CardCode] , '\(card)'")) }
        if let project = body["Project"]?.stringValue, !exists(db, "Projects", "Code", project) {
            return .failure(Refusal(code: -5002, text: "Invalid project code [OPCH.Project] , '\(project)'"))
        }
        let docType = body["DocType"]?.stringValue ?? "dDocument_Items"
        guard ["dDocument_Items", "dDocument_Service", "I", "S"].contains(docType) else {
            return .failure(Refusal(code: -1000, text: "Enum value '\(docType)' is invalid for property 'DocType'"))
        }
        let service = docType == "dDocument_Service" || docType == "S"
        var entity = body
        var lines: [JSONValue] = []
        var (net, vat) = (0.0, 0.0)
        for (index, line) in (body["DocumentLines"]?.arrayValue ?? []).enumerated() {
            let number = index + 1
            var fields = line.objectValue ?? [:]
            if service {
                guard let account = line["AccountCode"]?.stringValue else {
                    return .failure(Refusal(code: -5002, text: "Enter a G/L account [PCH1.AcctCode][line: \(number)]"))
                }
                if let refusal = checkAccount(db, account, table: "PCH1") { return .failure(Refusal(code: refusal.code, text: refusal.text + "[line: \(number)]")) }
            } else {
                guard let item = line["ItemCode"]?.stringValue, !item.isEmpty else {
                    return .failure(Refusal(code: -5002, text: "Item number is missing; specify an item number [DocumentLines.ItemCode][line: \(number)]"))
                }
                guard exists(db, "Items", "ItemCode", item) else {
                    return .failure(Refusal(code: -5002, text: "Invalid item code [DocumentLines.ItemCode][line: \(number)] , '\(item)'"))
                }
            }
            if let project = line["ProjectCode"]?.stringValue, !exists(db, "Projects", "Code", project) {
                return .failure(Refusal(code: -5002, text: "Invalid project code [PCH1.Project][line: \(number)] , '\(project)'"))
            }
            if let center = line["CostingCode"]?.stringValue, let refusal = checkCenter(db, center, table: "PCH1", line: number) {
                return .failure(refusal)
            }
            let rate: Double
            switch taxRate(db, line: line, number: number) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let found): rate = found
            }
            let amount = round(line["LineTotal"]?.doubleValue ?? (line["Quantity"]?.doubleValue ?? 0) * (line["UnitPrice"]?.doubleValue ?? line["Price"]?.doubleValue ?? 0))
            let tax = round(amount * rate / 100)
            fields["LineNum"] = .number(Double(index))
            fields["LineTotal"] = .number(amount)
            fields["TaxPercentagePerRow"] = .number(rate)
            fields["TaxTotal"] = .number(tax)
            net += amount
            vat += tax
            lines.append(.object(fields))
        }
        guard !lines.isEmpty else { return .failure(Refusal(code: -5002, text: "Document has no lines [PCH1]")) }
        if let refusal = checkPeriod(db, body["DocDate"], table: "OPCH") { return .failure(refusal) }
        entity["DocType"] = .string(service ? "dDocument_Service" : "dDocument_Items")
        entity["CardName"] = partner["CardName"] ?? .null
        entity["VatSum"] = .number(round(vat))
        entity["DocTotal"] = .number(round(net + vat))
        entity["DocumentLines"] = .array(lines)
        entity["DocDate"] = body["DocDate"] ?? .string(CalendarDay.string(clock.now()))
        return .success(entity)
    }

    /// A journal entry validated: every line on an active account or a known business partner,
    /// known profit centers, at least two lines, debits equal to credits after rounding.
    func journal(_ body: [String: JSONValue], company db: String) -> Result<[String: JSONValue], Refusal> {
        let round = rounder(db)
        var entity = body
        var lines: [JSONValue] = []
        var (debit, credit) = (0.0, 0.0)
        for (index, line) in (body["JournalEntryLines"]?.arrayValue ?? []).enumerated() {
            let number = index + 1
            if let account = line["AccountCode"]?.stringValue {
                if let refusal = checkAccount(db, account, table: "JDT1") { return .failure(Refusal(code: refusal.code, text: refusal.text + "[line: \(number)]")) }
            } else if let partner = line["ShortName"]?.stringValue {
                guard exists(db, "BusinessPartners", "CardCode", partner) else {
                    return .failure(Refusal(code: -5002, text: "Invalid BP code [JDT1.ShortName][line: \(number)] , '\(partner)'"))
                }
            } else {
                return .failure(Refusal(code: -5002, text: "Enter a G/L account or business partner [JDT1.Account][line: \(number)]"))
            }
            if let center = line["CostingCode"]?.stringValue, let refusal = checkCenter(db, center, table: "JDT1", line: number) {
                return .failure(refusal)
            }
            var fields = line.objectValue ?? [:]
            let (d, c) = (round(line["Debit"]?.doubleValue ?? 0), round(line["Credit"]?.doubleValue ?? 0))
            fields["Line_ID"] = .number(Double(index))
            fields["Debit"] = .number(d)
            fields["Credit"] = .number(c)
            debit += d
            credit += c
            lines.append(.object(fields))
        }
        guard lines.count >= 2 else { return .failure(Refusal(code: -5002, text: "A journal entry needs at least two lines [JDT1]")) }
        if let refusal = checkPeriod(db, body["ReferenceDate"], table: "OJDT") { return .failure(refusal) }
        guard round(debit) == round(credit) else {
            return .failure(Refusal(code: -5002, text: "Unbalanced transaction: debit \(round(debit)) and credit \(round(credit)) differ [OJDT]"))
        }
        entity["ReferenceDate"] = body["ReferenceDate"] ?? .string(CalendarDay.string(clock.now()))
        entity["JournalEntryLines"] = .array(lines)
        return .success(entity)
    }
}
