import Foundation
import SyncEngine

/// Commitment change orders (procore.md §14) and what flow 002 reads beside them: change order
/// packages on a commitment (`GET /rest/v1.0/change_order_packages?project_id=`, one with its line
/// items, and the same objects under `projects/{id}/commitment_change_orders`), and data-set
/// commitments that arrive approved with their schedule of values, change orders and invoices —
/// as a project team leaves them in Procore for the books to pick up. Ids are above 2^32.
extension ProcoreBackend {
    static let changeOrderStatuses = ["draft", "pending", "proceeding", "approved", "rejected", "void"]

    func json(_ co: ProcoreChangeOrder, lines: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": JSONValue(id: co.id), "contract_id": JSONValue(id: co.contractID), "batch_id": nil, "number": .string(co.number),
            "revision": .number(Double(co.revision)), "title": .string(co.title), "description": JSONValue(co.description),
            "status": .string(co.status), "executed": .bool(co.status == "approved"), "paid": false, "private": false,
            "grand_total": .string(co.grandTotal.decimalString), "origin_id": JSONValue(co.originID), "origin_code": nil,
            "due_date": nil, "paid_date": nil, "invoiced_date": nil, "reviewed_at": co.status == "approved" ? ProcoreTime.string(co.updatedAt) : nil,
            "currency_configuration": ["currency_iso_code": "USD"],
            "created_at": ProcoreTime.string(co.createdAt), "updated_at": ProcoreTime.string(co.updatedAt), "deleted_at": nil,
        ]
        // line items of a package: their shape is not published; the fields a commitment line carries (inferred)
        if lines {
            object["line_items"] = .array(co.lines.map { line in
                ["id": JSONValue(id: line.id), "description": .string(line.description), "amount": .string(line.amount.decimalString),
                 "cost_code": costCodeRef(line.costCodeID), "contract_line_item_id": line.contractLineID.map { JSONValue(id: $0) } ?? nil]
            })
        }
        return .object(object)
    }

    func listChangeOrders(project: Int64, contractID: Int64?) -> [JSONValue] {
        changeOrders.values.filter { $0.projectID == project && (contractID == nil || $0.contractID == contractID) }
            .sorted { $0.id < $1.id }.map { json($0, lines: false) }
    }

    func changeOrder(_ text: String, project: ProcoreProject) throws -> ProcoreChangeOrder {
        guard let id = Int64(text), let co = changeOrders[id], co.projectID == project.id else {
            throw ProcoreError.notFound("Change Order Package \(text) not found")
        }
        return co
    }

    /// Adds a change order package on a commitment: `{"number","title","status","line_items":
    /// [{"cost_code":"03-300","description","amount"}]}` (amounts may be negative: a deductive
    /// change). - Returns: its id.
    @discardableResult
    public func addChangeOrder(commitmentID: Int64, seed: JSONValue) throws -> Int64 {
        guard let c = commitments[commitmentID] else { throw ProcoreError.notFound("Purchase Order Contract \(commitmentID) not found") }
        let status = seed["status"]?.stringValue ?? "approved"
        guard Self.changeOrderStatuses.contains(status) else { throw ProcoreError.unprocessable(["status": ["is not included in the list"]]) }
        var lines: [ProcoreChangeOrderLine] = []
        for line in seed["line_items"]?.arrayValue ?? [] {
            let full = line["cost_code"]?.stringValue ?? ""
            guard let code = costCodes.values.first(where: { $0.projectID == c.projectID && $0.fullCode == full }) else {
                throw ProcoreError.unprocessable(["cost_code_id": ["is invalid"]])
            }
            guard let amount = Money.parse(line["amount"]) else { throw ProcoreError.unprocessable(["amount": ["is not a number"]]) }
            nextBigID += 1
            lines.append(ProcoreChangeOrderLine(
                id: nextBigID, costCodeID: code.id, description: line["description"]?.stringValue ?? "", amount: amount,
                contractLineID: c.lines.first { $0.costCodeID == code.id }?.id))
        }
        guard !lines.isEmpty else { throw ProcoreError.unprocessable(["line_items": ["can't be blank"]]) }
        nextBigID += 1
        let number = seed["number"]?.stringValue ?? String(format: "%03d", changeOrders.values.filter { $0.contractID == commitmentID }.count + 1)
        changeOrders[nextBigID] = ProcoreChangeOrder(
            id: nextBigID, projectID: c.projectID, contractID: commitmentID, number: number, revision: 0,
            title: seed["title"]?.stringValue ?? "Change order \(number)", description: seed["description"]?.stringValue, status: status,
            originID: nil, lines: lines, createdAt: now, updatedAt: now)
        emit("Change Order Packages", "create", id: nextBigID, company: c.companyID, project: c.projectID)
        return nextBigID
    }

    /// A change order reviewed in Procore (approved, rejected, void): `updated_at` moves.
    @discardableResult
    public func setChangeOrderStatus(id: Int64, status: String) -> Bool {
        guard var co = changeOrders[id], Self.changeOrderStatuses.contains(status) else { return false }
        co.status = status
        co.updatedAt = now
        changeOrders[id] = co
        if let c = commitments[co.contractID] { emit("Change Order Packages", "update", id: id, company: c.companyID, project: c.projectID) }
        return true
    }

    /// Every change order package: id, commitment, number, status and total (for tests and scenarios).
    public func allChangeOrders() -> [(id: Int64, commitmentID: Int64, number: String, status: String, total: Money)] {
        changeOrders.values.sorted { $0.id < $1.id }.map { ($0.id, $0.contractID, $0.number, $0.status, $0.grandTotal) }
    }

    /// A commitment as a data set brings it: `{"number","title","status","vendor_origin_id",
    /// "line_items":[{"cost_code","description","amount"}], "change_orders":[…],
    /// "requisitions":[{"invoice_number","status","percent"}]}` — lines entered before the status,
    /// invoices claiming `percent` of every line, outside any billing period.
    /// - Returns: the commitment id.
    @discardableResult
    public func seedCommitment(projectID: Int64, seed: JSONValue) throws -> Int64 {
        guard let project = projects[projectID] else { throw ProcoreError.notFound("Project \(projectID) not found") }
        let vendor = seed["vendor_origin_id"]?.stringValue.flatMap { originIndex["vendor|\(project.companyID)|\($0)"] }
        var body: [String: JSONValue] = ["number": seed["number"] ?? nil, "title": seed["title"] ?? nil, "status": "Draft"]
        if let vendor { body["vendor_id"] = JSONValue(id: vendor) }
        body = body.filter { $0.value != .null }
        guard let id = try createCommitment(project: project, body: body)["id"].flatMap(Self.int64) else {
            throw ProcoreError.unprocessable(["base": ["commitment not created"]])
        }
        for line in seed["line_items"]?.arrayValue ?? [] {
            let full = line["cost_code"]?.stringValue ?? ""
            guard let code = costCodes.values.first(where: { $0.projectID == projectID && $0.fullCode == full }) else {
                throw ProcoreError.unprocessable(["cost_code_id": ["is invalid"]])
            }
            _ = try addLine(to: id, body: ["cost_code_id": JSONValue(id: code.id), "description": line["description"] ?? "", "amount": line["amount"] ?? 0])
        }
        if let status = seed["status"]?.stringValue { _ = try updateCommitment(id, body: ["status": .string(status)]) }
        for co in seed["change_orders"]?.arrayValue ?? [] { try addChangeOrder(commitmentID: id, seed: co) }
        for invoice in seed["requisitions"]?.arrayValue ?? [] {
            guard let c = commitments[id] else { break }
            let percent = invoice["percent"]?.doubleValue ?? 100
            nextBigID += 1
            let items = c.lines.map {
                var item = ProcoreContractItem(
                    id: newID(), lineItemID: $0.id, costCodeID: $0.costCodeID, description: $0.description, scheduledValue: $0.amount,
                    position: $0.position)
                item.workCompletedThisPeriod = Money(minor: Int64((Double($0.amount.minor) * percent / 100).rounded()))
                return item
            }
            let r = ProcoreRequisition(
                id: nextBigID, periodID: nil, projectID: projectID, companyID: project.companyID, commitmentID: id,
                number: (requisitionsByCommitment[id]?.count ?? 0) + 1, invoiceNumber: invoice["invoice_number"]?.stringValue,
                status: invoice["status"]?.stringValue ?? "approved", billingDate: CalendarDay.string(now), periodStart: nil, periodEnd: nil,
                originID: nil, originData: nil, items: items, createdAt: now, updatedAt: now)
            requisitions[r.id] = r
            requisitionsByCommitment[id, default: []].append(r.id)
        }
        return id
    }

    /// A subcontractor invoice reviewed (`approved`, `revise_and_resubmit`, …): `updated_at` moves.
    @discardableResult
    public func setRequisitionStatus(id: Int64, status: String) -> Bool {
        guard var r = requisitions[id] else { return false }
        r.status = status
        r.updatedAt = now
        requisitions[id] = r
        return true
    }
}

