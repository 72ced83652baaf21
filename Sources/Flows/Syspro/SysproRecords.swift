import Foundation
import SyncEngine

/// How a flow reads SYSPRO's purchase orders and AP invoices: the columns that differ between
/// sites and what the destination needs of a PO. Flow 000 splits the GL code into account and
/// cost center and needs one job per PO (a Procore project); flow 004 keeps the GL code whole.
public struct SysproShape: Sendable, Equatable {
    /// `PorMasterHdr` column the PO watermark follows (`OrderEntryDate`; SYSPRO has no `PostDate`).
    public var poWatermarkColumn = "OrderEntryDate"
    /// `ApInvoice` column the invoice watermark follows (`InvoiceDate`, or `JournalDate`).
    public var invoiceWatermarkColumn = "InvoiceDate"
    /// The `ApInvoice` column that names the PO an invoice bills (site-specific; inferred).
    public var invoicePurchaseOrderColumn = "PurchaseOrder"
    /// `MGlCode` is split at its last occurrence into GL account and cost center; `nil` keeps it whole.
    public var glSeparator: String? = "-"
    /// The `PorMasterDetail` column of the job every line must share; `nil`: no job needed.
    public var projectColumn: String? = "MJob"
    /// The destination as messages name it ("Procore", "Cin7").
    public var destination = "Procore"

    public init() {}
}

/// A SYSPRO purchase order, validated from OData rows. Anything that does not fit throws an
/// `.invalidRecord` error naming the PO, the line and the column.
struct SysproPurchaseOrder: Sendable {
    struct Line: Sendable {
        var line: Int
        var stockCode: String
        var description: String
        var glCode: String
        var glAccount: String
        var costCenter: String
        var job: String
        var quantity: Double
        var received: Double
        var price: Double
        var uom: String?
        var amount: Money
    }
    var number: String
    var supplier: String
    var entryDate: String  // yyyy-MM-dd
    var dueDate: String?
    var status: String
    var lines: [Line]
    var job: String
    var total: Money { lines.map(\.amount).reduce(Money.zero, +) }

    static func parse(header: JSONValue, lines rawLines: [JSONValue], shape: SysproShape, latest: Date) throws -> SysproPurchaseOrder {
        guard let row = header.objectValue else { throw SyncError(.invalidRecord, "PorMasterHdr row is a \(header.typeName), not an object") }
        let po = try Field.string(row, "PurchaseOrder", record: "PorMasterHdr row")
        let label = "PO \(po)"
        let supplier = try Field.string(row, "Supplier", record: label)
        let entry = try Field.date(row, shape.poWatermarkColumn, record: label, latest: latest)
        let due = try? Field.date(row, "OrderDueDate", record: label, latest: latest.addingTimeInterval(5 * 365 * 86400))
        let status = row["OrderStatus"]?.stringValue ?? ""
        if status == "*" {
            throw SyncError(.invalidRecord, "\(label) is cancelled in SYSPRO (OrderStatus '*'); cancelled POs are not sent to \(shape.destination)")
        }
        var lines: [Line] = []
        for raw in rawLines {
            guard let l = raw.objectValue else { throw SyncError(.invalidRecord, "\(label): a PorMasterDetail row is a \(raw.typeName)") }
            let number = try Field.integer(l, "Line", record: label)
            let lineLabel = "\(label) line \(number)"
            if l["LineType"]?.stringValue == "6" { continue }  // comment lines carry no amount
            let gl = try Field.string(l, "MGlCode", record: lineLabel)
            var account = gl
            var costCenter = ""
            if let separator = shape.glSeparator {
                guard let split = gl.range(of: separator, options: .backwards) else {
                    throw SyncError(.invalidRecord, "\(lineLabel): GL code '\(gl)' has no cost center segment after '\(separator)'; set glSeparator in the config to the site's GL structure")
                }
                account = String(gl[..<split.lowerBound])
                costCenter = String(gl[split.upperBound...])
            }
            let job = try shape.projectColumn.map { try Field.string(l, $0, record: lineLabel) } ?? ""
            let quantity = try Field.number(l, "MOrderQty", record: lineLabel)
            let price = try Field.number(l, "MPrice", record: lineLabel)
            guard quantity >= 0 else { throw SyncError(.invalidRecord, "\(lineLabel): MOrderQty is negative (\(quantity))") }
            guard price >= 0 else { throw SyncError(.invalidRecord, "\(lineLabel): MPrice is negative (\(price))") }
            let received = (try? Field.number(l, "MReceivedQty", record: lineLabel)) ?? 0
            guard let amount = Money(units: quantity * price) else {
                throw SyncError(.invalidRecord, "\(lineLabel): MOrderQty \(quantity) × MPrice \(price) is beyond any amount \(shape.destination) can hold; correct the line in SYSPRO")
            }
            lines.append(Line(
                line: number, stockCode: l["MStockCode"]?.stringValue ?? "",
                description: l["MStockDes"]?.stringValue ?? (l["MStockCode"]?.stringValue ?? "Line \(number)"),
                glCode: gl, glAccount: account, costCenter: costCenter, job: job,
                quantity: quantity, received: max(0, received), price: price, uom: l["MOrderUom"]?.stringValue, amount: amount))
        }
        guard !lines.isEmpty else { throw SyncError(.invalidRecord, "\(label) has no lines with an amount in PorMasterDetail") }
        guard lines.map(\.amount).reduce(Money.zero, +).isWithinLimit else {
            throw SyncError(.invalidRecord, "\(label): its lines add up to more than any amount \(shape.destination) can hold; correct the quantities or prices in SYSPRO")
        }
        var job = ""
        if shape.projectColumn != nil {
            let jobs = Set(lines.map(\.job))
            guard jobs.count == 1, let only = jobs.first else {
                throw SyncError(.invalidRecord, "\(label) spans jobs \(jobs.sorted().joined(separator: ", ")); a \(shape.destination) commitment belongs to one project — split the PO per job in SYSPRO")
            }
            job = only
        }
        return SysproPurchaseOrder(
            number: po, supplier: supplier, entryDate: entry, dueDate: due, status: status, lines: lines.sorted { $0.line < $1.line }, job: job)
    }
}

