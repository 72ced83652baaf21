import Foundation
import SimulatorKit
import SyncEngine

/// The supplier ledger (M3 table `FPLEDG`) and the generic export API M3 tenants read it with,
/// `EXPORTMI/Select` — how flow 003 reads CloudSuite payments back into Procore.
///
/// Why this transaction: M3's MI catalogue has no "list payments" transaction; the AP payment
/// programs (APS130MI and relatives) handle payment *proposals* before they are paid. What a
/// payment leaves behind is its ledger row: `FPLEDG` keeps one row per supplier transaction,
/// transaction code (`TRCD`) 40 for an invoice and 50 for a payment, each with the supplier
/// (`SUNO`), the supplier invoice number (`SINO`) it settles, the voucher and the amount. Infor
/// documents `EXPORTMI` as the generic SQL-like single-table read (one table that has `CONO`; a
/// company condition is refused because the session's company is always used; fields chosen,
/// a separator `SEPC`, a header row with `HDRS=1`), and public integrations read `FPLEDG` with
/// it. A tenant that forbids EXPORTMI would offer the same rows through a custom list API
/// (CMS100MI) instead — the flow's query is one setting away from that.
///
/// Modelled: `Select` with `QERY` = `fields from FPLEDG [where cond [and cond]…]`, a condition
/// being `FIELD op value` (`=`, `<>`, `>`, `>=`, `<`, `<=`; numbers bare, text in single
/// quotes); `SEPC` (blank → fixed-width fields); `HDRS`; `maxrecs`. Each output record is one
/// `REPL` field. Not modelled: other tables, `or`, `order by`, and the `Search` transaction.
/// Signs as M3 keeps them: an invoice row is negative (owed), a payment row positive.
extension CloudSuiteBackend {
    /// `FPLEDG` columns this simulator keeps, with their lengths (for the fixed-width format).
    static let ledgerColumns: [(name: String, length: Int)] = [
        ("EPCONO", 3), ("EPDIVI", 3), ("EPYEA4", 4), ("EPJRNO", 7), ("EPJSNO", 7), ("EPSPYN", 10), ("EPSUNO", 10), ("EPSINO", 24),
        ("EPINYR", 4), ("EPTRCD", 2), ("EPIVDT", 8), ("EPACDT", 8), ("EPDUDT", 8), ("EPCUCD", 3), ("EPCUAM", 17), ("EPVSER", 3),
        ("EPVONO", 8), ("EPRGDT", 8), ("EPRGTM", 6),
    ]
    static let numericLedgerColumns: Set<String> = ["EPCONO", "EPYEA4", "EPJRNO", "EPJSNO", "EPINYR", "EPTRCD", "EPIVDT", "EPACDT", "EPDUDT", "EPCUAM", "EPVONO", "EPRGDT", "EPRGTM"]

    /// Registers a payment of a supplier invoice (what M3's payment run leaves in `FPLEDG`):
    /// transaction code 50, a new journal and voucher number, registered now.
    /// - Returns: the row's key `DIVI/YEA4/JRNO/JSNO`.
    @discardableResult
    public func recordPayment(
        company: Int, division: String = "AAA", supplier: String, invoice: String, amount: String, currency: String = "USD",
        paidOn: String? = nil
    ) -> String {
        let now = clock.now()
        let today = CalendarDay.string(now).replacingOccurrences(of: "-", with: "")
        let day = paidOn?.replacingOccurrences(of: "-", with: "") ?? today
        nextNumber += 1
        let journal = String(nextNumber)
        let seconds = Int(now.timeIntervalSince1970) % 86_400
        let row: [String: String] = [
            "EPCONO": String(company), "EPDIVI": division, "EPYEA4": String(day.prefix(4)), "EPJRNO": journal, "EPJSNO": "1",
            "EPSPYN": supplier, "EPSUNO": supplier, "EPSINO": invoice, "EPINYR": String(day.prefix(4)), "EPTRCD": "50",
            "EPIVDT": day, "EPACDT": day, "EPDUDT": day, "EPCUCD": currency, "EPCUAM": amount, "EPVSER": "PY",
            "EPVONO": String(700_000 + nextNumber), "EPRGDT": today,
            "EPRGTM": String(format: "%02d%02d%02d", seconds / 3600, seconds / 60 % 60, seconds % 60),
        ]
        ledger[company, default: []].append(row)
        return "\(division)/\(row["EPYEA4"]!)/\(journal)/1"
    }

    /// The ledger rows of a company (tests, scenarios).
    public func ledgerRows(company: Int) -> [[String: String]] { ledger[company] ?? [] }

