import Foundation
import SimulatorKit
import SyncEngine

/// Cin7 Core's state: API applications (account id + application key), the company profile,
/// suppliers, the chart of accounts, products, and purchases with their order / stock / invoice
/// documents. See `../shared/apis/cin7.md` and COVERAGE.md.
public actor Cin7Backend {
    public struct Application: Sendable, Codable, Equatable {
        public var accountId: String
        public var applicationKey: String
        public init(accountId: String, applicationKey: String) {
            self.accountId = accountId
            self.applicationKey = applicationKey
        }
    }

    public struct Settings: Sendable, Codable, Equatable {
        /// Calls per minute per API application (Cin7: 60; ≤ 0 = unlimited).
        public var callsPerMinute = 60
        /// The status answered past the limit: Cin7's own table says 503, several clients see 429.
        public var throttleStatus = 503
        /// Whether a throttled answer says when the window frees (`Retry-After`, seconds). Cin7
        /// documents no such header (cin7.md §9); a setting for clients that must cope either way.
        public var retryAfter = false
        /// Reference names a supplier or purchase must use (Cin7 refuses others).
        public var taxRules = ["Tax Exempt", "GST on Expenses", "Tax on Purchases"]
        public var paymentTerms = ["30 days", "15 days", "7 days", "COD"]
        /// The purchase method when a header names none (the account's "Default purchase method").
        public var defaultApproach = "INVOICE"
        public init() {}
    }

    /// A refused request: Cin7 answers 400 with `[{"ErrorCode":400,"Exception":…}]`.
    struct Refusal: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    public var settings = Settings()
    var applications: [Application] = []
    var company: [String: JSONValue] = ["Company": "Acme Builders Supply", "Currency": "USD", "TimeZone": "Pacific Standard Time"]
    var suppliers: [JSONValue] = []
    var accounts: [JSONValue] = []
    var products: [JSONValue] = []
    /// Purchases by `ID`, in creation order.
    var purchases: [JSONValue] = []
    let limiter = WindowLimiter()
    let clock: any SyncClock

    public init(clock: any SyncClock) { self.clock = clock }

    public func setSettings(_ settings: Settings) { self.settings = settings }

    public func reset() {
        applications = []
        suppliers = []
        accounts = []
        products = []
        purchases = []
        limiter.reset()
        settings = Settings()
    }

    /// `{"applications":[{"accountId","applicationKey"}], "company":{…}, "suppliers":[…],
    /// "chartOfAccounts":[…], "products":[{"ID","SKU","Name"}], "settings":{…}}`.
    public func seed(_ data: JSONValue) throws {
        if let raw = data["applications"] {
            applications += try JSONDecoder().decode([Application].self, from: JSONEncoder().encode(raw))
        }
        if let profile = data["company"]?.objectValue { company.merge(profile) { _, new in new } }
        suppliers += data["suppliers"]?.arrayValue ?? []
        accounts += data["chartOfAccounts"]?.arrayValue ?? []
        products += data["products"]?.arrayValue ?? []
        if let raw = data["settings"] { settings = try raw.applied(to: settings) }
    }

    enum Verdict { case ok, forbidden, throttled(retryAfter: Int) }

    /// Checks the two auth headers and counts the call against the application's minute.
    func admit(accountID: String?, key: String?) -> Verdict {
        guard let accountID, let key,
            applications.contains(where: { $0.accountId.lowercased() == accountID.lowercased() && $0.applicationKey.lowercased() == key.lowercased() })
        else { return .forbidden }
        let over = limiter.admit(key.lowercased(), limit: settings.callsPerMinute, window: 60, now: clock.now())
        return over.map { .throttled(retryAfter: $0) } ?? .ok
    }

    var profile: JSONValue { .object(company) }
    /// The chart of accounts as `GET /ref/account` filters it (cin7.md §5): `Code` exact, `Name`
    /// starting with, `Type` and `Status` exact (case-insensitive). A code that does not exist
    /// finds nothing — never the whole chart, which a client would take for a match.
    func accountList(code: String?, name: String?, type: String?, status: String?) -> [JSONValue] {
        accounts.filter { account in
            func field(_ key: String) -> String { account[key]?.stringValue?.lowercased() ?? "" }
            if let code, field("Code") != code.lowercased() { return false }
            if let name, !field("Name").hasPrefix(name.lowercased()) { return false }
            if let type, field("Type") != type.lowercased() { return false }
            if let status, field("Status") != status.lowercased() { return false }
            return true
        }
    }

    /// Products as `GET /product` filters them: `ID` and `Sku` exact, `Name` starting with
    /// (inferred from the list calls' convention; cin7.md names no product filters), case-insensitive.
    func productList(id: String?, sku: String?, name: String?) -> [JSONValue] {
        products.filter { product in
            func field(_ key: String) -> String { product[key]?.stringValue?.lowercased() ?? "" }
            if let id, field("ID") != id.lowercased() { return false }
            if let sku, field("SKU") != sku.lowercased() { return false }
            if let name, !field("Name").hasPrefix(name.lowercased()) { return false }
            return true
        }
    }

    var stamp: String { SimDates.stamp(clock.now()) }

    static func newID() -> String { UUID().uuidString.lowercased() }

    /// A record named by its `ID` (GUIDs compared case-insensitively) or, when no id is given, by
    /// another field (`Name` of a supplier, `SKU` of a product), as Cin7's bodies allow either.
    static func find(in records: [JSONValue], id: JSONValue?, or field: String, _ value: JSONValue?) -> JSONValue? {
        if let id = id?.stringValue?.lowercased() { return records.first { $0["ID"]?.stringValue?.lowercased() == id } }
        guard let value = value?.stringValue else { return nil }
        return records.first { $0[field]?.stringValue == value }
    }

    // MARK: Suppliers

    /// Suppliers filtered as `GET /supplier` does: `ID`, `Name` (contains, case-insensitive),
    /// `ModifiedSince` (after that instant), deprecated ones only with `IncludeDeprecated=true`.
    func supplierList(id: String?, name: String?, modifiedSince: Date?, includeDeprecated: Bool) -> [JSONValue] {
        suppliers.filter { supplier in
            if let id, supplier["ID"]?.stringValue?.lowercased() != id.lowercased() { return false }
            if let name, supplier["Name"]?.stringValue?.lowercased().contains(name.lowercased()) != true { return false }
            if !includeDeprecated && supplier["Status"]?.stringValue == "Deprecated" { return false }
            if let modifiedSince {
                guard let text = supplier["LastModifiedOn"]?.stringValue, let changed = SimDates.parse(text), changed > modifiedSince else { return false }
            }
            return true
        }
    }

    /// `POST /supplier` (no `ID`) or `PUT /supplier` (with one): validates the reference names,
    /// assigns ids to the supplier and its new addresses/contacts, stamps `LastModifiedOn`.
    func saveSupplier(_ body: [String: JSONValue], update: Bool) throws -> JSONValue {
        var fields: [String: JSONValue]
        if update {
            guard let id = body["ID"]?.stringValue else { throw Refusal("ID is required to update a supplier.") }
            guard let existing = suppliers.first(where: { $0["ID"]?.stringValue?.lowercased() == id.lowercased() })?.objectValue else {
                throw Refusal("Supplier with ID = '\(id)' not found.")
            }
            fields = existing.merging(body.filter { $0.key != "Addresses" && $0.key != "Contacts" }) { _, new in new }
            for nested in ["Addresses", "Contacts"] {
                var kept = existing[nested]?.arrayValue ?? []
                for entry in body[nested]?.arrayValue ?? [] {
                    if let entryID = entry["ID"]?.stringValue, let index = kept.firstIndex(where: { $0["ID"]?.stringValue == entryID }) {
                        kept[index] = .object((kept[index].objectValue ?? [:]).merging(entry.objectValue ?? [:]) { _, new in new })
                    } else {
                        kept.append(entry)
                    }
                }
                fields[nested] = .array(kept)
            }
        } else {
            guard body["ID"] == nil else { throw Refusal("Use PUT to update an existing supplier.") }
            fields = body
            fields["ID"] = .string(Self.newID())
            fields["Status"] = fields["Status"] ?? "Active"
        }
        for required in ["Name", "Currency", "PaymentTerm", "AccountPayable", "TaxRule"] where (fields[required]?.stringValue ?? "").isEmpty {
            throw Refusal("Required attribute \(required) is not provided.")
        }
        if let term = fields["PaymentTerm"]?.stringValue, !settings.paymentTerms.contains(term) { throw Refusal("Payment Term '\(term)' not found.") }
        if let rule = fields["TaxRule"]?.stringValue, !settings.taxRules.contains(rule) { throw Refusal("Tax Rule '\(rule)' not found.") }
        if let code = fields["AccountPayable"]?.stringValue, !accounts.contains(where: { $0["Code"]?.stringValue == code }) {
            throw Refusal("Account Payable '\(code)' not found in Chart of Accounts.")
        }
        if let status = fields["Status"]?.stringValue, !["Active", "Deprecated"].contains(status) { throw Refusal("Status must be Active or Deprecated.") }
        let supplierID = fields["ID"]!
        for nested in ["Addresses", "Contacts"] {
            fields[nested] = .array((fields[nested]?.arrayValue ?? []).map { entry in
                var item = entry.objectValue ?? [:]
                item["ID"] = item["ID"] ?? .string(Self.newID())
                item["SupplierID"] = supplierID
                return .object(item)
            })
        }
        fields["LastModifiedOn"] = .string(stamp)
        let saved = JSONValue.object(fields)
        if let index = suppliers.firstIndex(where: { $0["ID"] == supplierID }) { suppliers[index] = saved } else { suppliers.append(saved) }
        return saved
    }

    // MARK: Purchases

    func purchase(_ id: String?) throws -> (index: Int, value: [String: JSONValue]) {
        guard let id, let index = purchases.firstIndex(where: { $0["ID"]?.stringValue?.lowercased() == id.lowercased() }) else {
            throw Refusal("Purchase with ID = '\(id ?? "")' not found.")
        }
        return (index, purchases[index].objectValue ?? [:])
    }

    static let notAvailable: JSONValue = ["Status": "NOT AVAILABLE", "Lines": []]

    /// `POST /purchase`: the header; the supplier by `SupplierID` or `Supplier` name.
    func createPurchase(_ body: [String: JSONValue]) throws -> JSONValue {
        guard let supplier = Self.find(in: suppliers, id: body["SupplierID"], or: "Name", body["Supplier"]) else { throw Refusal("Supplier not found. Provide SupplierID or Supplier of an existing supplier.") }
        let approach = body["Approach"]?.stringValue ?? settings.defaultApproach
        guard ["INVOICE", "STOCK"].contains(approach) else { throw Refusal("Approach must be INVOICE or STOCK.") }
        if let rule = body["TaxRule"]?.stringValue, !settings.taxRules.contains(rule) { throw Refusal("Tax Rule '\(rule)' not found.") }
        var fields = body
        fields["ID"] = .string(Self.newID())
        fields["OrderNumber"] = .string(String(format: "PO-%05d", purchases.count + 1))
        fields["Supplier"] = supplier["Name"] ?? .null
        fields["SupplierID"] = supplier["ID"] ?? .null
        fields["Approach"] = .string(approach)
        fields["TaxRule"] = body["TaxRule"] ?? supplier["TaxRule"] ?? .null
        fields["Terms"] = body["Terms"] ?? supplier["PaymentTerm"] ?? .null
        fields["Status"] = "DRAFT"
        fields["OrderDate"] = .string(stamp)
        fields["LastUpdatedDate"] = .string(stamp)
        fields["BaseCurrency"] = company["Currency"] ?? "USD"
        fields["SupplierCurrency"] = supplier["Currency"] ?? .null
        fields["Order"] = Self.notAvailable
        fields["StockReceived"] = Self.notAvailable
        fields["Invoice"] = Self.notAvailable
        fields["CreditNote"] = Self.notAvailable
        let saved = JSONValue.object(fields)
        purchases.append(saved)
        return saved
    }

    /// Checks the lines of an order or invoice: an existing product, quantity ≥ 1, and `Total`
    /// equal to quantity × price × (1 − discount) to the cent; invoice lines need a known GL `Account`.
    func checkLines(_ lines: [JSONValue], accountRequired: Bool) throws -> (beforeTax: Double, tax: Double) {
        var beforeTax = 0.0
        var tax = 0.0
        for (index, line) in lines.enumerated() {
            guard Self.find(in: products, id: line["ProductID"], or: "SKU", line["SKU"]) != nil else { throw Refusal("Line \(index + 1): Product not found. Provide ProductID or SKU of an existing product.") }
            let quantity = line["Quantity"]?.doubleValue ?? 0
            guard quantity >= 1 else { throw Refusal("Line \(index + 1): Quantity should be greater than or equal to 1.") }
            let expected = quantity * (line["Price"]?.doubleValue ?? 0) * (1 - (line["Discount"]?.doubleValue ?? 0) / 100)
            let total = line["Total"]?.doubleValue ?? -1
            guard abs(total - expected) < 0.005 else {
                throw Refusal("Line \(index + 1): Total \(total) does not match Quantity x Price x (1 - Discount/100) = \(String(format: "%.2f", expected)).")
            }
            if accountRequired {
                guard let code = line["Account"]?.stringValue else { throw Refusal("Line \(index + 1): Account is required.") }
                guard accounts.contains(where: { $0["Code"]?.stringValue == code && $0["Status"]?.stringValue != "ARCHIVED" }) else {
                    throw Refusal("Line \(index + 1): Account '\(code)' not found in Chart of Accounts.")
                }
            }
            beforeTax += total
            tax += line["Tax"]?.doubleValue ?? 0
        }
        return (beforeTax, tax)
    }

    /// `POST /purchase/order`, `/purchase/invoice`, `/purchase/stock` with the stage rules of
    /// cin7.md §4: the order first; an invoice needs the order authorised (and, on a STOCK
    /// purchase, the stock received); stock needs the order authorised (and, on an INVOICE
    /// purchase, the invoice); an authorised document takes no second POST.
    func postDocument(_ kind: String, _ body: [String: JSONValue]) throws -> JSONValue {
        let (index, purchase) = try purchase(body["TaskID"]?.stringValue)
        let key = ["order": "Order", "invoice": "Invoice", "stock": "StockReceived"][kind]!
        if kind != "order" && purchase["Type"]?.stringValue == Self.advancedType {
            throw Refusal("Purchase with ID = '\(purchase["ID"]?.stringValue ?? "")' is an Advanced Purchase; post its \(kind) to /advanced-purchase/\(kind).")
        }
        let status = body["Status"]?.stringValue ?? "DRAFT"
        guard ["DRAFT", "AUTHORISED"].contains(status) else { throw Refusal("Status should be DRAFT or AUTHORISED.") }
        let current = purchase[key]?["Status"]?.stringValue ?? "NOT AVAILABLE"
        guard ["DRAFT", "NOT AVAILABLE"].contains(current) else { throw Refusal("\(key) is \(current) and cannot be changed.") }
        let orderStatus = purchase["Order"]?["Status"]?.stringValue
        let approach = purchase["Approach"]?.stringValue ?? "INVOICE"
        if kind != "order" {
            guard orderStatus == "AUTHORISED" else { throw Refusal("Order should be authorised first.") }
        }
        if kind == "invoice" && approach == "STOCK" && purchase["StockReceived"]?["Status"]?.stringValue != "AUTHORISED" {
            throw Refusal("Stock received should be authorised before invoice for Stock First purchase.")
        }
        if kind == "stock" && approach == "INVOICE" && purchase["Invoice"]?["Status"]?.stringValue != "AUTHORISED" {
            throw Refusal("Invoice should be authorised before receiving stock for Invoice First purchase.")
        }
        var document = try documentBody(kind, body, status: status)
        if kind == "invoice" { document["InvoiceNumber"] = body["InvoiceNumber"] ?? .null }
        var updated = purchase
        updated[key] = .object(document)
        let invoiced = (kind == "invoice" ? status : updated["Invoice"]?["Status"]?.stringValue) == "AUTHORISED"
        let received = (kind == "stock" ? status : updated["StockReceived"]?["Status"]?.stringValue) == "AUTHORISED"
        let ordered = updated["Order"]?["Status"]?.stringValue == "AUTHORISED"
        updated["Status"] = .string(invoiced && received ? "COMPLETED" : invoiced ? "INVOICED" : received ? "RECEIVED" : ordered ? "ORDERED" : "ORDERING")
        if kind == "invoice" { updated["InvoiceNumber"] = body["InvoiceNumber"] ?? .null }
        updated["LastUpdatedDate"] = .string(stamp)
        purchases[index] = .object(updated)
        var answer = document
        answer["TaskID"] = purchase["ID"] ?? .null
        return .object(answer)
    }

    /// A purchase document as posted, for simple and advanced purchases alike: receipt lines
    /// (`stock`, `put-away`) need a date and a quantity of at least 1 and are marked received when
    /// authorised; order, invoice and credit-note lines are checked (``checkLines``) and totalled
    /// with the additional charges; an invoice gets its date and total amount.
    func documentBody(_ kind: String, _ body: [String: JSONValue], status: String) throws -> [String: JSONValue] {
        let lines = body["Lines"]?.arrayValue ?? []
        var document = body
        document["Status"] = .string(status)
        switch kind {
        case "stock", "put-away":
            for (number, line) in lines.enumerated() where line["Date"] == nil || (line["Quantity"]?.doubleValue ?? 0) < 1 {
                throw Refusal("Line \(number + 1): Date and a Quantity of at least 1 are required.")
            }
            document["Lines"] = .array(lines.map { line in
                var item = line.objectValue ?? [:]
                item["Received"] = .bool(status == "AUTHORISED")
                return .object(item)
            })
        default:
            let totals = try checkLines(lines, accountRequired: kind == "invoice")
            let extra = (body["AdditionalCharges"]?.arrayValue ?? []).reduce(0.0) { $0 + ($1["Total"]?.doubleValue ?? 0) }
            document["TotalBeforeTax"] = .number(totals.beforeTax + extra)
            document["Tax"] = .number(totals.tax)
            document["Total"] = .number(totals.beforeTax + extra + totals.tax)
            if kind == "invoice" {
                document["InvoiceDate"] = body["InvoiceDate"] ?? .string(stamp)
                document["InvoiceTotalAmount"] = document["Total"]
            }
        }
        return document
    }

    /// `GET /purchaseList`: `Search` over order number, status, supplier and invoice number;
    /// `UpdatedSince` on `LastUpdatedDate`.
    func purchaseList(search: String?, updatedSince: Date?) -> [JSONValue] {
        purchases.filter { purchase in
            if let search, !search.isEmpty {
                let numbers = (purchase["Invoice"]?.arrayValue ?? []).compactMap { $0["InvoiceNumber"]?.stringValue?.lowercased() }
                let haystack = ["OrderNumber", "Status", "Supplier", "InvoiceNumber"].compactMap { purchase[$0]?.stringValue?.lowercased() } + numbers
                guard haystack.contains(where: { $0.contains(search.lowercased()) }) else { return false }
            }
            if let updatedSince {
                guard let text = purchase["LastUpdatedDate"]?.stringValue, let updated = SimDates.parse(text), updated > updatedSince else { return false }
            }
            return true
        }.map { purchase in
            var item: [String: JSONValue] = [:]
            for key in ["ID", "OrderNumber", "Status", "OrderDate", "Supplier", "SupplierID", "InvoiceNumber", "BaseCurrency", "SupplierCurrency", "LastUpdatedDate"] {
                item[key] = purchase[key] ?? .null
            }
            item["OrderStatus"] = purchase["Order"]?["Status"] ?? .null
            if let invoices = purchase["Invoice"]?.arrayValue {  // an advanced purchase: the documents are arrays
                let receipts = purchase["StockReceived"]?.arrayValue ?? []
                func combined(_ documents: [JSONValue]) -> JSONValue {
                    documents.isEmpty ? "NOT AVAILABLE" : documents.allSatisfy { $0["Status"]?.stringValue == "AUTHORISED" } ? "AUTHORISED" : "DRAFT"
                }
                item["StockReceivedStatus"] = combined(receipts)
                item["InvoiceStatus"] = combined(invoices)
                item["InvoiceAmount"] = .number(invoices.reduce(0.0) { $0 + ($1["Total"]?.doubleValue ?? 0) })
                item["InvoiceNumber"] = invoices.last?["InvoiceNumber"] ?? .null
            } else {
                item["StockReceivedStatus"] = purchase["StockReceived"]?["Status"] ?? .null
                item["InvoiceStatus"] = purchase["Invoice"]?["Status"] ?? .null
                item["InvoiceAmount"] = purchase["Invoice"]?["Total"] ?? 0
            }
            item["Type"] = purchase["Type"] ?? "Simple Purchase"
            return .object(item)
        }
    }
}
