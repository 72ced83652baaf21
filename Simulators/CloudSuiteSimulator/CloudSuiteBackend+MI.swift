import Foundation
import SimulatorKit
import SyncEngine

/// The M3 programs flow 003 (Procore → CloudSuite) uses, with M3's rules (cloudsuite.md §6):
/// CRS620MI suppliers, PPS370MI purchase-order batch entry (a PO is real only at `FinishEntry`),
/// PPS200MI purchase-order reads and lines, APS450MI supplier-invoice batches. Adds are not
/// idempotent, exactly as in M3: the client looks up first.
extension CloudSuiteBackend {
    /// What one MI transaction did.
    enum MIOutcome: Equatable {
        case records([[String: String]])
        case failure(type: String, code: String, field: String, message: String)

        static func nok(_ code: String, _ field: String, _ message: String) -> MIOutcome {
            .failure(type: "ServerReturnedNOK", code: code, field: field, message: message)
        }
    }

    /// A staged PPS370MI entry.
    struct StagedEntry {
        var company: Int
        var head: [String: String]?
        var lines: [[String: String]] = []
    }

    /// Mandatory input fields per transaction (the subset of M3's metadata this simulator enforces;
    /// real tenants may default more of them from templates).
    static let mandatory: [String: [String]] = [
        "CRS620MI/GetBasicData": ["SUNO"], "CRS620MI/LstByNumber": ["SUNO"], "CRS620MI/AddSupplier": ["SUNO", "SUNM"],
        "MMS200MI/GetItmBasic": ["ITNO"], "MMS005MI/GetWarehouse": ["WHLO"],
        "CRS620MI/UpdSupplier": ["SUNO"],
        "PPS370MI/StartEntry": ["BAOR"], "PPS370MI/AddHead": ["MSGN", "FACI", "WHLO", "SUNO", "DWDT"], "PPS370MI/AddLine": ["MSGN", "ITNO", "ORQA"],
        "PPS370MI/FinishEntry": ["MSGN"], "PPS370MI/AddAccString": ["MSGN"], "PPS370MI/DeleteEntry": ["MSGN"],
        "PPS200MI/GetHead": ["PUNO"], "PPS200MI/SearchHead": ["SQRY"], "PPS200MI/LstLine": ["PUNO"], "PPS200MI/AddLine": ["PUNO", "ITNO", "ORQA"],
        "APS450MI/AddHead": ["SUNO", "IVDT"], "APS450MI/AddLine": ["INBN", "RDTP"], "APS450MI/GetHead": ["INBN"], "APS450MI/LstLines": ["INBN"],
        "APS450MI/LstInvBySupInv": ["SPYN", "SUNO", "SINO"], "EXPORTMI/Select": ["QERY"],
    ]

    /// Field lengths (M3's A/N sizes) checked on input.
    static let lengths: [String: Int] = [
        "SUNO": 10, "SUNM": 36, "ALSU": 10, "CUCD": 3, "CSCD": 3, "LNCD": 2, "PHNO": 16, "VRNO": 16, "TEPY": 3, "PYME": 3,
        "BAOR": 3, "MSGN": 15, "FACI": 3, "WHLO": 3, "PUNO": 10, "ITNO": 15, "YRE1": 10, "OURR": 10, "PROJ": 7, "ELNO": 8,
        "SINO": 24, "SPYN": 10, "INBN": 10, "RDTP": 1, "STAT": 2, "ECAR": 2, "DTFM": 3, "MEPF": 10, "SUCL": 3, "QUCL": 3, "ORTY": 3,
        "TEDL": 3, "MODL": 3, "TEAF": 3, "TEPA": 3, "ATPR": 10, "ACRF": 8, "ITDS": 30, "FACN": 30, "WHNM": 36, "IBTP": 2, "SUPA": 2,
        "PUUN": 3, "PPUN": 3, "VTCD": 2, "CORG": 11, "AIT1": 8, "AIT2": 8, "AIT3": 8, "AIT4": 8, "AIT5": 8, "AIT6": 8, "AIT7": 8,
    ]