    struct Condition {
        var field: String
        var op: String
        var value: String
        var quoted: Bool

        func holds(_ row: [String: String]) -> Bool {
            let have = row[field] ?? ""
            let order: ComparisonResult
            if !quoted, let a = Decimal(string: have.isEmpty ? "0" : have), let b = Decimal(string: value) {
                order = a < b ? .orderedAscending : (a > b ? .orderedDescending : .orderedSame)
            } else {
                order = have < value ? .orderedAscending : (have > value ? .orderedDescending : .orderedSame)
            }
            switch op {
            case "=": return order == .orderedSame
            case "<>": return order != .orderedSame
            case ">": return order == .orderedDescending
            case ">=": return order != .orderedAscending
            case "<": return order == .orderedAscending
            default: return order != .orderedDescending  // <=
            }
        }
    }

    /// `EXPORTMI/Select`.
    func exportMI(_ transaction: String, _ fields: [String: String], _ company: Int) -> MIOutcome {
        guard transaction == "Select" else { return .failure(type: "TransactionNotFound", code: "", field: "", message: "Transaction \(transaction) does not exist in EXPORTMI") }
        let query = (fields["QERY"] ?? "").trimmingCharacters(in: .whitespaces)
        func invalid(_ why: String) -> MIOutcome { .nok("", "QERY", "Query is not valid: \(why)") }
        guard let fromRange = query.range(of: " from ", options: .caseInsensitive) else { return invalid("expected 'fields from TABLE'") }
        let columns = query[..<fromRange.lowerBound].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        var rest = query[fromRange.upperBound...].trimmingCharacters(in: .whitespaces)
        var conditionText = ""
        if let whereRange = rest.range(of: " where ", options: .caseInsensitive) {
            conditionText = String(rest[whereRange.upperBound...])
            rest = String(rest[..<whereRange.lowerBound])
        }
        let table = rest.trimmingCharacters(in: .whitespaces).uppercased()
        guard table == "FPLEDG" else { return .nok("", "QERY", "Table \(table) is not available (this simulator models FPLEDG only)") }
        let known = Set(Self.ledgerColumns.map(\.name))
        let selected = columns == ["*"] ? Self.ledgerColumns.map(\.name) : columns
        guard !selected.isEmpty, !selected.contains(where: \.isEmpty) else { return invalid("no fields selected") }
        if let unknown = selected.first(where: { !known.contains($0) }) { return .nok("", "QERY", "Field \(unknown) does not exist in table FPLEDG") }
        var conditions: [Condition] = []
        if !conditionText.isEmpty {
            for part in conditionText.components(separatedBy: " and ").flatMap({ $0.components(separatedBy: " AND ") }) {
                let term = part.trimmingCharacters(in: .whitespaces)
                guard let op = ["<>", ">=", "<=", "=", ">", "<"].first(where: { term.contains($0) }), let at = term.range(of: op) else {
                    return invalid("cannot read the condition '\(term)'")
                }
                let field = term[..<at.lowerBound].trimmingCharacters(in: .whitespaces).uppercased()
                var value = term[at.upperBound...].trimmingCharacters(in: .whitespaces)
                let quoted = value.hasPrefix("'") && value.hasSuffix("'") && value.count >= 2
                if quoted { value = String(value.dropFirst().dropLast()) }
                if field.hasSuffix("CONO") { return .nok("", "QERY", "Company selection is not supported; the session's company is used") }
                guard known.contains(field) else { return .nok("", "QERY", "Field \(field) does not exist in table FPLEDG") }
                guard quoted || Decimal(string: value) != nil else { return invalid("value \(value) of \(field) must be a number or quoted") }
                conditions.append(Condition(field: field, op: op, value: value, quoted: quoted))
            }
        }
        let separator = fields["SEPC"] ?? ""
        let lengths = Dictionary(uniqueKeysWithValues: Self.ledgerColumns.map { ($0.name, $0.length) })
        func line(_ values: [(String, String)]) -> String {
            if separator.isEmpty {
                return values.map { name, value in value.padding(toLength: max(lengths[name] ?? value.count, value.count), withPad: " ", startingAt: 0) }.joined()
            }
            return values.map(\.1).joined(separator: separator)
        }
        var records: [[String: String]] = []
        if fields["HDRS"] == "1" { records.append(["REPL": line(selected.map { ($0, $0) })]) }
        for row in ledger[company] ?? [] where conditions.allSatisfy({ $0.holds(row) }) {
            records.append(["REPL": line(selected.map { ($0, row[$0] ?? "") })])
        }
        return .records(records)
    }
}