/// One financial record as flow 002 reads it, for assertions: a commitment, a change order
/// package, a direct cost or a subcontractor invoice.
public struct ProcoreFinancialRecord: Sendable {
    public var kind: String  // commitment | changeOrder | directCost | invoice
    public var id: Int64
    /// The number people use: `PC-1000`, `PC-1000/001`, a direct cost's or invoice's invoice number.
    public var number: String
    public var status: String
    public var total: Money
    public var commitmentID: Int64?
    public var projectID: Int64
}

extension ProcoreBackend {
    public func financialRecords() -> [ProcoreFinancialRecord] {
        var all: [ProcoreFinancialRecord] = commitments.values.sorted { $0.id < $1.id }.map {
            ProcoreFinancialRecord(kind: "commitment", id: $0.id, number: $0.number, status: $0.status, total: $0.grandTotal, commitmentID: nil, projectID: $0.projectID)
        }
        all += changeOrders.values.sorted { $0.id < $1.id }.map {
            ProcoreFinancialRecord(kind: "changeOrder", id: $0.id, number: "\(commitments[$0.contractID]?.number ?? "?")/\($0.number)", status: $0.status,
                                   total: $0.grandTotal, commitmentID: $0.contractID, projectID: $0.projectID)
        }
        all += directCosts.values.sorted { $0.id < $1.id }.map {
            ProcoreFinancialRecord(kind: "directCost", id: $0.id, number: $0.invoiceNumber ?? String($0.id), status: $0.status, total: $0.total,
                                   commitmentID: nil, projectID: $0.projectID)
        }
        all += requisitions.values.sorted { $0.id < $1.id }.map {
            ProcoreFinancialRecord(kind: "invoice", id: $0.id, number: $0.invoiceNumber ?? String($0.id), status: $0.status, total: $0.totalClaimed,
                                   commitmentID: $0.commitmentID, projectID: $0.projectID)
        }
        return all
    }

    /// Adds a direct cost to a project by its number (a scenario step). - Returns: its id.
    public func addDirectCost(projectNumber: String, seed: JSONValue) throws -> Int64 {
        guard let project = projectID(number: projectNumber) else { throw ProcoreError.notFound("Project \(projectNumber) not found") }
        return try addDirectCost(projectID: project, seed: seed)
    }
}

struct ProcoreChangeOrderLine: Sendable {
    var id: Int64
    var costCodeID: Int64
    var description: String
    var amount: Money
    var contractLineID: Int64?
}

struct ProcoreChangeOrder: Sendable {
    var id: Int64
    var projectID: Int64
    var contractID: Int64
    var number: String
    var revision: Int
    var title: String
    var description: String?
    var status: String
    var originID: String?
    var lines: [ProcoreChangeOrderLine]
    var createdAt: Date
    var updatedAt: Date
    var grandTotal: Money { lines.reduce(.zero) { $0 + $1.amount } }
}
