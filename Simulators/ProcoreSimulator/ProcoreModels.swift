import Foundation
import SimulatorKit
import SyncEngine

/// Procore's entities as the simulator keeps them. Money is integer cents inside and decimal
/// strings (commitments, requisitions) or JSON numbers (budget rows) on the wire, as Procore types them.
struct ProcoreCompany: Sendable { var id: Int64; var name: String }

struct ProcoreProject: Sendable {
    var id: Int64
    var companyID: Int64
    var name: String
    var projectNumber: String
    var originID: String?
    var active: Bool = true
    var createdAt: Date
}

struct ProcoreVendor: Sendable {
    var id: Int64
    var companyID: Int64
    var name: String
    var originID: String?
    var originCode: String?
    var isActive: Bool = true
    var createdAt: Date
    var updatedAt: Date
}

struct ProcoreCostCode: Sendable {
    var id: Int64
    var projectID: Int64
    var code: String
    var fullCode: String
    var name: String
    var originID: String?
    var createdAt: Date
}

struct ProcoreLineItemType: Sendable { var id: Int64; var name: String; var code: String; var baseType: String }

struct ProcoreBudgetLine: Sendable {
    var id: Int64
    var projectID: Int64
    var costCodeID: Int64
    var lineItemTypeID: Int64
    var originalBudget: Money
    var modifications: Money = .zero
}

struct ProcoreCommitmentLine: Sendable {
    var id: Int64
    var position: Int
    var description: String
    var amount: Money
    var quantity: Double?
    var unitCost: Double?
    var uom: String?
    var costCodeID: Int64
    var lineItemTypeID: Int64?
    var originID: String?
    var createdAt: Date
    var updatedAt: Date
}

struct ProcoreCommitment: Sendable {
    var id: Int64
    var projectID: Int64
    var companyID: Int64
    var number: String
    var title: String
    var status: String
    var vendorID: Int64?
    var description: String?
    var contractDate: String?
    var deliveryDate: String?
    var paymentTerms: String?
    var originID: String?
    var originCode: String?
    var originData: String?
    var lines: [ProcoreCommitmentLine] = []
    var createdAt: Date
    var updatedAt: Date
    var grandTotal: Money { lines.reduce(.zero) { $0 + $1.amount } }
}

struct ProcoreContractItem: Sendable {
    var id: Int64
    var lineItemID: Int64
    var costCodeID: Int64
    var description: String
    var scheduledValue: Money
    var workCompletedThisPeriod: Money = .zero
    var position: Int
    var status: String = "no_action"
}

/// A project's billing period: invoices (requisitions) are made per period, only one period is
/// open at a time, and a commitment takes one invoice per period (procore.md §13, Procore's
/// invoicing guide).
struct ProcoreBillingPeriod: Sendable {
    var id: Int64
    var projectID: Int64
    var startDate: String
    var endDate: String
    var dueDate: String
    var status: String  // open | closed
    var position: Int
    var createdAt: Date
    var updatedAt: Date
}

struct ProcoreRequisition: Sendable {
    var id: Int64
    var periodID: Int64?
    var projectID: Int64
    var companyID: Int64
    var commitmentID: Int64
    var number: Int
    var invoiceNumber: String?
    var status: String
    var billingDate: String?
    var periodStart: String?
    var periodEnd: String?
    var originID: String?
    var originData: String?
    var items: [ProcoreContractItem]
    var createdAt: Date
    var updatedAt: Date
    var totalClaimed: Money { items.reduce(.zero) { $0 + $1.workCompletedThisPeriod } }
}

struct ProcoreToken: Sendable {
    var clientID: String
    var issuedAt: Date
    var expiresAt: Date
    var revoked = false
}

/// A registered API client (a Developer Managed Service Account).
public struct ProcoreApp: Sendable, Codable, Equatable {
    public var clientID: String
    public var clientSecret: String
    /// The companies that installed the app.
    public var companyIDs: [Int64]
    public init(clientID: String, clientSecret: String, companyIDs: [Int64]) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.companyIDs = companyIDs
    }
}

enum ProcoreTime {
    static func string(_ date: Date) -> JSONValue { .string(SimDates.seconds(date)) }
    /// Webhook timestamps carry microseconds: `2026-03-02T14:05:09.246562Z`.
    static func microseconds(_ date: Date) -> String { SimDates.microseconds(date) }
}

extension JSONValue {
    init(_ optional: String?) { self = optional.map { .string($0) } ?? .null }
    init(id: Int64?) { self = id.map { .number(Double($0)) } ?? .null }
}
