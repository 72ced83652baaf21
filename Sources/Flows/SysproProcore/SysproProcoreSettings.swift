import Foundation
import SyncEngine

/// What to do with a commitment line that exceeds the remaining budget of its cost code.
public enum BudgetPolicy: String, Sendable, Codable {
    /// Hold the PO in quarantine until the budget grows or someone replays it with an override.
    case hold
    /// Create the commitment and record a warning in the audit.
    case postAndWarn = "post-and-warn"
    /// Do not read the budget at all.
    case off
}

/// One row of the per-customer mapping table: a SYSPRO (GL account, cost center) pair and the
/// Procore cost code (`full_code`, e.g. `03-300`) it lands on.
public struct CostCodeMapping: Sendable, Codable, Equatable {
    /// Every key a `costCodes` row may hold.
    public static let keys = ["glAccount", "costCenter", "costCode", "project"]

    public var glAccount: String
    public var costCenter: String
    public var costCode: String
    /// Limit the row to one Procore project number (job); `nil` applies everywhere.
    public var project: String?

    public init(glAccount: String, costCenter: String, costCode: String, project: String? = nil) {
        self.glAccount = glAccount
        self.costCenter = costCenter
        self.costCode = costCode
        self.project = project
    }
}

extension SysproProcoreSettings {
    /// How flow 000 reads SYSPRO: GL codes split into account and cost center, one job per PO.
    var shape: SysproShape {
        var shape = SysproShape()
        shape.poWatermarkColumn = poWatermarkColumn
        shape.invoiceWatermarkColumn = invoiceWatermarkColumn
        shape.invoicePurchaseOrderColumn = invoicePurchaseOrderColumn
        shape.glSeparator = glSeparator
        shape.projectColumn = projectColumn
        return shape
    }
}

/// Settings of the SYSPRO → Procore flow (seed 000). Every key has a default except the mapping.
public struct SysproProcoreSettings: Sendable, Codable, Equatable {
    /// Column of `PorMasterHdr` the PO watermark follows. SYSPRO has no `PostDate`; the entry date
    /// is the real column (syspro.md §9).
    public var poWatermarkColumn = "OrderEntryDate"
    /// Column of `ApInvoice` the invoice watermark follows (`JournalDate` is the alternative).
    public var invoiceWatermarkColumn = "InvoiceDate"
    /// SYSPRO dates are date-only and late postings land on past days: every poll re-reads this
    /// many days before the watermark, and cross-references drop what was already written.
    public var overlapDays = 3
    /// Rows per OData page.
    public var pageSize = 200
    /// POs whose lines are fetched in one OData call.
    public var lineBatchSize = 40
    /// `MGlCode` is split at the last occurrence of this separator into GL account and cost
    /// center (`5100-200` → `5100`, `200`).
    public var glSeparator = "-"
    /// The `PorMasterDetail` column holding the job, which is the Procore project number.
    public var projectColumn = "MJob"
    /// The `ApInvoice` column that names the PO an invoice bills (site-specific; inferred).
    public var invoicePurchaseOrderColumn = "PurchaseOrder"
    public var budgetPolicy: BudgetPolicy = .hold
    /// Check each GL code against `GenMaster` over e.net (COMFND) before mapping it.
    public var validateGLAccounts = true
    /// Procore line item type code for commitment lines (`M` = Materials); `nil` sends none.
    public var lineItemTypeCode: String? = "M"
    /// The start of every `origin_id` this integration writes into Procore (`SYSPRO-PO-…`,
    /// `SYSPRO-AP-…`): how it finds its own records again. Two integrations writing into one
    /// Procore company (two SYSPRO companies) need different prefixes, e.g. `SYSPRO-EDU1`, or
    /// their PO numbers would meet; the config loader refuses a clash. Never change it once an
    /// integration has written: records already in Procore carry the old one.
    public var originPrefix = "SYSPRO"
    /// Put before the PO number in the commitment's `number` (and title) in Procore, which
    /// refuses a number used twice in one project: two SYSPRO companies writing into the same
    /// projects need different ones, e.g. `EDU2-` (checked by the config loader with the origin
    /// prefix). Empty by default.
    public var numberPrefix = ""
    /// Hours between reconciliation sweeps of open POs (`OrderStatus` not `9` complete or `*`
    /// cancelled): a change made to a PO after the overlap window (a quantity edited ten days
    /// after entry; `PorMasterHdr` has no change-date column) reaches Procore at the next sweep.
    /// Unchanged POs cost SYSPRO reads only (their version matches); `0` turns sweeps off.
    public var reconcileHours = 24.0
    /// Records whose Procore writes may be in flight at once (1 = one after another). Planning
    /// (mappings, budget) stays one record at a time; this only overlaps waiting for Procore.
    /// It changes the request rate, not the count: Procore's hourly budget is spent the same.
    public var concurrentWrites = 4
    /// The mapping table.
    public var costCodes: [CostCodeMapping] = []

