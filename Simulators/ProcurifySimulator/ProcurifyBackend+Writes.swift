import Foundation
import SimulatorKit
import SyncEngine

/// What flow 001 needs from Procurify beyond the reads (procurify.md §§4, 6–8): purchase orders
/// that come into being only when a requisition is approved and purchased (a simulator operation —
/// the API has no PO create), PO revisions after purchase that move `last_modified`, bill status
/// changes, vendor and department writes, and payments read-only.
extension ProcurifyBackend {
    static let stamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    var nowText: String { clock.now().formatted(Self.stamp) }

    /// Every purchase order as the detail route answers it, in `procurify_PO` order.
    public var allPurchaseOrders: [JSONValue] { purchaseOrders }
    /// Every bill in its detail shape, in the order they were entered.
    public var allBills: [JSONValue] { bills }

    /// A requisition approved and purchased in Procurify: its PO appears with the next
    /// `procurify_PO`, a fresh `uuid`, state 0 (purchased) and `date`/`last_modified` now. `po`
    /// carries the PO fields (`pref_vendor`, `vendor_name`, `currency`, …) and `order_items`.
    /// - Returns: the PO as the detail route answers it.
    @discardableResult
    public func purchaseRequisition(_ po: JSONValue) -> JSONValue {
        let number = (purchaseOrders.compactMap { $0["procurify_PO"]?.doubleValue }.max() ?? 1_000) + 1
        var fields = po.objectValue ?? [:]
        let now = nowText
        fields["procurify_PO"] = .number(number)
        fields["number"] = .string(String(Int(number)))
        fields["uuid"] = .string(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
        fields["state"] = 0
        fields["version"] = 1
        fields["most_recent_version"] = 1
        fields["date"] = .string(now)
        fields["last_modified"] = .string(now)
        fields["fulfilment_status"] = fields["fulfilment_status"] ?? "empty"
        let nextItem = (purchaseOrders.flatMap { $0["order_items"]?.arrayValue ?? [] }.compactMap { $0["id"]?.doubleValue }.max() ?? 5_000) + 1
        fields["order_items"] = .array((po["order_items"]?.arrayValue ?? []).enumerated().map { index, item in
            var line = item.objectValue ?? [:]
            line["id"] = .number(nextItem + Double(index))
            line["purchase_order"] = .number(number)
            line["last_modified"] = .string(now)
            line["po_created_date"] = .string(now)
            return .object(line)
        })
        let saved = JSONValue.object(fields)
        purchaseOrders.append(saved)
        return saved
    }

    /// A PO revised after purchase (Procurify's "revise" flow): header fields and the items given
    /// by `id` change, new items (no `id`) are added, the version goes up and `last_modified` moves
    /// to now — what a poll on `modified_date_0` sees. - Returns: whether the PO exists.
    @discardableResult
    public func revisePurchaseOrder(number: Int, changes: [String: JSONValue], items: [JSONValue] = []) -> Bool {
        guard let index = purchaseOrders.firstIndex(where: { $0["procurify_PO"]?.doubleValue == Double(number) }) else { return false }
        var po = purchaseOrders[index].objectValue ?? [:]
        let now = nowText
        for (key, value) in changes where !["procurify_PO", "uuid", "order_items"].contains(key) { po[key] = value }
        var lines = po["order_items"]?.arrayValue ?? []
        var nextItem = (purchaseOrders.flatMap { $0["order_items"]?.arrayValue ?? [] }.compactMap { $0["id"]?.doubleValue }.max() ?? 5_000) + 1
        for item in items {
            if let id = item["id"]?.doubleValue, let at = lines.firstIndex(where: { $0["id"]?.doubleValue == id }) {
                var line = lines[at].objectValue ?? [:]
                line.merge(item.objectValue ?? [:]) { _, new in new }
                line["last_modified"] = .string(now)
                lines[at] = .object(line)
            } else {
                var line = item.objectValue ?? [:]
                line["id"] = .number(nextItem)
                line["purchase_order"] = .number(Double(number))
                line["last_modified"] = .string(now)
                line["po_created_date"] = po["date"] ?? .string(now)
                nextItem += 1
                lines.append(.object(line))
            }
        }
        po["order_items"] = .array(lines)
        po["version"] = .number((po["version"]?.doubleValue ?? 1) + 1)
        po["most_recent_version"] = po["version"]
        po["last_modified"] = .string(now)
        purchaseOrders[index] = .object(po)
        return true
    }

    /// A bill's approval state changing (procurify.md §6.1 statuses), `last_modified_datetime` now.
    @discardableResult
    public func setBillStatus(invoiceNumber: String, status: Int) -> Bool {
        guard let index = bills.firstIndex(where: { $0["invoice_number"]?.stringValue == invoiceNumber }) else { return false }
        var bill = bills[index].objectValue ?? [:]
        bill["status"] = .number(Double(status))
        bill["last_modified_datetime"] = .string(nowText)
        bills[index] = .object(bill)
        return true
    }

    /// Adds a bill (the detail shape of §6.2) as Procurify would after an AP clerk entered it.
    public func addBill(_ bill: JSONValue) {
        var fields = bill.objectValue ?? [:]
        fields["id"] = fields["id"] ?? .number((bills.compactMap { $0["id"]?.doubleValue }.max() ?? 700) + 1)
        fields["uuid"] = fields["uuid"] ?? .string(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
        fields["last_modified_datetime"] = .string(nowText)
        bills.append(.object(fields))
    }

    /// A DRF validation refusal: `{"field": ["message"]}` with 400.
    struct Invalid: Error { var fields: [String: [String]] }

    /// `POST /api/v3/vendors/` (201) and `PUT|PATCH /api/v3/vendors/{id}/`: `name` (≤150), `email`
    /// (an array) and `type` required on create and PUT; `external_id` ≤100; `dateModified` set.
    public func saveVendor(_ body: [String: JSONValue], id: String?, partial: Bool) throws -> JSONValue {
        var vendors = lists["/api/v3/vendors"] ?? []
        var existing: [String: JSONValue] = [:]
        var at: Int?
        if let id {
            guard let index = vendors.firstIndex(where: { $0["id"]?.scalarText == id }) else { throw Invalid(fields: ["detail": ["Not found."]]) }
            at = index
            existing = vendors[index].objectValue ?? [:]
        }
        var errors: [String: [String]] = [:]
        if !partial {
            for field in ["name", "email", "type"] where body[field] == nil { errors[field] = ["This field is required."] }
        }
        if let name = body["name"] {
            if (name.stringValue ?? "").trimmingCharacters(in: .whitespaces).isEmpty { errors["name"] = ["This field may not be blank."] }
            if (name.stringValue ?? "").count > 150 { errors["name"] = ["Ensure this field has no more than 150 characters."] }
        }
        if let email = body["email"], email.arrayValue == nil { errors["email"] = ["Expected a list of items but got type \"str\"."] }
        if let external = body["external_id"]?.stringValue, external.count > 100 { errors["external_id"] = ["Ensure this field has no more than 100 characters."] }
        if let type = body["type"], !(1...7).contains(Int(type.doubleValue ?? 0)) { errors["type"] = ["\"\(type.scalarText)\" is not a valid choice."] }
        guard errors.isEmpty else { throw Invalid(fields: errors) }
        var vendor = partial ? existing : existing.filter { ["id"].contains($0.key) }
        vendor.merge(body.filter { $0.key != "id" }) { _, new in new }
        vendor["active"] = vendor["active"] ?? true
        vendor["dateModified"] = .string(nowText)
        if let at {
            vendors[at] = .object(vendor)
        } else {
            vendor["id"] = .number((vendors.compactMap { $0["id"]?.doubleValue }.max() ?? 0) + 1)
            vendors.append(.object(vendor))
        }
        lists["/api/v3/vendors"] = vendors
        return .object(vendor)
    }

    /// `POST /api/v3/departments/` and `PUT /api/v3/departments/{id}/`: `branch` (a location id)
    /// and `name` required; `external_id` ≤100.
    func saveDepartment(_ body: [String: JSONValue], id: String?) throws -> JSONValue {
        var departments = lists["/api/v3/departments"] ?? []
        var errors: [String: [String]] = [:]
        if body["branch"]?.doubleValue == nil { errors["branch"] = ["This field is required."] }
        if (body["name"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces).isEmpty { errors["name"] = ["This field is required."] }
        if let external = body["external_id"]?.stringValue, external.count > 100 { errors["external_id"] = ["Ensure this field has no more than 100 characters."] }
        guard errors.isEmpty else { throw Invalid(fields: errors) }
        var department: [String: JSONValue] = [
            "name": body["name"]!, "external_id": body["external_id"] ?? .null, "active": body["active"] ?? true,
            "branch": ["id": body["branch"]!, "name": "HQ", "headquarter": true], "punchout_email": body["punchout_email"] ?? .null,
        ]
        if let id {
            guard let at = departments.firstIndex(where: { $0["id"]?.scalarText == id }) else { throw Invalid(fields: ["detail": ["Not found."]]) }
            department["id"] = departments[at]["id"]
            departments[at] = .object(department)
        } else {
            department["id"] = .number((departments.compactMap { $0["id"]?.doubleValue }.max() ?? 0) + 1)
            departments.append(.object(department))
        }
        lists["/api/v3/departments"] = departments
        return .object(department)
    }
}
