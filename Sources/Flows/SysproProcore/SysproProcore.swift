import Foundation
import Logging
import ProcoreClient
import SyncEngine
import SysproClient

/// Flow 000 on the flow runtime: SYSPRO purchase orders and AP invoices into Procore commitments
/// and requisitions. ``FlowRuntime`` runs it; `SysproProcoreFlow` is that runtime.
public typealias SysproProcoreFlow = FlowRuntime<SysproProcore>

extension FlowRuntime where Definition == SysproProcore {
    /// Flow 000 wired to its two clients and the store.
    public init(
        settings: SysproProcoreSettings, syspro: SysproClient, procore: ProcoreClient, store: any SyncStateStore,
        clock: any SyncClock, logger: Logger, scope: String? = nil, holder: String = FlowRuntimeDefaults.processHolder
    ) {
        self.init(
            definition: SysproProcore(settings: settings, syspro: syspro, procore: procore, clock: clock), store: store, clock: clock,
            logger: logger, scope: scope, holder: holder)
    }
}

/// What flow 000 says, and only that: its two entities, how to read them from SYSPRO's OData
/// (`$skip` paging, lines of a batch of POs in one call), and how to plan and write each in
/// Procore (``ProcoreWriter``). Rules: a PO's lines map (GL account, cost center) to a cost code
/// and fit the budget; an invoice waits for its PO.
public actor SysproProcore: FlowDefinition {
    /// A record checked and ready to write.
    public struct Plan: Sendable {
        enum Kind: Sendable {
            case commitment(SysproPurchaseOrder, CommitmentPlan)
            case requisition(SysproInvoice, on: CommitmentRef)
        }
        let kind: Kind
    }

    public static let name = "syspro-procore"
    static let purchaseOrders = FlowEntity(
        name: "PorMasterHdr", label: "purchaseOrders", noun: "PO", source: "syspro", destination: "procore", sourceName: "SYSPRO")
    static let invoices = FlowEntity(
        name: "ApInvoice", label: "invoices", noun: "invoice", source: "syspro", destination: "procore", sourceName: "SYSPRO")
    /// The labels scenario `summary:` assertions may name.
    public static let entityLabels = [purchaseOrders.label, invoices.label]

    /// POs before invoices, so an invoice waiting for its PO goes through in the same cycle.
    public nonisolated var entities: [FlowEntity] { [Self.purchaseOrders, Self.invoices] }

    let settings: SysproProcoreSettings
    let syspro: SysproClient
    let procore: ProcoreClient
    let clock: any SyncClock

    // Per-cycle caches (cleared when a cycle opens).
    var projectsByNumber: [String: (id: Int64, name: String)] = [:]
    var vendorsBySupplier: [String: Int64] = [:]
    var costCodesByProject: [Int64: [String: Int64]] = [:]
    var budgetByProject: [Int64: [Int64: (revised: Money, committed: Money)]] = [:]
    var glValid: [String: Bool] = [:]
    var lineItemTypeID: Int64??

    public init(settings: SysproProcoreSettings, syspro: SysproClient, procore: ProcoreClient, clock: any SyncClock) {
        self.settings = settings
        self.syspro = syspro
        self.procore = procore
        self.clock = clock
    }

    /// A fresh Procore token and a SYSPRO logon each cycle, as the seed asks.
    public func open() async throws {
        projectsByNumber = [:]
        vendorsBySupplier = [:]
        costCodesByProject = [:]
        budgetByProject = [:]
        glValid = [:]
        lineItemTypeID = nil
        try await procore.refreshToken()
        try await syspro.logon()
    }

    public func close() async { await syspro.logoff() }

    // MARK: reading SYSPRO

    /// The latest date a source record may carry: "today" plus a day of slack for time zones.
    var latestDate: Date { clock.now().addingTimeInterval(86400) }

    /// One OData page from the watermark minus the overlap window (SYSPRO dates are date-only and
    /// late postings land on past days), ordered by the watermark column then the key.
    ///
    /// The cursor is the `$skip` of the next page. A server that caps pages below `$top`
    /// (syspro.md: whether SYSPRO adds next links is unknown) answers a short page with an
    /// `@odata.nextLink`: that is not the end, the next page starts after the rows received
    /// (the order is stable, `$orderby` ends with the key). Without a link, a short page is the last.
    public func read(_ entity: FlowEntity, since watermark: String?, cursor: String?) async throws -> SourcePage {
        let isPO = entity == Self.purchaseOrders
        let column = isPO ? settings.poWatermarkColumn : settings.invoiceWatermarkColumn
        let from = watermark.flatMap { CalendarDay.date($0) }
            .map { CalendarDay.string($0.addingTimeInterval(-Double(settings.overlapDays) * 86400)) }
        let skip = cursor.flatMap(Int.init) ?? 0
        let page = try await syspro.odata(
            entity.name, filter: from.map { "\(column) ge \($0)T00:00:00Z" }, orderBy: "\(column),\(isPO ? "PurchaseOrder" : "Supplier,Invoice")",
            top: settings.pageSize, skip: skip)
        let more = !page.rows.isEmpty && (page.rows.count >= settings.pageSize || page.nextLink != nil)
        return try await records(entity, rows: page.rows, next: more ? String(skip + page.rows.count) : nil)
    }

    /// Source records of one page of rows; PO lines are fetched for a batch of headers at a time.
    func records(_ entity: FlowEntity, rows: [JSONValue], next: String?) async throws -> SourcePage {
        guard entity == Self.purchaseOrders else {
            return SourcePage(records: rows.map { invoiceRecord($0) }, next: next)
        }
        var records: [SourceRecord] = []
        for batch in stride(from: 0, to: rows.count, by: settings.lineBatchSize) {
            let headers = Array(rows[batch..<min(rows.count, batch + settings.lineBatchSize)])
            let lines = try await fetchLines(for: headers)
            records += headers.map { header in poRecord(header, lines: header["PurchaseOrder"]?.stringValue.flatMap { lines[$0] } ?? []) }
        }
        return SourcePage(records: records, next: next)
    }

    func poRecord(_ header: JSONValue, lines: [JSONValue]) -> SourceRecord {
        if UnreadableRow(payload: header) != nil {  // kept as the digest of its bytes: the runtime holds it
            return SourceRecord(id: SourceRecord.unreadableID(entity: Self.purchaseOrders.name, row: header), payload: header, watermark: nil)
        }
        return SourceRecord(
            id: header["PurchaseOrder"]?.stringValue ?? SourceRecord.unreadableID(entity: Self.purchaseOrders.name, row: header),
            payload: ["header": header, "lines": .array(lines)], watermark: watermarkDay(header[settings.poWatermarkColumn]))
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
            id = SourceRecord.unreadableID(entity: Self.invoices.name, row: row)
        }
        return SourceRecord(id: id, payload: row, watermark: watermarkDay(row[settings.invoiceWatermarkColumn]))
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

    /// Reads a held record afresh from SYSPRO (it may have been fixed there). A record whose key
    /// could not be read is retried from the stored payload.
    ///
    /// SYSPRO's OData offers no read by key that answers 404 (syspro.md §9), only a filter, and an
    /// empty answer to a filter is no proof of deletion: it is ``Reread/notFound(_:)`` and the
    /// record stays held. An error reading it leaves it held too (the runtime goes on).
    public func reread(_ entity: FlowEntity, sourceID: String, payload: JSONValue?) async throws -> Reread {
        let isPO = entity == Self.purchaseOrders
        let rows: [JSONValue]
        let filter: String
        if sourceID.hasPrefix("?") {
            guard let payload else { return .notFound("the stored copy of an unreadable row (none was kept)") }
            return .found(isPO ? poRecord(payload["header"] ?? payload, lines: payload["lines"]?.arrayValue ?? []) : invoiceRecord(payload))
        } else if isPO {
            filter = "PurchaseOrder eq \(Self.quoted(sourceID))"
        } else {
            guard let key = Self.splitInvoiceID(sourceID) else {
                throw SyncError(.invalidRecord, "held invoice key \(sourceID) is not supplier/invoice")
            }
            filter = "Supplier eq \(Self.quoted(key.supplier)) and Invoice eq \(Self.quoted(key.invoice))"
        }
        rows = try await syspro.odata(entity.name, filter: filter).rows
        guard let row = rows.first else { return .notFound("\(entity.name)?$filter=\(filter)") }
        guard isPO else { return .found(invoiceRecord(row)) }
        let lines = try await fetchLines(for: [row])
        return .found(poRecord(row, lines: lines.values.first ?? []))
    }

    /// Records of a page written at once (``SysproProcoreSettings/concurrentWrites``).
    public func concurrency(_ entity: FlowEntity) -> Int { settings.concurrentWrites }

    /// The invoices of one PO go one after another, in page order: Procore numbers the
    /// requisitions of a commitment in the order they are created. POs are independent.
    public func lane(_ entity: FlowEntity, _ record: SourceRecord) -> String? {
        guard entity == Self.invoices else { return nil }
        return record.payload[settings.invoicePurchaseOrderColumn]?.scalarText
    }

    /// POs are swept every ``SysproProcoreSettings/reconcileHours``; invoices are not (an AP
    /// invoice is not edited in place in SYSPRO: a correction is a new document).
    public func sweepInterval(_ entity: FlowEntity) -> TimeInterval? {
        entity == Self.purchaseOrders && settings.reconcileHours > 0 ? settings.reconcileHours * 3600 : nil
    }

    /// Open POs (`OrderStatus` neither `9` complete nor `*` cancelled), by key, `$skip` paging.
    public func sweep(_ entity: FlowEntity, cursor: String?) async throws -> SourcePage {
        guard entity == Self.purchaseOrders else { return SourcePage(records: [], next: nil) }
        let skip = cursor.flatMap(Int.init) ?? 0
        let page = try await syspro.odata(
            entity.name, filter: "OrderStatus ne '9' and OrderStatus ne '*'", orderBy: "PurchaseOrder", top: settings.pageSize, skip: skip)
        let more = !page.rows.isEmpty && (page.rows.count >= settings.pageSize || page.nextLink != nil)
        return try await records(entity, rows: page.rows, next: more ? String(skip + page.rows.count) : nil)
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    // MARK: planning and writing in Procore

    public func plan(_ entity: FlowEntity, _ record: SourceRecord, run: RunContext) async throws -> Planned<Plan> {
        if entity == Self.purchaseOrders {
            let order = try SysproPurchaseOrder.parse(
                header: record.payload["header"] ?? .null, lines: record.payload["lines"]?.arrayValue ?? [], settings: settings, latest: latestDate)
            let plan = try await planCommitment(order, overrideBudget: run.overrideBudget)
            return Planned(key: "\(settings.originPrefix)-PO-\(order.number)", plan: Plan(kind: .commitment(order, plan)))
        }
        let invoice = try SysproInvoice.parse(record.payload, settings: settings, latest: latestDate)
        guard let destination = try await run.destinationID(entity: Self.purchaseOrders.name, sourceID: invoice.purchaseOrder),
            let target = CommitmentRef(destination)
        else {
            throw SyncError(.waitingForDependency, "\(record.id): invoice waits for PO \(invoice.purchaseOrder), which has not reached Procore yet (see `ml-connector audit --source-id \(invoice.purchaseOrder)`). It goes through by itself once the PO lands.")
        }
        return Planned(key: "\(settings.originPrefix)-AP-\(invoice.supplier)-\(invoice.invoice)", plan: Plan(kind: .requisition(invoice, on: target)))
    }

    public func write(_ entity: FlowEntity, _ planned: Planned<Plan>, run: RunContext) async throws -> Written {
        switch planned.plan.kind {
        case .commitment(let order, let plan): try await writeCommitment(order, plan: plan, originID: planned.key, previous: planned.previous)
        case .requisition(let invoice, let target): try await writeRequisition(invoice, on: target, originID: planned.key, previous: planned.previous)
        }
    }
}

/// Where a PO landed: `projectID:commitmentID` in the cross-reference.
struct CommitmentRef: Sendable {
    var projectID: Int64
    var commitmentID: Int64
    init(projectID: Int64, commitmentID: Int64) {
        self.projectID = projectID
        self.commitmentID = commitmentID
    }
    init?(_ text: String) {
        let parts = text.split(separator: ":").compactMap { Int64($0) }
        guard parts.count == 2 else { return nil }
        self.init(projectID: parts[0], commitmentID: parts[1])
    }
    var text: String { "\(projectID):\(commitmentID)" }
}

extension CycleSummary {
    /// Flow 000's PO counts.
    public var purchaseOrders: EntityCounts { self[SysproProcore.purchaseOrders.label] }
    /// Flow 000's invoice counts.
    public var invoices: EntityCounts { self[SysproProcore.invoices.label] }
}
