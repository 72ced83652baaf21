import Crypto
import Foundation
import Logging
import ProcoreClient
import SyncEngine
import SysproClient

/// What one cycle did, per entity.
public struct EntityCounts: Sendable, Codable, Equatable {
    public var read = 0, created = 0, updated = 0, skipped = 0, held = 0, released = 0, failed = 0
    public init() {}
}

public struct CycleSummary: Sendable, Codable, Equatable {
    public var runID: String
    public var purchaseOrders = EntityCounts()
    public var invoices = EntityCounts()
    /// Problems that stopped part of the cycle (a page that could not be read); the watermark of
    /// that entity did not move.
    public var errors: [String] = []
    /// The first ``maxListed`` warnings (every one is in the audit); ``warningCount`` counts all.
    public var warnings: [String] = []
    public var warningCount = 0
    /// Errors and warnings kept in the summary at most, so a cycle over 100k records stays flat.
    public static let maxListed = 20
    public init(runID: String) { self.runID = runID }
}

/// Named points inside a cycle where a scenario can make the engine stop dead, as a killed
/// process would, to prove that a restart ends in the same destination state as a clean run.
public enum CrashPoint: String, Sendable, Codable, CaseIterable {
    /// The destination record is written; its cross-reference and audit row are not committed.
    case afterDestinationWrite = "after-destination-write"
    /// The cross-reference is committed; the page's watermark has not moved yet.
    case afterCrossReference = "after-cross-reference"
    /// Half of a polled page is processed.
    case midPage = "mid-page"
}

/// Thrown at a ``CrashPoint``; nothing in the flow catches it, like a process that dies there.
public struct SimulatedCrash: Error, CustomStringConvertible {
    public var point: CrashPoint
    public var sourceID: String
    public var description: String { "simulated crash at \(point.rawValue) (record \(sourceID))" }
}

