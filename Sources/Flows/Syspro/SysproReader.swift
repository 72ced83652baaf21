import Foundation
import SyncEngine
import SysproClient

/// Reading SYSPRO's purchase orders (`PorMasterHdr` with their `PorMasterDetail` lines) and AP
/// invoices (`ApInvoice`) over OData, for every flow whose source is SYSPRO: pages from a
/// watermark, held records read again, open POs swept.
///
/// The entity's ``FlowEntity/name`` is the table: `PorMasterHdr` or `ApInvoice`.
struct SysproReader: Sendable {
    static let purchaseOrderTable = "PorMasterHdr"
    static let invoiceTable = "ApInvoice"

    let syspro: SysproClient
    let shape: SysproShape
    /// Every poll re-reads this many days before the watermark (SYSPRO dates are date-only and
    /// late postings land on past days); cross-references drop what was already written.
    let overlapDays: Int
    /// Rows per OData page; POs whose lines are fetched in one call.
    let pageSize: Int
    let lineBatchSize: Int
    let clock: any SyncClock

    /// The latest date a source record may carry: "today" plus a day of slack for time zones.
    var latestDate: Date { clock.now().addingTimeInterval(86400) }

    /// One OData page from the watermark minus the overlap window, ordered by the watermark column
    /// then the key.
    ///
    /// The cursor is the `$skip` of the next page. A server that caps pages below `$top`
    /// (syspro.md: whether SYSPRO adds next links is unknown) answers a short page with an
    /// `@odata.nextLink`: that is not the end, the next page starts after the rows received
    /// (the order is stable, `$orderby` ends with the key). Without a link, a short page is the last.
    func read(_ entity: FlowEntity, since watermark: String?, cursor: String?) async throws -> SourcePage {
        let isPO = entity.name == Self.purchaseOrderTable
        let column = isPO ? shape.poWatermarkColumn : shape.invoiceWatermarkColumn
        let from = watermark.flatMap { CalendarDay.date($0) }
            .map { CalendarDay.string($0.addingTimeInterval(-Double(overlapDays) * 86400)) }
        let skip = cursor.flatMap(Int.init) ?? 0
        let page = try await syspro.odata(
            entity.name, filter: from.map { "\(column) ge \($0)T00:00:00Z" }, orderBy: "\(column),\(isPO ? "PurchaseOrder" : "Supplier,Invoice")",
            top: pageSize, skip: skip)
        let more = !page.rows.isEmpty && (page.rows.count >= pageSize || page.nextLink != nil)
        return try await records(entity, rows: page.rows, next: more ? String(skip + page.rows.count) : nil)
    }

    /// Source records of one page of rows; PO lines are fetched for a batch of headers at a time.
    func records(_ entity: FlowEntity, rows: [JSONValue], next: String?) async throws -> SourcePage {
        guard entity.name == Self.purchaseOrderTable else {
            return SourcePage(records: rows.map { invoiceRecord($0) }, next: next)
        }
        var records: [SourceRecord] = []
        for batch in stride(from: 0, to: rows.count, by: lineBatchSize) {
            let headers = Array(rows[batch..<min(rows.count, batch + lineBatchSize)])
            let lines = try await fetchLines(for: headers)
            records += headers.map { header in poRecord(header, lines: header["PurchaseOrder"]?.stringValue.flatMap { lines[$0] } ?? []) }
        }
        return SourcePage(records: records, next: next)
    }

    func poRecord(_ header: JSONValue, lines: [JSONValue]) -> SourceRecord {
        if UnreadableRow(payload: header) != nil {  // kept as the digest of its bytes: the runtime holds it
            return SourceRecord(id: SourceRecord.unreadableID(entity: Self.purchaseOrderTable, row: header), payload: header, watermark: nil)
        }
        return SourceRecord(
            id: header["PurchaseOrder"]?.stringValue ?? SourceRecord.unreadableID(entity: Self.purchaseOrderTable, row: header),
            payload: ["header": header, "lines": .array(lines)], watermark: watermarkDay(header[shape.poWatermarkColumn]))
    }

    /// An invoice's key: `supplier/invoice` (``SourceRecord/compositeID(_:)``, so a `/` inside
    /// either part survives the round trip).
    static func invoiceID(supplier: String, invoice: String) -> String { SourceRecord.compositeID([supplier, invoice]) }

    static func splitInvoiceID(_ id: String) -> (supplier: String, invoice: String)? {
        guard let parts = SourceRecord.parts(ofCompositeID: id), parts.count == 2 else { return nil }
        return (parts[0], parts[1])
    }