    public init(costCodes: [CostCodeMapping] = []) { self.costCodes = costCodes }

    /// Every key the settings section may hold (the config loader refuses others, with file:line).
    public static let keys = CodingKeys.allCases.map(\.rawValue)

    enum CodingKeys: String, CodingKey, CaseIterable {
        case poWatermarkColumn, invoiceWatermarkColumn, overlapDays, pageSize, lineBatchSize, glSeparator, projectColumn,
            invoicePurchaseOrderColumn, budgetPolicy, validateGLAccounts, lineItemTypeCode, originPrefix, numberPrefix, reconcileHours,
            concurrentWrites, costCodes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SysproProcoreSettings()
        poWatermarkColumn = try c.decodeIfPresent(String.self, forKey: .poWatermarkColumn) ?? d.poWatermarkColumn
        invoiceWatermarkColumn = try c.decodeIfPresent(String.self, forKey: .invoiceWatermarkColumn) ?? d.invoiceWatermarkColumn
        overlapDays = try c.decodeIfPresent(Int.self, forKey: .overlapDays) ?? d.overlapDays
        pageSize = try c.decodeIfPresent(Int.self, forKey: .pageSize) ?? d.pageSize
        lineBatchSize = try c.decodeIfPresent(Int.self, forKey: .lineBatchSize) ?? d.lineBatchSize
        glSeparator = try c.decodeIfPresent(String.self, forKey: .glSeparator) ?? d.glSeparator
        projectColumn = try c.decodeIfPresent(String.self, forKey: .projectColumn) ?? d.projectColumn
        invoicePurchaseOrderColumn = try c.decodeIfPresent(String.self, forKey: .invoicePurchaseOrderColumn) ?? d.invoicePurchaseOrderColumn
        budgetPolicy = try c.decodeIfPresent(BudgetPolicy.self, forKey: .budgetPolicy) ?? d.budgetPolicy
        validateGLAccounts = try c.decodeIfPresent(Bool.self, forKey: .validateGLAccounts) ?? d.validateGLAccounts
        lineItemTypeCode = try c.decodeIfPresent(String.self, forKey: .lineItemTypeCode) ?? d.lineItemTypeCode
        originPrefix = try c.decodeIfPresent(String.self, forKey: .originPrefix) ?? d.originPrefix
        numberPrefix = try c.decodeIfPresent(String.self, forKey: .numberPrefix) ?? d.numberPrefix
        reconcileHours = try c.decodeIfPresent(Double.self, forKey: .reconcileHours) ?? d.reconcileHours
        concurrentWrites = try c.decodeIfPresent(Int.self, forKey: .concurrentWrites) ?? d.concurrentWrites
        costCodes = try c.decodeIfPresent([CostCodeMapping].self, forKey: .costCodes) ?? []
    }

    /// - Throws: `.invalidConfig` naming the key to fix.
    public func validate() throws {
        guard overlapDays >= 0 else { throw SyncError(.invalidConfig, "overlapDays must be 0 or more") }
        guard (1...5000).contains(pageSize) else { throw SyncError(.invalidConfig, "pageSize must be 1…5000 (SYSPRO OData caps pages at 5000)") }
        guard (1...100).contains(lineBatchSize) else { throw SyncError(.invalidConfig, "lineBatchSize must be 1…100") }
        guard (1...16).contains(concurrentWrites) else { throw SyncError(.invalidConfig, "concurrentWrites must be 1…16") }
        guard reconcileHours.isFinite, (0...8760).contains(reconcileHours) else {
            throw SyncError(.invalidConfig, "reconcileHours must be 0 (off) … 8760 hours")
        }
        guard !glSeparator.isEmpty else { throw SyncError(.invalidConfig, "glSeparator must not be empty") }
        guard !originPrefix.isEmpty, originPrefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw SyncError(.invalidConfig, "originPrefix '\(originPrefix)' must be letters, digits, - or _ (it starts every origin_id written into Procore)")
        }
        var seen = Set<String>()
        for row in costCodes {
            let key = "\(row.glAccount)|\(row.costCenter)|\(row.project ?? "*")"
            guard seen.insert(key).inserted else {
                throw SyncError(.invalidConfig, "costCodes maps GL \(row.glAccount) / cost center \(row.costCenter)\(row.project.map { " in project \($0)" } ?? "") twice; keep one row")
            }
        }
    }

    /// The cost code for a pair in a project: a project-specific row wins over a general one.
    public func costCode(gl: String, costCenter: String, project: String) -> String? {
        costCodes.first { $0.glAccount == gl && $0.costCenter == costCenter && $0.project == project }?.costCode
            ?? costCodes.first { $0.glAccount == gl && $0.costCenter == costCenter && $0.project == nil }?.costCode
    }
}