/// Flow 000: SYSPRO purchase orders and AP invoices into Procore commitments and requisitions.
///
/// A cycle: fresh Procore token and SYSPRO logon; retry everything held in quarantine; poll
/// `PorMasterHdr` then `ApInvoice` from the watermark minus the overlap window, page by page,
/// writing as it goes; advance each watermark after a page is fully resolved; log off.
public actor SysproProcoreFlow {
    public static let name = "syspro-procore"
    static let poEntity = "PorMasterHdr"
    static let invoiceEntity = "ApInvoice"

    let settings: SysproProcoreSettings
    let syspro: SysproClient
    let procore: ProcoreClient
    let store: any SyncStateStore
    let clock: any SyncClock
    let logger: Logger

    // Per-cycle caches (cleared at the start of each cycle).
    var projectsByNumber: [String: (id: Int64, name: String)] = [:]
    var vendorsBySupplier: [String: Int64] = [:]
    var costCodesByProject: [Int64: [String: Int64]] = [:]
    var budgetByProject: [Int64: [Int64: (revised: Money, committed: Money)]] = [:]
    var glValid: [String: Bool] = [:]
    var lineItemTypeID: Int64??
    private var summary = CycleSummary(runID: "")
    var overrideBudget = false
    /// Records already handled in this cycle (a held record retried at the start is not handled
    /// again when the overlap window re-reads it).
    private var handled: Set<String> = []
    /// An armed crash: the point, and how many more passes of it to let through first.
    private var crash: (point: CrashPoint, skip: Int)?

    public init(
        settings: SysproProcoreSettings, syspro: SysproClient, procore: ProcoreClient, store: any SyncStateStore,
        clock: any SyncClock, logger: Logger
    ) {
        self.settings = settings
        self.syspro = syspro
        self.procore = procore
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    // MARK: cycle

    /// Arms a crash: the `(skip + 1)`-th time the cycle passes `point`, it throws
    /// ``SimulatedCrash`` and stops. A crash fires once.
    public func armCrash(at point: CrashPoint, skip: Int = 0) { crash = (point, skip) }

    private func crashPoint(_ point: CrashPoint, _ sourceID: String) throws {
        guard let armed = crash, armed.point == point else { return }
        if armed.skip > 0 {
            crash = (point, armed.skip - 1)
            return
        }
        crash = nil
        logger.warning("Simulated crash", metadata: ["sync.run.id": "\(summary.runID)", "crash.point": "\(point.rawValue)"])
        throw SimulatedCrash(point: point, sourceID: sourceID)
    }

    /// Runs one cycle.
    /// - Throws: only when the cycle cannot start (credentials refused); record-level problems go to
    ///   quarantine and page-level ones into ``CycleSummary/errors``.
    public func runCycle(runID: String = UUID().uuidString) async throws -> CycleSummary {
        try await begin(runID: runID)
        var failure: (any Error)?
        do {
            // POs before invoices, so an invoice waiting for its PO goes through in the same cycle.
            try await retryQuarantined(entity: Self.poEntity, filter: nil)
            try await pollPurchaseOrders()
            try await retryQuarantined(entity: Self.invoiceEntity, filter: nil)
            try await pollInvoices()
        } catch let crash as SimulatedCrash {
            throw crash  // a dead process finishes nothing: no logoff, no run summary
        } catch {
            failure = error
        }
        return try await finish(failure: failure)
    }

    /// Releases held records on demand (`ml-connector replay`).
    /// - Parameters:
    ///   - sourceIDs: only these source ids (all held records when empty).
    ///   - overrideBudget: post over-budget POs anyway, with a warning in the audit.
    public func replay(runID: String = UUID().uuidString, sourceIDs: [String], overrideBudget: Bool) async throws -> CycleSummary {
        try await begin(runID: runID)
        self.overrideBudget = overrideBudget
        var failure: (any Error)?
        do {
            let filter = sourceIDs.isEmpty ? nil : Set(sourceIDs)
            try await retryQuarantined(entity: Self.poEntity, filter: filter)
            try await retryQuarantined(entity: Self.invoiceEntity, filter: filter)
        } catch let crash as SimulatedCrash {
            throw crash
        } catch {
            failure = error
        }
        self.overrideBudget = false
        return try await finish(failure: failure)
    }

    private func begin(runID: String) async throws {
        summary = CycleSummary(runID: runID)
        handled = []
        projectsByNumber = [:]
        vendorsBySupplier = [:]
        costCodesByProject = [:]
        budgetByProject = [:]
        glValid = [:]
        lineItemTypeID = nil
        try await store.startRun(RunRecord(id: runID, flow: Self.name, startedAt: clock.now(), status: "running"))
        logger.info("Cycle started", metadata: ["sync.run.id": "\(runID)", "flow": "\(Self.name)"])
        do {
            try await procore.refreshToken()
            try await syspro.logon()
        } catch {
            let text = "\(error)"
            try await store.finishRun(id: runID, at: clock.now(), status: "failed", summary: text)
            throw error
        }
    }

    private func finish(failure: (any Error)?) async throws -> CycleSummary {
        await syspro.logoff()
        if let failure { summary.errors.append("\(failure)") }
        let data = (try? JSONEncoder().encode(summary)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        try await store.finishRun(
            id: summary.runID, at: clock.now(), status: summary.errors.isEmpty ? "succeeded" : "partial", summary: data)
        logger.info(
            "Cycle finished",
            metadata: ["sync.run.id": "\(summary.runID)", "po.created": "\(summary.purchaseOrders.created)",
                       "po.held": "\(summary.purchaseOrders.held)", "invoice.created": "\(summary.invoices.created)",
                       "errors": "\(summary.errors.count)"])
        return summary
    }

    // MARK: polling

    private func windowStart(entity: String) async throws -> String? {
        guard let mark = try await store.watermark(flow: Self.name, entity: entity),
            let date = Field.dayFormatter.date(from: mark)
        else { return nil }
        return Field.dayFormatter.string(from: date.addingTimeInterval(-Double(settings.overlapDays) * 86400))
    }

    /// The latest date a source record may carry: the simulated/real "today" plus a day of slack
    /// for time zones.
    private var latestDate: Date { clock.now().addingTimeInterval(86400) }

    private func pollPurchaseOrders() async throws {
        try await poll(entity: Self.poEntity, column: settings.poWatermarkColumn, keyOrder: "PurchaseOrder", label: "PO") { rows in
            var count = 0
            for batch in stride(from: 0, to: rows.count, by: settings.lineBatchSize) {
                let headers = Array(rows[batch..<min(rows.count, batch + settings.lineBatchSize)])
                let lines = try await fetchLines(for: headers)
                for header in headers {
                    let po = header["PurchaseOrder"]?.stringValue
                    if let po, handled.contains("\(Self.poEntity)|\(po)") { continue }
                    summary.purchaseOrders.read += 1
                    try await processPurchaseOrder(header: header, lines: po.flatMap { lines[$0] } ?? [], replaying: false)
                    try resolved(&count, of: rows.count, po ?? "?")
                }
            }
        }
    }

    private func pollInvoices() async throws {
        try await poll(entity: Self.invoiceEntity, column: settings.invoiceWatermarkColumn, keyOrder: "Supplier,Invoice", label: "invoice") { rows in
            var count = 0
            for row in rows {
                if let supplier = row["Supplier"]?.stringValue, let invoice = row["Invoice"]?.stringValue,
                    handled.contains("\(Self.invoiceEntity)|\(supplier)/\(invoice)")
                {
                    continue
                }
                summary.invoices.read += 1
                try await processInvoice(row, replaying: false)
                try resolved(&count, of: rows.count, row["Invoice"]?.stringValue ?? "?")
            }
        }
    }

    /// Polls one entity set from its watermark minus the overlap window, page by page, ordered by
    /// the watermark column then the key. `handle` resolves every row of a page (written, held or
    /// skipped), calling ``resolved(_:of:_:)`` after each; then the watermark moves to the page's
    /// latest date. A page that cannot be read stops this entity for the cycle, watermark unmoved.
    private func poll(
        entity: String, column: String, keyOrder: String, label: String, handle: ([JSONValue]) async throws -> Void
    ) async throws {
        do {
            let from = try await windowStart(entity: entity)
            let filter = from.map { "\(column) ge \($0)T00:00:00Z" }
            var skip = 0
            while true {
                let page = try await syspro.odata(entity, filter: filter, orderBy: "\(column),\(keyOrder)", top: settings.pageSize, skip: skip)
                if page.rows.isEmpty { break }
                try await handle(page.rows)
                let latest = page.rows.reduce(nil as String?) { laterWatermark($0, $1[column]) }
                try await advanceWatermark(entity: entity, to: latest)
                if page.rows.count < settings.pageSize { break }
                skip += page.rows.count
            }
        } catch let crash as SimulatedCrash {
            throw crash
        } catch {
            summary.errors.append("\(entity): \(error). The \(label) watermark did not move; the next cycle reads the same window again.")
        }
    }

    /// Counts a resolved record of a page; halfway through is the `mid-page` crash point.
    private func resolved(_ count: inout Int, of total: Int, _ sourceID: String) throws {
        count += 1
        if count == total / 2 { try crashPoint(.midPage, sourceID) }
    }

    /// The later of a page's running maximum and a record's date. Dates that are not dates, or lie
    /// beyond "today" (a typo such as 2099), never move the watermark: one bad record must not make
    /// the engine skip every later posting.
    private func laterWatermark(_ current: String?, _ value: JSONValue?) -> String? {
        guard let text = value?.stringValue else { return current }
        let day = String(text.prefix(10))
        guard let date = Field.dayFormatter.date(from: day), date <= latestDate else { return current }
        guard let current else { return day }
        return day > current ? day : current
    }

    /// Moves a watermark forward (never back) once every record of a page is resolved.
    private func advanceWatermark(entity: String, to day: String?) async throws {
        guard let day else { return }
        let current = try await store.watermark(flow: Self.name, entity: entity)
        if current == nil || day > current! {
            try await store.setWatermark(flow: Self.name, entity: entity, value: day, at: clock.now())
        }
    }

    private func fetchLines(for headers: [JSONValue]) async throws -> [String: [JSONValue]] {
        let numbers = headers.compactMap { $0["PurchaseOrder"]?.stringValue }
        guard !numbers.isEmpty else { return [:] }
        let filter = numbers.map { "PurchaseOrder eq '\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: " or ")
        var result: [String: [JSONValue]] = [:]
        var skip = 0
        while true {
            let page = try await syspro.odata("PorMasterDetail", filter: filter, orderBy: "PurchaseOrder,Line", top: 5000, skip: skip)
            for row in page.rows {
                if let po = row["PurchaseOrder"]?.stringValue { result[po, default: []].append(row) }
            }
            if page.rows.count < 5000 { break }
            skip += page.rows.count
        }
        return result
    }

    // MARK: quarantine

    private func retryQuarantined(entity: String, filter: Set<String>?) async throws {
        let held = try await store.quarantined(flow: Self.name, status: .held)
        for entry in held where entry.entity == entity {
            if let filter, !filter.contains(entry.sourceID) { continue }
            handled.insert("\(entry.entity)|\(entry.sourceID)")
            if entry.entity == Self.poEntity {
                summary.purchaseOrders.read += 1
                let rows = try await reread(entry)
                if let header = rows.first {
                    let lines = try await fetchLines(for: [header])
                    try await processPurchaseOrder(header: header, lines: lines.values.first ?? [], replaying: true)
                } else {
                    await dropVanished(entry)
                }
            } else {
                summary.invoices.read += 1
                if let row = try await reread(entry).first {
                    try await processInvoice(row, replaying: true)
                } else {
                    await dropVanished(entry)
                }
            }
        }
    }

    /// Reads a held record afresh from SYSPRO (it may have been fixed there). Records whose key
    /// could not be read are retried from the stored payload.
    private func reread(_ entry: QuarantineEntry) async throws -> [JSONValue] {
        if entry.sourceID.hasPrefix("?") {
            guard let payload = entry.payload, let json = try? JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8)) else { return [] }
            return [json["header"] ?? json]
        }
        let quoted = { (text: String) in "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
        if entry.entity == Self.poEntity {
            return try await syspro.odata(Self.poEntity, filter: "PurchaseOrder eq \(quoted(entry.sourceID))").rows
        }
        let parts = entry.sourceID.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return [] }
        return try await syspro.odata(
            Self.invoiceEntity, filter: "Supplier eq \(quoted(parts[0])) and Invoice eq \(quoted(parts[1]))").rows
    }

    private func dropVanished(_ entry: QuarantineEntry) async {
        let now = clock.now()
        let audit = AuditEntry(
            runID: summary.runID, flow: Self.name, sourceSystem: "syspro", sourceEntity: entry.entity, sourceID: entry.sourceID,
            destinationSystem: "procore", outcome: .skippedDuplicate,
            warning: "no longer in SYSPRO; released from quarantine without writing", startedAt: now, finishedAt: now)
        try? await store.append(audit)
        try? await store.release(flow: Self.name, entity: entry.entity, sourceID: entry.sourceID, at: now)
    }

    // MARK: records

    /// The outcome of writing one record.
    struct Written {
        var outcome: Outcome
        var destinationID: String
        var transformed: JSONValue
        var response: String
        var warning: String?
    }

    private func processPurchaseOrder(header: JSONValue, lines: [JSONValue], replaying: Bool) async throws {
        let started = clock.now()
        let sourceID = header["PurchaseOrder"]?.stringValue ?? "?PorMasterHdr#\(Self.version(header).prefix(12))"
        let payload: JSONValue = ["header": header, "lines": .array(lines)]
        try await guarded(entity: Self.poEntity, sourceID: sourceID, payload: payload, started: started, counts: \.purchaseOrders) {
            let order = try SysproPurchaseOrder.parse(header: header, lines: lines, settings: settings, latest: latestDate)
            let version = Self.version(payload)
            guard let prior = try await prior(Self.poEntity, sourceID, version: version, started: started, counts: \.purchaseOrders) else {
                return
            }
            let originID = "SYSPRO-PO-\(order.number)"
            let plan = try await planCommitment(order)
            let xref = try await intent(Self.poEntity, sourceID, version: version, originID: originID)
            let written = try await writeCommitment(order, plan: plan, originID: originID)
            try await commit(xref, written, payload: payload, prior: prior, started: started, counts: \.purchaseOrders)
        }
    }

    private func processInvoice(_ row: JSONValue, replaying: Bool) async throws {
        let started = clock.now()
        let sourceID: String
        if let supplier = row["Supplier"]?.stringValue, let number = row["Invoice"]?.stringValue {
            sourceID = "\(supplier)/\(number)"
        } else {
            sourceID = "?ApInvoice#\(Self.version(row).prefix(12))"
        }
        try await guarded(entity: Self.invoiceEntity, sourceID: sourceID, payload: row, started: started, counts: \.invoices) {
            let invoice = try SysproInvoice.parse(row, settings: settings, latest: latestDate)
            let version = Self.version(row)
            guard let prior = try await prior(Self.invoiceEntity, sourceID, version: version, started: started, counts: \.invoices) else {
                return
            }
            guard let poRef = try await store.crossReference(flow: Self.name, entity: Self.poEntity, sourceID: invoice.purchaseOrder),
                poRef.state == .done, let target = poRef.destinationID.flatMap(CommitmentRef.init)
            else {
                throw SyncError(.waitingForDependency, "\(sourceID): invoice waits for PO \(invoice.purchaseOrder), which has not reached Procore yet (see `ml-connector audit --source-id \(invoice.purchaseOrder)`). It goes through by itself once the PO lands.")
            }
            let originID = "SYSPRO-AP-\(invoice.supplier)-\(invoice.invoice)"
            let xref = try await intent(Self.invoiceEntity, sourceID, version: version, originID: originID)
            let written = try await writeRequisition(invoice, on: target, originID: originID)
            try await commit(xref, written, payload: row, prior: prior, started: started, counts: \.invoices)
        }
    }

    // MARK: the steps every record shares

    /// Runs a record's processing; whatever it throws (except a simulated crash) holds the record
    /// in quarantine with the reason.
    private func guarded(
        entity: String, sourceID: String, payload: JSONValue, started: Date, counts: WritableKeyPath<CycleSummary, EntityCounts>,
        _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch let crash as SimulatedCrash {
            throw crash
        } catch {
            await hold(error, entity: entity, sourceID: sourceID, payload: payload, started: started, counts: counts)
        }
    }

    /// Where a record stood before this attempt.
    private struct Prior {
        var wasHeld: Bool
        var attempts: Int
    }

    /// - Returns: `nil` when this version of the record was written already (the skip is audited
    ///   and any hold released); otherwise whether it was held and how many attempts it has had.
    private func prior(
        _ entity: String, _ sourceID: String, version: String, started: Date, counts: WritableKeyPath<CycleSummary, EntityCounts>
    ) async throws -> Prior? {
        let previous = try await store.quarantine(flow: Self.name, entity: entity, sourceID: sourceID)
        let wasHeld = previous?.status == .held
        if let xref = try await store.crossReference(flow: Self.name, entity: entity, sourceID: sourceID),
            xref.state == .done, xref.sourceVersion == version
        {
            await record(.skippedDuplicate, entity: entity, sourceID: sourceID, payload: nil, started: started,
                         destinationID: xref.destinationID, counts: counts)
            if wasHeld { try await store.release(flow: Self.name, entity: entity, sourceID: sourceID, at: clock.now()) }
            return nil
        }
        return Prior(wasHeld: wasHeld, attempts: wasHeld ? (previous?.attempts ?? 0) + 1 : 1)
    }

    /// Records the intent to write, before the destination call.
    private func intent(_ entity: String, _ sourceID: String, version: String, originID: String) async throws -> CrossReference {
        let xref = CrossReference(
            flow: Self.name, entity: entity, sourceID: sourceID, sourceVersion: version, idempotencyKey: originID,
            state: .pending, updatedAt: clock.now())
        try await store.recordIntent(xref)
        return xref
    }

    /// Completes the intent with the destination id and writes the audit row, in one transaction.
    private func commit(
        _ pending: CrossReference, _ written: Written, payload: JSONValue, prior: Prior, started: Date,
        counts: WritableKeyPath<CycleSummary, EntityCounts>
    ) async throws {
        try crashPoint(.afterDestinationWrite, pending.sourceID)
        var xref = pending
        xref.destinationID = written.destinationID
        xref.state = .done
        xref.updatedAt = clock.now()
        let audit = AuditEntry(
            runID: summary.runID, flow: Self.name, sourceSystem: "syspro", sourceEntity: xref.entity, sourceID: xref.sourceID,
            sourcePayload: payload.canonicalJSON(), transformedPayload: written.transformed.canonicalJSON(),
            destinationSystem: "procore", destinationID: written.destinationID, destinationResponse: written.response,
            outcome: written.outcome, warning: written.warning, attempts: prior.attempts, startedAt: started, finishedAt: clock.now())
        try await store.complete(xref, audit: audit)
        try crashPoint(.afterCrossReference, xref.sourceID)
        count(written.outcome, counts)
        if prior.wasHeld { summary[keyPath: counts].released += 1 }
        if let warning = written.warning {
            summary.warningCount += 1
            if summary.warnings.count < CycleSummary.maxListed { summary.warnings.append(warning) }
        }
    }

    private func count(_ outcome: Outcome, _ path: WritableKeyPath<CycleSummary, EntityCounts>) {
        switch outcome {
        case .created: summary[keyPath: path].created += 1
        case .updated: summary[keyPath: path].updated += 1
        case .skippedDuplicate: summary[keyPath: path].skipped += 1
        case .held: summary[keyPath: path].held += 1
        case .failed: summary[keyPath: path].failed += 1
        case .released: summary[keyPath: path].released += 1
        }
    }

    private func record(
        _ outcome: Outcome, entity: String, sourceID: String, payload: JSONValue?, started: Date, destinationID: String?,
        counts: WritableKeyPath<CycleSummary, EntityCounts>
    ) async {
        let audit = AuditEntry(
            runID: summary.runID, flow: Self.name, sourceSystem: "syspro", sourceEntity: entity, sourceID: sourceID,
            sourcePayload: payload?.canonicalJSON(), destinationSystem: "procore", destinationID: destinationID, outcome: outcome,
            startedAt: started, finishedAt: clock.now())
        do {
            try await store.append(audit)
        } catch {
            summary.errors.append("could not write the audit row for \(sourceID): \(error)")
        }
        count(outcome, counts)
    }

    /// Puts a record in quarantine with the reason. Retryable problems are `held` (retried every
    /// cycle by themselves); the rest are `failed` (retried too, but need a fix in the source,
    /// the mapping or the destination).
    private func hold(
        _ error: any Error, entity: String, sourceID: String, payload: JSONValue, started: Date,
        counts: WritableKeyPath<CycleSummary, EntityCounts>
    ) async {
        let syncError = (error as? SyncError) ?? SyncError(.unexpectedResponse, "\(error)")
        let outcome: Outcome = syncError.isRetryable ? .held : .failed
        let now = clock.now()
        let attempts = ((try? await store.quarantine(flow: Self.name, entity: entity, sourceID: sourceID))??.attempts ?? 0) + 1
        let entry = QuarantineEntry(
            flow: Self.name, entity: entity, sourceID: sourceID, errorCode: syncError.code.rawValue, reason: syncError.message,
            payload: payload.canonicalJSON(), status: .held, attempts: 1, firstSeenAt: now, lastAttemptAt: now)
        let audit = AuditEntry(
            runID: summary.runID, flow: Self.name, sourceSystem: "syspro", sourceEntity: entity, sourceID: sourceID,
            sourcePayload: payload.canonicalJSON(), destinationSystem: "procore", outcome: outcome,
            errorCode: syncError.code.rawValue, errorText: syncError.message, attempts: attempts, startedAt: started, finishedAt: now)
        do {
            try await store.hold(entry, audit: audit)
        } catch {
            summary.errors.append("could not quarantine \(sourceID): \(error)")
        }
        logger.notice(
            "Record quarantined",
            metadata: ["sync.run.id": "\(summary.runID)", "source.id": "\(sourceID)", "error.code": "\(syncError.code.rawValue)"])
        count(outcome, counts)
    }

    static func version(_ value: JSONValue) -> String {
        SHA256.hash(data: Data(value.canonicalJSON().utf8)).map { String(format: "%02x", $0) }.joined()
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