/// A SYSPRO AP invoice, validated.
struct SysproInvoice: Sendable {
    var supplier: String
    var invoice: String
    var invoiceDate: String
    var amount: Money
    var purchaseOrder: String
    var key: String { "\(supplier)/\(invoice)" }

    static func parse(_ value: JSONValue, shape: SysproShape, latest: Date) throws -> SysproInvoice {
        guard let row = value.objectValue else { throw SyncError(.invalidRecord, "ApInvoice row is a \(value.typeName), not an object") }
        let supplier = try Field.string(row, "Supplier", record: "ApInvoice row")
        let invoice = try Field.string(row, "Invoice", record: "ApInvoice row of supplier \(supplier)")
        let label = "Invoice \(invoice) of supplier \(supplier)"
        let date = try Field.date(row, shape.invoiceWatermarkColumn, record: label, latest: latest)
        let amount = try Field.number(row, "OrigInvValue", record: label)
        guard amount >= 0 else {
            throw SyncError(.invalidRecord, "\(label): OrigInvValue is negative (\(amount)); credit notes are not sent to \(shape.destination)")
        }
        let po = try Field.string(row, shape.invoicePurchaseOrderColumn, record: label)
        guard let value = Money(units: amount) else {
            throw SyncError(.invalidRecord, "\(label): OrigInvValue \(amount) is beyond any amount \(shape.destination) can hold; correct the invoice in SYSPRO")
        }
        return SysproInvoice(supplier: supplier, invoice: invoice, invoiceDate: date, amount: value, purchaseOrder: po)
    }
}

/// Field readers with messages that name the record, the column and what was found.
enum Field {
    static func string(_ row: [String: JSONValue], _ column: String, record: String) throws -> String {
        switch row[column] {
        case .string(let s) where !s.trimmingCharacters(in: .whitespaces).isEmpty: return s
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case nil: throw SyncError(.invalidRecord, "\(record): column \(column) is missing")
        case .string: throw SyncError(.invalidRecord, "\(record): column \(column) is blank")
        case .some(let other): throw SyncError(.invalidRecord, "\(record): column \(column) is a \(other.typeName), expected text")
        }
    }

    static func number(_ row: [String: JSONValue], _ column: String, record: String) throws -> Double {
        switch row[column] {
        case .number(let n) where n.isFinite: return n
        case .string(let s):
            guard let n = Double(s.trimmingCharacters(in: .whitespaces)), n.isFinite else {
                throw SyncError(.invalidRecord, "\(record): column \(column) is not a number ('\(s.prefix(40))')")
            }
            return n
        case nil: throw SyncError(.invalidRecord, "\(record): column \(column) is missing")
        case .some(let other): throw SyncError(.invalidRecord, "\(record): column \(column) is a \(other.typeName), expected a number")
        }
    }

    /// A whole number such as a line number, checked to fit.
    static func integer(_ row: [String: JSONValue], _ column: String, record: String) throws -> Int {
        let n = try number(row, column, record: record)
        guard n == n.rounded(), abs(n) < 1e9 else {
            throw SyncError(.invalidRecord, "\(record): column \(column) is not a whole number below 10^9 (\(n))")
        }
        return Int(n)
    }

    /// A SYSPRO date (`2025-03-20T00:00:00Z`, with or without time/zone) as `yyyy-MM-dd`, checked
    /// to lie between 1990-01-01 and `latest`.
    static func date(_ row: [String: JSONValue], _ column: String, record: String, latest: Date) throws -> String {
        let text = try string(row, column, record: record)
        let day = String(text.prefix(10))
        guard let date = CalendarDay.date(day) else {
            throw SyncError(.invalidRecord, "\(record): column \(column) is not a date ('\(text.prefix(40))')")
        }
        guard date >= earliest, date <= latest else {
            throw SyncError(.invalidRecord, "\(record): \(column) \(day) is out of range (1990-01-01 … \(CalendarDay.string(latest)))")
        }
        return day
    }

    static let earliest = Date(timeIntervalSince1970: 631_152_000)  // 1990-01-01

}

/// Flow 000's record parsers from outside the module (the `records` fuzz target): each throws a
/// ``SyncError`` for a row it cannot read and never traps, whatever the JSON.
public enum SysproRecordParsing {
    public static func purchaseOrder(header: JSONValue, lines: [JSONValue], latest: Date) throws {
        _ = try SysproPurchaseOrder.parse(header: header, lines: lines, shape: SysproShape(), latest: latest)
    }

    public static func invoice(_ row: JSONValue, latest: Date) throws {
        _ = try SysproInvoice.parse(row, shape: SysproShape(), latest: latest)
    }
}