    /// Numeric fields (M3 `N`): decimal text with `.`, an optional leading minus; never padded.
    static let numeric: Set<String> = [
        "CONO", "SUTY", "DT4T", "DTCD", "CRTP", "ORQA", "PUPR", "CUAM", "VTAM", "NLAM", "VTA1", "IVQA", "GRPR", "NEPR", "COAM", "NTAM",
        "PNLI", "PNLS", "TRNO", "RDTP", "INBN", "SUPA", "IBTP", "VTCD",
    ]

    /// Date fields (M3 `N8`, `YYYYMMDD`), with the name M3's texts give them.
    static let dates: [String: String] = [
        "DWDT": "Delivery date", "PUDT": "Order date", "IVDT": "Invoice date", "ACDT": "Accounting date", "DUDT": "Due date",
        "FVDT": "Valid from date", "STDT": "Start date",
    ]

    /// Fields `AddSupplier` needs, in M3's metadata order (cloudsuite.md §6.1); a company's
    /// supplier template supplies any of them but the number and the name.
    static let supplierMandatory = [
        "SUNO", "SUNM", "SUTY", "CSCD", "ECAR", "LNCD", "DTFM", "MEPF", "SUCL", "QUCL", "ORTY", "TEDL", "MODL", "TEAF", "TEPA", "DT4T",
        "DTCD", "CUCD", "CRTP", "TEPY", "PYME", "ATPR", "ACRF",
    ]

    /// A date or number field whose value M3 cannot read: `ServerReturnedNOK` naming the field.
    /// Codes follow M3's `W` + field group + `01` (invalid) pattern (inferred, cloudsuite.md §4).
    static func format(_ fields: [String: String]) -> MIOutcome? {
        for name in fields.keys.sorted() {
            let value = fields[name] ?? ""
            guard !value.isEmpty else { continue }
            let code = "W" + name.prefix(2) + "0101"
            if let label = dates[name] {
                guard value.count == 8, value.allSatisfy({ $0.isASCII && $0.isNumber }), let day = CalendarDay.date("\(value.prefix(4))-\(value.dropFirst(4).prefix(2))-\(value.suffix(2))"),
                    CalendarDay.string(day).replacingOccurrences(of: "-", with: "") == value
                else { return .nok(code, name, "\(label) \(value) is invalid") }
            } else if numeric.contains(name) {
                let digits = value.hasPrefix("-") ? value.dropFirst() : Substring(value)
                let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
                guard !digits.isEmpty, parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else {
                    return .nok(code, name, "Field \(name) value \(value) is not numeric")
                }
            }
        }
        if let quantity = fields["ORQA"], let number = Double(quantity), number <= 0 {
            return .nok("WOR0101", "ORQA", "Quantity \(quantity) is invalid")
        }
        return nil
    }

    /// Facility, warehouse and item named in a transaction must exist in the company (texts per
    /// cloudsuite.md §4: `WFAC303`, `WIT0103`; the warehouse code by the same pattern, inferred).
    func existence(_ fields: [String: String], _ company: Int) -> MIOutcome? {
        if let facility = fields["FACI"], !facility.isEmpty, !(facilities[company] ?? []).contains(where: { $0["FACI"] == facility }) {
            return .nok("WFAC303", "FACI", "Facility \(facility) does not exist")
        }
        if let code = fields["WHLO"], !code.isEmpty {
            guard let warehouse = (warehouses[company] ?? []).first(where: { $0["WHLO"] == code }) else {
                return .nok("WWH0103", "WHLO", "Warehouse \(code) does not exist")
            }
            if let facility = fields["FACI"], !facility.isEmpty, let own = warehouse["FACI"], own != facility {
                return .nok("WWH0101", "WHLO", "Warehouse \(code) does not belong to facility \(facility)")
            }
        }
        if let item = fields["ITNO"], !item.isEmpty, !(items[company] ?? []).contains(where: { $0["ITNO"] == item }) {
            return .nok("WIT0103", "ITNO", "Item number \(item) does not exist")
        }
        return nil
    }