    func invoiceRecord(_ row: JSONValue) -> SourceRecord {
        let id: String
        if let supplier = row["Supplier"]?.stringValue, let number = row["Invoice"]?.stringValue {
            id = Self.invoiceID(supplier: supplier, invoice: number)
        } else {
            id = SourceRecord.unreadableID(entity: Self.invoiceTable, row: row)
        }
        return SourceRecord(id: id, payload: row, watermark: watermarkDay(row[shape.invoiceWatermarkColumn]))
    }

    /// A record's day for the watermark. Dates that are not dates, or lie beyond "today" (a typo
    /// such as 2099), never move it: one bad record must not make the engine skip every later posting.
    func watermarkDay(_ value: JSONValue?) -> String? {
        guard let text = value?.stringValue else { return nil }
        let day = String(text.prefix(10))
        guard let date = CalendarDay.date(day), date <= latestDate else { return nil }
        return day
    }

    /// The lines of a batch of POs, in one OData call per 5,000 lines.
    func fetchLines(for headers: [JSONValue]) async throws -> [String: [JSONValue]] {
        let numbers = headers.compactMap { $0["PurchaseOrder"]?.stringValue }
        guard !numbers.isEmpty else { return [:] }
        let filter = numbers.map { "PurchaseOrder eq \(Self.quoted($0))" }.joined(separator: " or ")
        var result: [String: [JSONValue]] = [:]
        var skip = 0
        var page = try await syspro.odata("PorMasterDetail", filter: filter, orderBy: "PurchaseOrder,Line", top: 5000)
        var links: Set<String> = []
        while true {
            for row in page.rows {
                if let po = row["PurchaseOrder"]?.stringValue { result[po, default: []].append(row) }
            }
            skip += page.rows.count
            if let link = page.nextLink, links.insert(link).inserted {
                page = try await syspro.odataNext(link, entitySet: "PorMasterDetail")
            } else if page.nextLink == nil, page.rows.count == 5000 {
                page = try await syspro.odata("PorMasterDetail", filter: filter, orderBy: "PurchaseOrder,Line", top: 5000, skip: skip)
            } else {
                return result
            }
        }
    }

    /// The PO as SYSPRO has it now (header and lines), or `nil` when the filter finds none.
    func purchaseOrder(_ number: String) async throws -> SourceRecord? {
        guard let row = try await syspro.odata(Self.purchaseOrderTable, filter: "PurchaseOrder eq \(Self.quoted(number))").rows.first else { return nil }
        return poRecord(row, lines: try await fetchLines(for: [row]).values.first ?? [])
    }

    /// Reads a held record afresh from SYSPRO (it may have been fixed there). A record whose key
    /// could not be read is retried from the stored payload.
    ///
    /// SYSPRO's OData offers no read by key that answers 404 (syspro.md §9), only a filter, and an
    /// empty answer to a filter is no proof of deletion: it is ``Reread/notFound(_:)`` and the
    /// record stays held. An error reading it leaves it held too (the runtime goes on).
    func reread(_ entity: FlowEntity, sourceID: String, payload: JSONValue?) async throws -> Reread {
        let isPO = entity.name == Self.purchaseOrderTable
        if sourceID.hasPrefix("?") {
            guard let payload else { return .notFound("the stored copy of an unreadable row (none was kept)") }
            return .found(isPO ? poRecord(payload["header"] ?? payload, lines: payload["lines"]?.arrayValue ?? []) : invoiceRecord(payload))
        }
        if isPO {
            guard let record = try await purchaseOrder(sourceID) else { return .notFound("\(entity.name)?$filter=PurchaseOrder eq \(Self.quoted(sourceID))") }
            return .found(record)
        }
        guard let key = Self.splitInvoiceID(sourceID) else {
            throw SyncError(.invalidRecord, "held invoice key \(sourceID) is not supplier/invoice")
        }
        let filter = "Supplier eq \(Self.quoted(key.supplier)) and Invoice eq \(Self.quoted(key.invoice))"
        guard let row = try await syspro.odata(entity.name, filter: filter).rows.first else { return .notFound("\(entity.name)?$filter=\(filter)") }
        return .found(invoiceRecord(row))
    }

    /// Open POs (`OrderStatus` neither `9` complete nor `*` cancelled), by key, `$skip` paging.
    func sweepOpenOrders(_ entity: FlowEntity, cursor: String?) async throws -> SourcePage {
        let skip = cursor.flatMap(Int.init) ?? 0
        let page = try await syspro.odata(
            entity.name, filter: "OrderStatus ne '9' and OrderStatus ne '*'", orderBy: "PurchaseOrder", top: pageSize, skip: skip)
        let more = !page.rows.isEmpty && (page.rows.count >= pageSize || page.nextLink != nil)
        return try await records(entity, rows: page.rows, next: more ? String(skip + page.rows.count) : nil)
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}
