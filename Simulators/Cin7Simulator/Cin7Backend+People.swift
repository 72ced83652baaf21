import Foundation
import SimulatorKit
import SyncEngine

/// What a person does in Cin7 Core's screens, for scenarios and tests: the same checks and stamps
/// as the API, without spending the application's minute.
extension Cin7Backend {
    /// Every supplier, deprecated ones too, in creation order.
    public var allSuppliers: [JSONValue] { suppliers }
    /// Every purchase, simple and advanced, in creation order.
    public var allPurchases: [JSONValue] { purchases }
    /// The chart of accounts.
    public var chartOfAccounts: [JSONValue] { accounts }

    /// A supplier edited in the Suppliers screen: the fields changed, `LastModifiedOn` stamped.
    /// `Email`/`Phone` change the default contact (made when there is none).
    /// - Throws: when no supplier has that name, or Cin7 would refuse the change.
    public func editSupplier(named name: String, fields: [String: JSONValue]) throws {
        guard let current = suppliers.first(where: { $0["Name"]?.stringValue == name }), let id = current["ID"] else {
            throw Refusal("Supplier '\(name)' not found.")
        }
        var body = fields.filter { $0.key != "Email" && $0.key != "Phone" }
        body["ID"] = id
        if fields["Email"] != nil || fields["Phone"] != nil {
            var contact = current["Contacts"]?.arrayValue?.first { $0["Default"]?.boolValue == true }?.objectValue
                ?? current["Contacts"]?.arrayValue?.first?.objectValue ?? ["Name": "Accounts", "Default": true]
            if let email = fields["Email"] { contact["Email"] = email }
            if let phone = fields["Phone"] { contact["Phone"] = phone }
            body["Contacts"] = [.object(contact)]
        }
        _ = try saveSupplier(body, update: true)
    }

    /// A supplier created in the Suppliers screen (with the account's defaults for what is not given).
    @discardableResult
    public func addSupplier(_ fields: [String: JSONValue]) throws -> JSONValue {
        var body: [String: JSONValue] = [
            "Currency": company["Currency"] ?? "USD", "PaymentTerm": .string(settings.paymentTerms.first ?? "30 days"),
            "TaxRule": .string(settings.taxRules.first ?? "Tax Exempt"), "Status": "Active",
        ]
        if let payable = accounts.first(where: { $0["SystemAccount"]?.stringValue == "CREDITORS" })?["Code"] { body["AccountPayable"] = payable }
        body.merge(fields) { _, new in new }
        return try saveSupplier(body, update: false)
    }

    /// An account added to the chart (or its status changed when the code exists), as finance does.
    public func setAccount(code: String, name: String? = nil, accountClass: String = "EXPENSE", status: String = "ACTIVE") {
        if let index = accounts.firstIndex(where: { $0["Code"]?.stringValue == code }), var account = accounts[index].objectValue {
            account["Status"] = .string(status)
            if let name { account["Name"] = .string(name) }
            accounts[index] = .object(account)
            return
        }
        let label = name ?? "Account \(code)"
        accounts.append([
            "Code": .string(code), "Name": .string(label), "Type": .string(accountClass == "EXPENSE" ? "EXPENSE" : "CURRENT"),
            "Class": .string(accountClass), "Status": .string(status), "DisplayName": .string("\(code): \(label)"),
        ])
    }
}