    /// Pads an output record's alphanumeric values with blanks to their M3 length, as M3 answers
    /// when the caller did not ask for `righttrim=true`.
    static func padded(_ record: [String: String]) -> [String: String] {
        var out = record
        for (name, value) in record where !numeric.contains(name) && dates[name] == nil {
            if let length = lengths[name], value.count < length { out[name] = value + String(repeating: " ", count: length - value.count) }
        }
        return out
    }

    static let transactions: [String: Set<String>] = [
        "CRS620MI": ["GetBasicData", "LstByNumber", "LstSuppliers", "AddSupplier", "UpdSupplier"],
        "PPS370MI": ["StartEntry", "AddHead", "AddLine", "AddAccString", "FinishEntry", "DeleteEntry"],
        "PPS200MI": ["GetHead", "LstLine", "AddLine", "SearchHead"],
        "APS450MI": ["AddHead", "AddLine", "GetHead", "LstLines", "LstInvBySupInv"],
        "MMS200MI": ["GetItmBasic"],
        "MMS005MI": ["GetWarehouse"],
        "EXPORTMI": ["Select"],
    ]

    /// Runs one transaction in `company` (already authorised).
    func run(program: String, transaction: String, fields raw: [String: String], company: Int) -> MIOutcome {
        guard let known = Self.transactions[program] else {
            return .failure(type: "TransactionNotFound", code: "", field: "", message: "Program \(program) is not available")
        }
        guard known.contains(transaction) else {
            return .failure(type: "TransactionNotFound", code: "", field: "", message: "Transaction \(transaction) does not exist in \(program)")
        }
        let fields = raw.mapValues { $0.trimmingCharacters(in: .whitespaces) }
        for name in Self.mandatory["\(program)/\(transaction)"] ?? [] where (fields[name] ?? "").isEmpty {
            let code = name == "SUNO" ? "WSU0102" : ""
            return .failure(type: "MandatoryInputFieldNotFound", code: code, field: name, message: name == "SUNO" ? "Supplier number must be entered" : "Input field \(name) is mandatory")
        }
        for (name, value) in fields {
            if let limit = Self.lengths[name], value.count > limit {
                return .failure(type: "InputFieldTooLong", code: "", field: name, message: "Input field \(name) is too long, max length is \(limit)")
            }
        }
        if let refusal = Self.format(fields) { return refusal }
        if program != "CRS620MI", let refusal = existence(fields, company) { return refusal }
        switch program {
        case "MMS200MI":
            let number = fields["ITNO"] ?? ""
            return .records((items[company] ?? []).filter { $0["ITNO"] == number })
        case "MMS005MI":
            let code = fields["WHLO"] ?? ""
            return .records((warehouses[company] ?? []).filter { $0["WHLO"] == code })
        case "CRS620MI": return suppliersMI(transaction, fields, company)
        case "PPS370MI": return batchEntryMI(transaction, fields, company)
        case "PPS200MI": return purchaseOrderMI(transaction, fields, company)
        case "EXPORTMI": return exportMI(transaction, fields, company)
        default: return invoiceMI(transaction, fields, company)
        }
    }

    func supplier(_ number: String, _ company: Int) -> [String: String]? { suppliers[company]?.first { $0["SUNO"] == number } }

