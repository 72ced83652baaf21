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

    var reader: SysproReader {
        SysproReader(
            syspro: syspro, shape: settings.shape, overlapDays: settings.overlapDays, pageSize: settings.pageSize,
            lineBatchSize: settings.lineBatchSize, clock: clock)
    }
    var latestDate: Date { reader.latestDate }

    /// One OData page from the watermark minus the overlap window (``SysproReader``).
    public func read(_ entity: FlowEntity, since watermark: String?, cursor: String?) async throws -> SourcePage {
        try await reader.read(entity, since: watermark, cursor: cursor)
    }

    static func invoiceID(supplier: String, invoice: String) -> String { SysproReader.invoiceID(supplier: supplier, invoice: invoice) }
    static func splitInvoiceID(_ id: String) -> (supplier: String, invoice: String)? { SysproReader.splitInvoiceID(id) }
    static func quoted(_ text: String) -> String { SysproReader.quoted(text) }

    /// Reads a held record afresh from SYSPRO (``SysproReader/reread(_:sourceID:payload:)``).
    public func reread(_ entity: FlowEntity, sourceID: String, payload: JSONValue?) async throws -> Reread {
        try await reader.reread(entity, sourceID: sourceID, payload: payload)
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
        return try await reader.sweepOpenOrders(entity, cursor: cursor)
    }

    // MARK: planning and writing in Procore

    public func plan(_ entity: FlowEntity, _ record: SourceRecord, run: RunContext) async throws -> Planned<Plan> {
        if entity == Self.purchaseOrders {
            let order = try SysproPurchaseOrder.parse(
                header: record.payload["header"] ?? .null, lines: record.payload["lines"]?.arrayValue ?? [], shape: settings.shape, latest: latestDate)
            let plan = try await planCommitment(order, overrideBudget: run.overrideBudget)
            return Planned(key: "\(settings.originPrefix)-PO-\(order.number)", plan: Plan(kind: .commitment(order, plan)))
        }
        let invoice = try SysproInvoice.parse(record.payload, shape: settings.shape, latest: latestDate)
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
