import Foundation
import SimulatorKit
import SyncEngine

/// A payment issued against a commitment ("Payments Issued" on the contract; procore.md §16).
struct ProcoreContractPayment: Sendable {
    var id: Int64
    var projectID: Int64
    var companyID: Int64
    var contractID: Int64
    var requisitionID: Int64?
    var amount: Money
    var date: String
    var invoiceNumber: String?
    var checkNumber: String?
    var paymentMethod: String?
    var paymentNumber: Int
    var notes: String?
    var originID: String?
    var createdAt: Date
    var updatedAt: Date
}

/// Contract payments: list (both `project_id` and `contract_id` required), one, create. A payment
/// with an `origin_id` is locked as synced with an ERP (edits and deletes refused with 422); the
/// `origin_id` is unique per company; the amount and the date are required. The commitment's
/// `total_payments` and its full object's `payments_issued` follow. Webhook resource
/// `Contract Payments`.
extension ProcoreBackend {
    func json(_ p: ProcoreContractPayment) -> JSONValue {
        [
            "id": JSONValue(id: p.id), "contract_id": JSONValue(id: p.contractID), "project_id": JSONValue(id: p.projectID),
            "requisition_id": p.requisitionID.map { JSONValue(id: $0) } ?? nil, "amount": .string(p.amount.decimalString),
            "date": .string(p.date), "invoice_number": JSONValue(p.invoiceNumber), "check_number": JSONValue(p.checkNumber),
            "payment_method": JSONValue(p.paymentMethod), "payment_number": .number(Double(p.paymentNumber)), "notes": JSONValue(p.notes),
            "status": nil, "origin_id": JSONValue(p.originID), "origin_code": nil, "origin_data": nil, "attachments": [],
            "created_at": ProcoreTime.string(p.createdAt), "updated_at": ProcoreTime.string(p.updatedAt),
        ]
    }

    func payments(ofContract id: Int64) -> [ProcoreContractPayment] {
        contractPayments.values.filter { $0.contractID == id }.sorted { $0.id < $1.id }
    }

    func listContractPayments(project: ProcoreProject, contractText: String?) throws -> [JSONValue] {
        guard let contractText, !contractText.isEmpty else { throw ProcoreError.badRequest("contract_id is required") }
        let c = try commitment(contractText, project: project)
        return payments(ofContract: c.id).map(json)
    }

    func contractPayment(_ text: String, project: ProcoreProject) throws -> ProcoreContractPayment {
        guard let id = Int64(text), let p = contractPayments[id], p.projectID == project.id else {
            throw ProcoreError.notFound("Contract payment \(text) not found")
        }
        return p
    }

    func createContractPayment(project: ProcoreProject, contractText: String?, body: [String: JSONValue]) throws -> JSONValue {
        guard let contractText else { throw ProcoreError.badRequest("contract_id is required") }
        let c = try commitment(contractText, project: project)
        var errors: [String: [String]] = [:]
        let amount = body["amount"].flatMap { Money.parse($0) }
        if amount == nil { errors["amount"] = ["can't be blank"] }
        let date = body["date"]?.stringValue ?? ""
        if CalendarDay.date(date) == nil { errors["date"] = ["can't be blank"] }
        var requisitionID: Int64?
        if let raw = body["requisition_id"], raw != .null {
            guard let id = Self.int64(raw), let r = requisitions[id], r.commitmentID == c.id else {
                throw ProcoreError.unprocessable(["requisition_id": ["does not belong to this contract"]])
            }
            requisitionID = id
        }
        if !errors.isEmpty { throw ProcoreError.unprocessable(errors) }
        let origin = body["origin_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if let origin, originIndex["contract_payment|\(project.companyID)|\(origin)"] != nil {
            throw ProcoreError.unprocessable(["origin_id": ["has already been taken"]])
        }
        let p = ProcoreContractPayment(
            id: newID(), projectID: project.id, companyID: project.companyID, contractID: c.id, requisitionID: requisitionID,
            amount: amount!, date: date, invoiceNumber: body["invoice_number"]?.stringValue, checkNumber: body["check_number"]?.stringValue,
            paymentMethod: body["payment_method"]?.stringValue, paymentNumber: payments(ofContract: c.id).count + 1,
            notes: body["notes"]?.stringValue, originID: origin, createdAt: now, updatedAt: now)
        contractPayments[p.id] = p
        if let origin { originIndex["contract_payment|\(project.companyID)|\(origin)"] = p.id }
        emit("Contract Payments", "create", id: p.id, company: project.companyID, project: project.id)
        return json(p)
    }

    /// An ERP-synced payment (one with an `origin_id`) cannot be edited or deleted.
    func changeContractPayment(_ id: Int64, body: [String: JSONValue]?) throws -> JSONValue? {
        guard var p = contractPayments[id] else { throw ProcoreError.notFound("Contract payment \(id) not found") }
        if p.originID != nil { throw ProcoreError.unprocessable(["base": ["This payment is synced with an ERP system and cannot be changed"]]) }
        guard let body else {
            contractPayments[id] = nil
            emit("Contract Payments", "delete", id: id, company: p.companyID, project: p.projectID)
            return nil
        }
        if let raw = body["amount"] {
            guard let amount = Money.parse(raw) else { throw ProcoreError.unprocessable(["amount": ["is not a number"]]) }
            p.amount = amount
        }
        if let date = body["date"]?.stringValue { p.date = date }
        if let notes = body["notes"]?.stringValue { p.notes = notes }
        if let check = body["check_number"]?.stringValue { p.checkNumber = check }
        p.updatedAt = now
        contractPayments[id] = p
        emit("Contract Payments", "update", id: id, company: p.companyID, project: p.projectID)
        return json(p)
    }

    /// Every payment of a company (tests, scenarios).
    public func allContractPayments(company: Int64) -> [(contract: Int64, amount: String, originID: String?, invoiceNumber: String?)] {
        contractPayments.values.filter { $0.companyID == company }.sorted { $0.id < $1.id }
            .map { ($0.contractID, $0.amount.decimalString, $0.originID, $0.invoiceNumber) }
    }
}