    func suppliersMI(_ transaction: String, _ fields: [String: String], _ company: Int) -> MIOutcome {
        let list = supplierList(company)
        let number = fields["SUNO"] ?? ""
        switch transaction {
        case "LstSuppliers":
            let from = fields["FRSU"] ?? ""
            let to = fields["TOSU"]
            return .records(list.filter { row in
                let number = row["SUNO", default: ""]
                guard number >= from else { return false }
                guard let to else { return true }
                return number <= to
            })
        case "LstByNumber":
            return .records(list.filter { $0["SUNO", default: ""] >= number })
        case "GetBasicData":
            guard let found = supplier(number, company) else { return .nok("WSU0103", "SUNO", "Supplier number \(number) does not exist") }
            return .records([found])
        case "AddSupplier":
            guard supplier(number, company) == nil else { return .nok("WSU0104", "SUNO", "Supplier number \(number) already exists") }
            var record = fields.filter { $0.key != "CONO" && !$0.value.isEmpty }
            for (name, value) in supplierTemplates[company] ?? [:] where record[name] == nil && name != "SUNO" && name != "SUNM" {
                record[name] = value
            }
            for name in Self.supplierMandatory where (record[name] ?? "").isEmpty {
                return .failure(type: "MandatoryInputFieldNotFound", code: "", field: name, message: "Input field \(name) is mandatory")
            }
            record["STAT"] = record["STAT"] ?? "20"
            suppliers[company, default: []].append(record)
            return .records([])
        default:  // UpdSupplier
            guard let index = suppliers[company]?.firstIndex(where: { $0["SUNO"] == number }) else {
                return .nok("WSU0103", "SUNO", "Supplier number \(number) does not exist")
            }
            for (key, value) in fields where key != "CONO" && !value.isEmpty { suppliers[company]![index][key] = value }
            return .records([])
        }
    }

    func batchEntryMI(_ transaction: String, _ fields: [String: String], _ company: Int) -> MIOutcome {
        if transaction == "StartEntry" {
            nextNumber += 1
            let message = String(format: "%015d", 800_000_000 + nextNumber)
            entries[message] = StagedEntry(company: company)
            return .records([["MSGN": message]])
        }
        let message = fields["MSGN"] ?? ""
        guard var entry = entries[message], entry.company == company else {
            return .nok("WMS3703", "MSGN", "Message number \(message) does not exist")
        }
        switch transaction {
        case "AddHead":
            let vendor = fields["SUNO"] ?? ""
            guard supplier(vendor, company) != nil else { return .nok("WSU0103", "SUNO", "Supplier number \(vendor) does not exist") }
            guard entry.head == nil else { return .nok("WPU0804", "PUNO", "The entry \(message) already has a head") }
            nextNumber += 1
            var head = fields.filter { $0.key != "MSGN" && $0.key != "CONO" }
            head["PUNO"] = String(format: "%010d", 4_000_000 + nextNumber)
            entry.head = head
            entries[message] = entry
            return .records([["PUNO": head["PUNO"]!]])
        case "AddLine":
            guard let head = entry.head else { return .nok("WPU0803", "PUNO", "Purchase order number does not exist in entry \(message)") }
            var line = fields.filter { $0.key != "MSGN" && $0.key != "CONO" }
            line["PUNO"] = head["PUNO"]
            line["PNLI"] = String(entry.lines.count + 1)
            line["PNLS"] = "0"
            entry.lines.append(line)
            entries[message] = entry
            return .records([["PUNO": line["PUNO"]!, "PNLI": line["PNLI"]!]])
        case "AddAccString":
            // the accounting string of a staged line: each dimension (AIT1 = account, then the
            // tenant's own order — cost centre, project…) must be an accounting identity of the
            // company when the company keeps a chart for that dimension (FCHACC, M3 program CRS630)
            guard entry.head != nil else { return .nok("WPU0803", "PUNO", "Purchase order number does not exist in entry \(message)") }
            let lineText = fields["PNLI"] ?? ""
            guard let number = Int(lineText), entry.lines.indices.contains(number - 1) else {
                return .nok("WPN0103", "PNLI", "Purchase order line \(lineText) does not exist in entry \(message)")
            }
            for dimension in 1...7 {
                let name = "AIT\(dimension)"
                guard let value = fields[name], !value.isEmpty else { continue }
                if let chart = accountingIdentities[company]?[dimension], !chart.contains(value) {
                    return .nok("WAI\(dimension)103", name, "Accounting identity \(value) does not exist for dimension \(dimension)")
                }
                entry.lines[number - 1][name] = value
            }
            entries[message] = entry
            return .records([])
        case "FinishEntry":
            guard let head = entry.head, let number = head["PUNO"] else { return .nok("WPU0803", "PUNO", "The entry \(message) has no purchase order head") }
            purchaseOrders[company, default: [:]][number] = (head, entry.lines)
            entries[message] = nil
            return .records([])
        default:  // DeleteEntry
            entries[message] = nil
            return .records([])
        }
    }

