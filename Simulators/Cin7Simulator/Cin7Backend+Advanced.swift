import Foundation
import SimulatorKit
import SyncEngine

/// Advanced purchases (cin7.md §4.7): one order, then any number of stock receipts, invoices and
/// credit notes, each its own sub-document with a `TaskID` and an `InvoicingAndReceivingNumber`,
/// kept as arrays. `GET /advanced-purchase?ID=` answers every purchase in that array shape —
/// simple ones too, as published readers (Airbyte's `purchases` stream) read them all that way.
extension Cin7Backend {
    static let advancedType = "Advanced Purchase"
    /// The sub-document arrays of an advanced purchase, by URL segment.
    static let advancedDocuments = ["stock": "StockReceived", "invoice": "Invoice", "creditnote": "CreditNote", "put-away": "PutAway"]

    /// `POST /advanced-purchase`: the header as `POST /purchase` takes it, stored as an advanced
    /// purchase whose receipts, invoices and credit notes are arrays.
    func createAdvancedPurchase(_ body: [String: JSONValue]) throws -> JSONValue {
        var header = body
        header["PurchaseType"] = nil
        var fields = try createPurchase(header).objectValue ?? [:]
        fields["Type"] = .string(Self.advancedType)
        fields["PurchaseType"] = body["PurchaseType"] ?? "Advanced"
        for key in Self.advancedDocuments.values { fields[key] = [] }
        purchases[purchases.count - 1] = .object(fields)
        return .object(fields)
    }

    /// `GET /advanced-purchase?ID=`: the purchase with its sub-documents as arrays, each carrying
    /// its `TaskID`; a simple purchase's one document becomes a one-element array (none while it
    /// is NOT AVAILABLE). `CombineAdditionalCharges=true` folds additional charges into the lines.
    func advancedView(_ id: String?, combineCharges: Bool) throws -> JSONValue {
        var fields = try purchase(id).value
        let purchaseID = fields["ID"] ?? .null
        if fields["Type"]?.stringValue != Self.advancedType {
            for key in Self.advancedDocuments.values {
                guard let document = fields[key]?.objectValue, document["Status"]?.stringValue != "NOT AVAILABLE" else {
                    fields[key] = []
                    continue
                }
                var item = document
                item["TaskID"] = purchaseID
                item["InvoicingAndReceivingNumber"] = fields["OrderNumber"] ?? .null
                fields[key] = [.object(item)]
            }
            fields["Type"] = "Simple Purchase"
        }
        if combineCharges, var order = fields["Order"]?.objectValue {
            let charges = order["AdditionalCharges"]?.arrayValue ?? []
            order["Lines"] = .array((order["Lines"]?.arrayValue ?? []) + charges)
            order["AdditionalCharges"] = []
            fields["Order"] = .object(order)
        }
        return .object(fields)
    }

    /// `POST /advanced-purchase/stock|invoice|creditnote|put-away` with `PurchaseID`: a new
    /// sub-document (or, with the `TaskID` of a DRAFT one, its update). The stage rules of simple
    /// purchases apply per purchase: the order authorised first; an invoice on a STOCK purchase
    /// after some stock is received, stock on an INVOICE purchase after some invoice; a credit
    /// note after an authorised invoice. A simple purchase takes none of these.
    func postAdvancedDocument(_ kind: String, _ body: [String: JSONValue]) throws -> JSONValue {
        guard let key = Self.advancedDocuments[kind] else { throw Refusal("Unknown purchase document '\(kind)'.") }
        let (index, purchase) = try self.purchase(body["PurchaseID"]?.stringValue)
        guard purchase["Type"]?.stringValue == Self.advancedType else {
            throw Refusal("Purchase with ID = '\(purchase["ID"]?.stringValue ?? "")' is not an Advanced Purchase; use the /purchase endpoints.")
        }
        let status = body["Status"]?.stringValue ?? "DRAFT"
        guard ["DRAFT", "AUTHORISED"].contains(status) else { throw Refusal("Status should be DRAFT or AUTHORISED.") }
        guard purchase["Order"]?["Status"]?.stringValue == "AUTHORISED" else { throw Refusal("Order should be authorised first.") }
        func authorised(_ documents: String) -> Bool {
            (purchase[documents]?.arrayValue ?? []).contains { $0["Status"]?.stringValue == "AUTHORISED" }
        }
        let approach = purchase["Approach"]?.stringValue ?? "INVOICE"
        if kind == "invoice" && approach == "STOCK" && !authorised("StockReceived") {
            throw Refusal("Stock received should be authorised before invoice for Stock First purchase.")
        }
        if kind == "stock" && approach == "INVOICE" && !authorised("Invoice") {
            throw Refusal("Invoice should be authorised before receiving stock for Invoice First purchase.")
        }
        if kind == "creditnote" && !authorised("Invoice") { throw Refusal("Credit note requires an authorised invoice.") }
        var documents = purchase[key]?.arrayValue ?? []
        var at: Int?
        if let task = body["TaskID"]?.stringValue {
            guard let found = documents.firstIndex(where: { $0["TaskID"]?.stringValue?.lowercased() == task.lowercased() }) else {
                throw Refusal("\(key) with TaskID = '\(task)' not found.")
            }
            guard documents[found]["Status"]?.stringValue == "DRAFT" else {
                throw Refusal("\(key) is \(documents[found]["Status"]?.stringValue ?? "") and cannot be changed.")
            }
            at = found
        }
        var document = try documentBody(kind, body, status: status)
        document["PurchaseID"] = nil
        document["TaskID"] = at.map { documents[$0]["TaskID"] ?? .null } ?? .string(Self.newID())
        document["InvoicingAndReceivingNumber"] = at.map { documents[$0]["InvoicingAndReceivingNumber"] ?? .null }
            ?? .string("\(purchase["OrderNumber"]?.stringValue ?? "PO")-\(documents.count + 1)")
        if let at { documents[at] = .object(document) } else { documents.append(.object(document)) }
        var updated = purchase
        updated[key] = .array(documents)
        let invoiced = (updated["Invoice"]?.arrayValue ?? []).contains { $0["Status"]?.stringValue == "AUTHORISED" }
        let received = (updated["StockReceived"]?.arrayValue ?? []).contains { $0["Status"]?.stringValue == "AUTHORISED" }
        updated["Status"] = .string(invoiced && received ? "COMPLETED" : invoiced ? "INVOICED" : received ? "RECEIVED" : "ORDERED")
        updated["LastUpdatedDate"] = .string(stamp)
        purchases[index] = .object(updated)
        var answer = document
        answer["PurchaseID"] = purchase["ID"] ?? .null
        return .object(answer)
    }
}