    func purchaseOrderMI(_ transaction: String, _ fields: [String: String], _ company: Int) -> MIOutcome {
        if transaction == "SearchHead" {
            // Infor's search query: `FIELD:value` terms, all of which must hold (a subset of the
            // Enterprise Search syntax M3's Search transactions take; inferred)
            let terms = (fields["SQRY"] ?? "").split(separator: " ").compactMap { term -> (String, String)? in
                let parts = term.split(separator: ":", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]).uppercased(), String(parts[1])) : nil
            }
            guard !terms.isEmpty else { return .failure(type: "ServerReturnedNOK", code: "", field: "SQRY", message: "The search query is not valid") }
            let heads = (purchaseOrders[company] ?? [:]).filter { _, order in terms.allSatisfy { order.head[$0.0] == $0.1 } }
            return .records(heads.keys.sorted().map { number in
                var head = heads[number]!.head
                head["PUNO"] = number
                return head
            })
        }
        let number = fields["PUNO"] ?? ""
        guard let order = purchaseOrders[company]?[number] else {
            return .nok("WPU0803", "PUNO", "Purchase order number \(number) does not exist")
        }
        switch transaction {
        case "GetHead":
            var head = order.head
            head["PUNO"] = number
            head["COAM"] = String(format: "%.2f", order.lines.reduce(0.0) { $0 + (Double($1["ORQA"] ?? "") ?? 0) * (Double($1["PUPR"] ?? "") ?? 0) })
            return .records([head])
        case "LstLine":
            return .records(order.lines)
        default:  // AddLine: created at once, unlike a PPS370MI line
            var line = fields.filter { $0.key != "CONO" }
            line["PNLI"] = fields["PNLI"].flatMap { $0.isEmpty ? nil : $0 } ?? String(order.lines.count + 1)
            line["PNLS"] = "0"
            purchaseOrders[company]![number]!.lines.append(line)
            return .records([])
        }
    }

    func invoiceMI(_ transaction: String, _ fields: [String: String], _ company: Int) -> MIOutcome {
        switch transaction {
        case "AddHead":
            let vendor = fields["SUNO"] ?? ""
            guard supplier(vendor, company) != nil else { return .nok("WSU0103", "SUNO", "Supplier number \(vendor) does not exist") }
            nextNumber += 1
            var head = fields.filter { $0.key != "CONO" }
            head["INBN"] = String(5_000_000 + nextNumber)
            head["SPYN"] = fields["SPYN"].flatMap { $0.isEmpty ? nil : $0 } ?? vendor
            head["IBTP"] = head["IBTP"] ?? "20"
            head["SUPA"] = "10"
            invoices[company, default: [:]][head["INBN"]!] = (head, [])
            return .records([["INBN": head["INBN"]!]])
        case "LstInvBySupInv":
            let matches = (invoices[company] ?? [:]).values.filter {
                $0.head["SPYN"] == fields["SPYN"] && $0.head["SUNO"] == fields["SUNO"] && $0.head["SINO"] == fields["SINO"]
            }
            return .records(matches.map { ["INBN": $0.head["INBN"] ?? "", "IBTP": $0.head["IBTP"] ?? "", "SUPA": $0.head["SUPA"] ?? ""] }.sorted { $0["INBN"]! < $1["INBN"]! })
        default:
            let batch = fields["INBN"] ?? ""
            guard let invoice = invoices[company]?[batch] else {
                return .nok("", "INBN", "Invoice batch number \(batch) does not exist")
            }
            switch transaction {
            case "GetHead": return .records([invoice.head])
            case "LstLines": return .records(invoice.lines)
            default:  // AddLine
                var line = fields.filter { $0.key != "CONO" }
                line["TRNO"] = String(invoice.lines.count + 1)
                invoices[company]![batch]!.lines.append(line)
                return .records([["TRNO": line["TRNO"]!]])
            }
        }
    }
}
