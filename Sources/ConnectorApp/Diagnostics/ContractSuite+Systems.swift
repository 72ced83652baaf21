import AsyncHTTPClient
import Cin7Client
import ClientKit
import CloudSuiteClient
import Foundation
import Logging
import ProcurifyClient
import SAPB1Client
import SyncEngine

extension ContractSuite {
    /// Whether a value is money the way Procurify sends it: a decimal string such as `"1250.00"`.
    static func isDecimalString(_ value: JSONValue?) -> Bool { value?.stringValue != nil && Money.parse(value) != nil }

    /// The checks of whichever system the endpoint belongs to.
    public static func verify(_ endpoint: PingTarget.Endpoint, http: HTTPClient, logger: Logger, allowWrites: Bool, clock: any SyncClock = SystemClock()) async -> [Outcome] {
        switch endpoint {
        case .syspro(let connection): await syspro(connection, http: http, logger: logger, allowIntrusive: allowWrites, clock: clock)
        case .procore(let connection): await procore(connection, http: http, logger: logger, allowWrites: allowWrites, clock: clock)
        case .cin7(let connection): await cin7(connection, http: http, logger: logger, allowIntrusive: allowWrites, clock: clock)
        case .procurify(let connection): await procurify(connection, http: http, logger: logger, allowIntrusive: allowWrites, clock: clock)
        case .sapb1(let connection): await sapb1(connection, http: http, logger: logger, allowIntrusive: allowWrites, clock: clock)
        case .cloudsuite(let connection): await cloudsuite(connection, http: http, logger: logger, allowIntrusive: allowWrites, clock: clock)
        }
    }

    // MARK: Cin7 Core

    public static func cin7(_ connection: Cin7Connection, http: HTTPClient, logger: Logger, allowIntrusive: Bool, clock: any SyncClock = SystemClock()) async -> [Outcome] {
        var raw = transport(http, "cin7", logger, clock)
        raw.throttleStatuses = Cin7Client.throttleStatuses  // the raw calls below meet the limit as the client does
        func get(_ path: String, key: String? = nil) async throws -> HTTPReply {
            try await raw.send("GET", "\(connection.baseURL)/\(path)", headers: [
                ("api-auth-accountid", connection.accountID), ("api-auth-applicationkey", key ?? connection.applicationKey), ("Accept", "application/json"),
            ])
        }
        /// What a test purchase needs from the account: a supplier id, a product, and an active
        /// expense or asset account for the invoice lines.
        func purchaseParts(_ client: Cin7Client) async throws -> (supplier: JSONValue, product: JSONValue, account: JSONValue) {
            guard let supplier = try await client.suppliers(page: 1, limit: 1).suppliers.first?["ID"],
                let product = try await client.get("product", query: [("Page", "1"), ("Limit", "1")])["Products"]?.arrayValue?.first,
                let account = try json(try await get("ref/account?Page=1&Limit=100"))["AccountsList"]?.arrayValue?.first(where: {
                    $0["Status"] == "ACTIVE" && ($0["Class"] == "EXPENSE" || $0["Class"] == "ASSET")
                })?["Code"]
            else { throw Broken("needs a supplier, a product and an active expense or asset account") }
            return (supplier, product, account)
        }
        let checks = [
            Check(name: "GET /me answers the company profile for the two API headers", intrusive: false) {
                let reply = try await get("me")
                try expect(reply.status == 200, "answered \(reply.status): \(reply.excerpt)")
                let body = try json(reply)
                try expect(body["Company"]?.stringValue != nil, "the profile has no Company")
                return "company \(body["Company"]!.stringValue!)"
            },
            Check(name: "a wrong application key is 403 with the [{ErrorCode, Exception}] array", intrusive: false) {
                let reply = try await get("me", key: "00000000-0000-0000-0000-000000000000")
                try expect(reply.status == 403, "answered \(reply.status)")
                let first = try json(reply).arrayValue?.first
                try expect(first?["Exception"]?.stringValue != nil, "the error is not an [{ErrorCode, Exception}] array: \(reply.excerpt)")
                return "403 \(first!["Exception"]!.stringValue!)"
            },
            Check(name: "lists come as {Total, Page, SupplierList} and page with Page/Limit", intrusive: false) {
                let first = try json(try await get("supplier?Page=1&Limit=1"))
                let total = first["Total"]?.doubleValue
                try expect(total != nil && first["Page"]?.doubleValue == 1, "Total/Page missing: \(first.canonicalJSON().prefix(200))")
                let rows = first["SupplierList"]?.arrayValue ?? []
                try expect(rows.count <= 1, "Limit=1 returned \(rows.count) rows")
                if let total, total > 1 {
                    let second = try json(try await get("supplier?Page=2&Limit=1"))["SupplierList"]?.arrayValue ?? []
                    try expect(second.first?["ID"] != rows.first?["ID"], "page 2 repeats page 1")
                }
                return "\(Int(total ?? 0)) supplier(s)"
            },
            Check(name: "supplier rows carry ID, Name, Currency and Status", intrusive: false) {
                let rows = try json(try await get("supplier?Page=1&Limit=5"))["SupplierList"]?.arrayValue ?? []
                for row in rows {
                    for field in ["ID", "Name", "Currency", "Status"] { try expect(row[field] != nil, "a supplier lacks \(field)") }
                }
                return "\(rows.count) row(s) checked"
            },
            Check(name: "paths and query names are matched case-insensitively", intrusive: false) {
                let lower = try await get("supplier?page=1&limit=1")
                let mixed = try await get("Supplier?Page=1&Limit=1")
                try expect(lower.status == 200 && mixed.status == 200, "answered \(lower.status) / \(mixed.status)")
                return "both spellings 200"
            },
            Check(name: "suppliers filter by Name and ModifiedSince (the look-up before a write)", intrusive: false) {
                let client = Cin7Client(connection: connection, transport: raw)
                guard let first = try await client.suppliers(page: 1, limit: 1).suppliers.first, let name = first["Name"]?.stringValue else {
                    return "no supplier to look up"
                }
                let byName = try await client.get("supplier", query: [("Name", name)])["SupplierList"]?.arrayValue ?? []
                try expect(byName.contains { $0["ID"] == first["ID"] }, "Name=\(name) does not find the supplier")
                let future = try await client.get("supplier", query: [("ModifiedSince", "2999-01-01T00:00:00Z")])["SupplierList"]?.arrayValue ?? []
                try expect(future.isEmpty, "ModifiedSince in the future still lists \(future.count) supplier(s)")
                return "\(name) found by name; none modified after 2999"
            },
            Check(name: "purchaseList answers {Total, Page, PurchaseList}; Search narrows it; an unknown purchase is a 400 'not found'", intrusive: false) {
                let client = Cin7Client(connection: connection, transport: raw)
                let list = try await client.get("purchaseList", query: [("Page", "1"), ("Limit", "1")])
                try expect(list["Total"]?.doubleValue != nil && list["PurchaseList"]?.arrayValue != nil, "not the list envelope: \(list.canonicalJSON().prefix(150))")
                let none = try await client.get("purchaseList", query: [("Search", "ML-CONTRACT-\(UUID().uuidString.prefix(8))")])
                try expect(none["Total"] == 0, "Search for an unknown text found \(none["Total"]?.scalarText ?? "?")")
                let missing = try await get("purchase?ID=\(UUID().uuidString.lowercased())")
                try expect(missing.status == 400, "an unknown purchase answered \(missing.status)")
                try expect(missing.text.lowercased().contains("not found"), "the 400 does not say 'not found': \(missing.excerpt)")
                return "\(Int(list["Total"]?.doubleValue ?? 0)) purchase(s); unknown ID → 400 not found"
            },
            Check(name: "invoice lines need a GL account of the chart; /ref/account lists Code, Class, Status", intrusive: false) {
                let accounts = try json(try await get("ref/account?Page=1&Limit=5"))["AccountsList"]?.arrayValue ?? []
                try expect(accounts.allSatisfy { $0["Code"]?.stringValue != nil && $0["Status"]?.stringValue != nil }, "an account lacks Code or Status")
                return "\(accounts.count) account(s) checked"
            },
            Check(name: "/ref/account?Code= finds exactly that account, and nothing for a code the chart lacks", intrusive: false) {
                let accounts = try json(try await get("ref/account?Page=1&Limit=1"))["AccountsList"]?.arrayValue ?? []
                guard let code = accounts.first?["Code"]?.stringValue else { return "the chart is empty; nothing to look up" }
                let found = try json(try await get("ref/account?Code=\(code.percentEncoded())"))["AccountsList"]?.arrayValue ?? []
                try expect(found.count == 1 && found.first?["Code"]?.stringValue == code, "Code=\(code) answered \(found.count) account(s)")
                let missing = try json(try await get("ref/account?Code=ML-CONNECTOR-NO-SUCH-CODE"))["AccountsList"]?.arrayValue ?? []
                try expect(missing.isEmpty, "an unknown code answered \(missing.count) account(s): a look-up would take them for a match")
                return "Code=\(code) → 1, unknown → 0"
            },
            Check(name: "a supplier is created (list envelope with IDs), found by name, and deprecated by PUT", intrusive: true) {
                let client = Cin7Client(connection: connection, transport: raw)
                guard let model = try await client.suppliers(page: 1, limit: 1).suppliers.first else { throw Broken("no supplier to copy the reference names from") }
                let name = "ml-connector contract \(UUID().uuidString.prefix(8))"
                let saved = try await client.call("POST", "supplier", body: [
                    "Name": .string(name), "Currency": model["Currency"] ?? "USD", "PaymentTerm": model["PaymentTerm"] ?? .null,
                    "AccountPayable": model["AccountPayable"] ?? .null, "TaxRule": model["TaxRule"] ?? .null, "Status": "Active",
                    "Contacts": [["Name": "Accounts", "Email": "ap@example.com", "Default": true]],
                ])
                guard let created = saved["SupplierList"]?.arrayValue?.first, let id = created["ID"]?.stringValue else {
                    throw Broken("POST /supplier did not answer the list envelope with the new ID")
                }
                try expect(created["Contacts"]?.arrayValue?.first?["ID"] != nil, "the new contact has no ID")
                let found = try await client.get("supplier", query: [("Name", name)])["SupplierList"]?.arrayValue ?? []
                try expect(found.contains { $0["ID"]?.stringValue == id }, "the new supplier is not found by name")
                let deprecated = try await client.call("PUT", "supplier", body: ["ID": .string(id), "Status": "Deprecated"])
                try expect(deprecated["SupplierList"]?.arrayValue?.first?["Status"] == "Deprecated", "PUT did not deprecate the supplier")
                return "\(name) created and deprecated (Cin7 has no DELETE)"
            },
            Check(name: "an invoice-first purchase: header, authorised order, invoice; a second order POST is refused", intrusive: true) {
                let client = Cin7Client(connection: connection, transport: raw)
                let (supplier, product, account) = try await purchaseParts(client)
                let header = try await client.call("POST", "purchase", body: ["SupplierID": supplier, "Approach": "INVOICE", "Note": "ml-connector contract check"])
                guard let task = header["ID"] else { throw Broken("POST /purchase answered no ID") }
                let line: JSONValue = ["ProductID": product["ID"] ?? .null, "Name": product["Name"] ?? "item", "Quantity": 2, "Price": 5, "Discount": 0, "Tax": 0,
                                       "TaxRule": header["TaxRule"] ?? .null, "Total": 10]
                let order = try await client.call("POST", "purchase/order", body: ["TaskID": task, "Status": "AUTHORISED", "Lines": [line]])
                try expect(order["Status"] == "AUTHORISED", "the order is \(order["Status"]?.scalarText ?? "?")")
                do {
                    _ = try await client.call("POST", "purchase/order", body: ["TaskID": task, "Status": "AUTHORISED", "Lines": [line]])
                    throw Broken("a second order POST after authorisation was accepted")
                } catch let error as SyncError {
                    try expect(error.code == .rejected && error.message.contains("400"), "the second order POST answered: \(error.message)")
                }
                var invoiceLine = line.objectValue ?? [:]
                invoiceLine["Account"] = account
                let invoice = try await client.call("POST", "purchase/invoice", body: [
                    "TaskID": task, "Status": "AUTHORISED", "InvoiceNumber": .string("MLC-\(UUID().uuidString.prefix(8))"), "Lines": [.object(invoiceLine)],
                ])
                try expect(invoice["Status"] == "AUTHORISED", "the invoice is \(invoice["Status"]?.scalarText ?? "?")")
                let purchase = try await client.get("purchase", query: [("ID", task.scalarText)])
                // every purchase, simple ones included, reads through advanced-purchase in the array shape
                let advanced = try await client.get("advanced-purchase", query: [("ID", task.scalarText), ("CombineAdditionalCharges", "true")])
                let invoices = advanced["Invoice"]?.arrayValue
                try expect(invoices?.count == 1, "advanced-purchase answers Invoice as \(advanced["Invoice"]?.canonicalJSON().prefix(80) ?? "absent"), not a one-element array")
                try expect(invoices?.first?["TaskID"] != nil, "the invoice in advanced-purchase has no TaskID")
                return "\(purchase["OrderNumber"]?.scalarText ?? "purchase") is \(purchase["Status"]?.scalarText ?? "?"), read as an advanced purchase too (left in the account)"
            },
            // Flow 004 posts a SYSPRO PO received in full before it reaches Cin7 as a stock-first
            // purchase: order, stock received, then the invoice. This check walks the stages in
            // that order and makes sure Cin7 enforces it (an invoice before the stock is refused)
            // and moves the purchase's Status ORDERED → RECEIVED → COMPLETED as the flow expects.
            Check(name: "a stock-first purchase: invoice refused before the stock; order, stock, invoice → COMPLETED", intrusive: true) {
                let client = Cin7Client(connection: connection, transport: raw)
                let (supplier, product, account) = try await purchaseParts(client)
                let header = try await client.call("POST", "purchase", body: ["SupplierID": supplier, "Approach": "STOCK", "Note": "ml-connector contract check (stock first)"])
                guard let task = header["ID"] else { throw Broken("POST /purchase answered no ID") }
                try expect(header["Approach"] == "STOCK", "the header's Approach is \(header["Approach"]?.scalarText ?? "absent"), not STOCK")
                let line: JSONValue = ["ProductID": product["ID"] ?? .null, "Name": product["Name"] ?? "item", "Quantity": 3, "Price": 4, "Discount": 0, "Tax": 0,
                                       "TaxRule": header["TaxRule"] ?? .null, "Total": 12]
                _ = try await client.call("POST", "purchase/order", body: ["TaskID": task, "Status": "AUTHORISED", "Lines": [line]])
                var invoiceLine = line.objectValue ?? [:]
                invoiceLine["Account"] = account
                let invoiceBody: JSONValue = [
                    "TaskID": task, "Status": "AUTHORISED", "InvoiceNumber": .string("MLC-\(UUID().uuidString.prefix(8))"), "Lines": [.object(invoiceLine)],
                ]
                do {
                    _ = try await client.call("POST", "purchase/invoice", body: invoiceBody)
                    throw Broken("an invoice before the stock was accepted on a stock-first purchase")
                } catch let error as SyncError {
                    try expect(error.code == .rejected && error.message.contains("400"), "the early invoice answered: \(error.message)")
                }
                let day = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
                let stock = try await client.call("POST", "purchase/stock", body: [
                    "TaskID": task, "Status": "AUTHORISED",
                    "Lines": [["ProductID": product["ID"] ?? .null, "Quantity": 3, "Date": .string("\(day)T00:00:00"), "Location": header["Location"] ?? .null]],
                ])
                try expect(stock["Status"] == "AUTHORISED", "the stock received is \(stock["Status"]?.scalarText ?? "?")")
                let received = try await client.get("purchase", query: [("ID", task.scalarText)])
                try expect(received["Status"] == "RECEIVED", "after the stock the purchase is \(received["Status"]?.scalarText ?? "?"), not RECEIVED")
                _ = try await client.call("POST", "purchase/invoice", body: invoiceBody)
                let done = try await client.get("purchase", query: [("ID", task.scalarText)])
                try expect(done["Status"] == "COMPLETED", "after the invoice the purchase is \(done["Status"]?.scalarText ?? "?"), not COMPLETED")
                return "\(done["OrderNumber"]?.scalarText ?? "purchase"): early invoice refused, then RECEIVED, COMPLETED (left in the account)"
            },
        ]
        return await run(checks, system: "cin7", allowIntrusive: allowIntrusive)
    }

    // MARK: Procurify

    public static func procurify(_ connection: ProcurifyConnection, http: HTTPClient, logger: Logger, allowIntrusive: Bool, clock: any SyncClock = SystemClock()) async -> [Outcome] {
        let raw = transport(http, "procurify", logger, clock)
        let client = ProcurifyClient(connection: connection, transport: raw)
        func token(secret: String) async throws -> HTTPReply {
            let body: JSONValue = [
                "client_id": .string(connection.clientID), "client_secret": .string(secret), "audience": .string(connection.audience),
                "grant_type": "client_credentials",
            ]
            return try await raw.send("POST", connection.tokenURL, headers: [("Content-Type", "application/json")], body: try JSONEncoder().encode(body))
        }
        let checks = [
            Check(name: "client credentials (JSON body) give a Bearer token with expires_in and no refresh token", intrusive: false) {
                let body = try json(try await token(secret: connection.clientSecret))
                try expect(body["access_token"]?.stringValue != nil, "no access_token")
                try expect(body["token_type"]?.stringValue?.lowercased() == "bearer", "token_type is \(body["token_type"]?.canonicalJSON() ?? "absent")")
                try expect(body["expires_in"]?.doubleValue != nil, "no expires_in")
                try expect(body["refresh_token"] == nil, "a refresh token came with a client-credentials token")
                return "expires_in \(Int(body["expires_in"]!.doubleValue!)) s"
            },
            Check(name: "a wrong client secret is refused with 401", intrusive: false) {
                let reply = try await token(secret: "ml-connector-contract-wrong")
                try expect(reply.status == 401, "answered \(reply.status)")
                return "401"
            },
            Check(name: "an invalid bearer token is 401", intrusive: false) {
                let reply = try await raw.send("GET", "\(connection.baseURL)/api/v3/users/me/", headers: [("Authorization", "Bearer ml-connector-contract-invalid")])
                try expect(reply.status == 401, "answered \(reply.status)")
                return "401"
            },
            Check(name: "lists answer metadata.pagination with absolute next links that keep page_size", intrusive: false) {
                let first = try await client.page("/api/v3/vendors/", query: [("page_size", "1")])
                try expect(first.items.count <= 1, "page_size=1 returned \(first.items.count) rows")
                guard first.count > 1 else { return "\(first.count) vendor(s): nothing to page" }
                guard let next = first.next else { throw Broken("no next link with \(first.count) vendors") }
                try expect(next.hasPrefix("http"), "next is not absolute: \(next)")
                try expect(next.contains("page_size=1"), "next dropped page_size")
                let second = try await client.page(next)
                try expect(second.items.first?["id"] != first.items.first?["id"], "the next page repeats the first")
                return "\(first.count) vendor(s), next link followed"
            },
            Check(name: "paths answer with and without the trailing slash", intrusive: false) {
                let slashed = try await client.page("/api/v2/currencies/")
                let bare = try await client.page("/api/v2/currencies")
                try expect(slashed.count == bare.count, "\(slashed.count) vs \(bare.count) currencies")
                return "both forms served"
            },
            Check(name: "exactly one currency is the base; money rates are decimal strings", intrusive: false) {
                let currencies = try await client.page("/api/v2/currencies/", query: [("page_size", "100")]).items
                try expect(currencies.filter { $0["base"]?.boolValue == true }.count == 1, "not exactly one base currency")
                try expect(currencies.allSatisfy { $0["rate"]?.stringValue != nil }, "a rate is not a decimal string")
                return "\(currencies.count) currenc(y/ies)"
            },
            Check(name: "vendors carry external_id and email as an array; account codes carry code", intrusive: false) {
                let vendors = try await client.page("/api/v3/vendors/", query: [("page_size", "5")]).items
                try expect(vendors.allSatisfy { $0["external_id"] != nil && $0["email"]?.arrayValue != nil }, "a vendor lacks external_id or an email array")
                let codes = try await client.page("/api/v3/account-codes/", query: [("page_size", "5")]).items
                try expect(codes.allSatisfy { $0["code"]?.stringValue != nil }, "an account code lacks code")
                return "\(vendors.count) vendor(s), \(codes.count) account code(s) checked"
            },
            Check(name: "purchased POs list by modified_date window, without lines, with the fields flow 001 maps", intrusive: false) {
                let page = try await client.page("/api/v2/purchase_orders/purchased/all/", query: [
                    ("modified_date_0", "2000-01-01"), ("modified_date_1", DemoData.dayString(clock.now().addingTimeInterval(86_400))), ("page_size", "5"),
                ])
                for po in page.items {
                    try expect(po["procurify_PO"]?.doubleValue != nil && po["uuid"]?.stringValue != nil, "a PO lacks procurify_PO or uuid")
                    try expect(po["last_modified"]?.stringValue != nil && po["state"]?.doubleValue != nil, "a PO lacks last_modified or state")
                    try expect(po["pref_vendor"]?["id"] != nil && po["pref_vendor"]?["external_id"] != nil, "a PO's pref_vendor lacks id or external_id")
                    try expect(po["purchased_currency"]?["name"]?.stringValue != nil, "a PO lacks purchased_currency.name")
                    try expect(isDecimalString(po["total"]), "a PO total is not a decimal string")
                    try expect(po["order_items"] == nil, "the list carries order_items (the detail call should)")
                }
                return "\(page.count) PO(s) in the window"
            },
            Check(name: "a PO's detail (by number or uuid) carries order_items with line number, quantity, price and account code", intrusive: false) {
                let page = try await client.page("/api/v2/purchase_orders/purchased/all/", query: [("page_size", "1")])
                guard let first = page.items.first, let number = first["procurify_PO"]?.scalarText, let uuid = first["uuid"]?.stringValue else {
                    return "no purchased PO to read"
                }
                let byNumber = try await client.get("/api/v2/purchase_orders/\(number)/")["data"]
                let byUUID = try await client.get("/api/v2/purchase_orders/\(uuid)/")["data"]
                try expect(byNumber?["procurify_PO"] == byUUID?["procurify_PO"], "the PO by number and by uuid differ")
                guard let lines = byNumber?["order_items"]?.arrayValue else { throw Broken("the detail has no order_items") }
                for line in lines {
                    try expect(line["PO_line_num"]?.doubleValue != nil && line["quantity"]?.doubleValue != nil, "a line lacks PO_line_num or a numeric quantity")
                    try expect(isDecimalString(line["price"]), "a line price is not a decimal string")
                    let code = line["accountCode"]?.stringValue ?? line["account"]?["account_code"]?["code"]?.stringValue
                    try expect(code != nil, "a line has no account code")
                }
                return "PO \(number): \(lines.count) line(s)"
            },
            Check(name: "date windows are inclusive whole days; a malformed date is a 400", intrusive: false) {
                let page = try await client.page("/api/v2/purchase_orders/purchased/all/", query: [("page_size", "1")])
                guard let po = page.items.first, let day = po["last_modified"]?.stringValue?.prefix(10), let number = po["procurify_PO"] else {
                    return "no purchased PO to read"
                }
                let same = try await client.page("/api/v2/purchase_orders/purchased/all/", query: [("modified_date_0", String(day)), ("modified_date_1", String(day)), ("page_size", "100")])
                try expect(same.items.contains { $0["procurify_PO"] == number }, "PO \(number.scalarText) modified on \(day) is missing from the \(day)…\(day) window")
                do {
                    _ = try await client.page("/api/v2/purchase_orders/purchased/all/", query: [("modified_date_0", "03/01/2025")])
                    throw Broken("a malformed date was accepted")
                } catch let error as SyncError {
                    try expect(error.code == .rejected && error.message.contains("400"), "a malformed date answered: \(error.message)")
                }
                return "\(day) window holds PO \(number.scalarText); 03/01/2025 refused"
            },
            Check(name: "bills poll by last_modified_datetime; the detail carries items with totals", intrusive: false) {
                let page = try await client.page("/api/v3/ap/bills/", query: [("last_modified_datetime_0", "2000-01-01T00:00:00Z"), ("page_size", "5")])
                for bill in page.items {
                    try expect(bill["id"]?.doubleValue != nil && bill["status"]?.doubleValue != nil, "a bill lacks id or status")
                    try expect(bill["uuid"]?.stringValue != nil && bill["invoice_number"] != nil, "a bill lacks uuid or invoice_number")
                    try expect(bill["vendor"]?["id"] != nil, "a bill lacks vendor.id")
                    try expect(bill["total_cost_with_tax"]?.doubleValue != nil, "total_cost_with_tax is not a number")
                }
                guard let uuid = page.items.first?["uuid"]?.stringValue else { return "no bill to read" }
                let detail = try await client.get("/api/v2/ap/bills/\(uuid)/")["data"]
                let items = detail?["items"]?.arrayValue ?? []
                try expect(!items.isEmpty, "bill \(uuid) has no items")
                try expect(items.allSatisfy { $0["quantity"]?.stringValue != nil && $0["total_cost"] != nil }, "a bill item lacks quantity (decimal string) or total_cost")
                return "\(page.count) bill(s); \(items.count) item(s) on the first"
            },
        ]
        return await run(checks, system: "procurify", allowIntrusive: allowIntrusive)
    }

    // MARK: SAP Business One

    public static func sapb1(_ connection: SAPB1Connection, http: HTTPClient, logger: Logger, allowIntrusive: Bool, clock: any SyncClock = SystemClock()) async -> [Outcome] {
        let raw = transport(http, "sapb1", logger, clock)
        let client = SAPB1Client(connection: connection, transport: raw)
        func login(password: String) async throws -> HTTPReply {
            let body: JSONValue = ["CompanyDB": .string(connection.companyDB), "UserName": .string(connection.userName), "Password": .string(password)]
            return try await raw.send("POST", "\(connection.serviceRoot)/Login", headers: [("Content-Type", "application/json")], body: try JSONEncoder().encode(body))
        }
        func cookie(_ reply: HTTPReply) -> String? {
            SAPB1Client.cookie("B1SESSION", in: reply.headers.filter { $0.0.lowercased() == "set-cookie" }.map(\.1))
        }
        /// A supplier and an active GL account to post a test document with.
        func postingTargets() async throws -> (supplier: String, account: String) {
            let suppliers = try await client.json("GET", "BusinessPartners?$select=CardCode&$filter=CardType%20eq%20'cSupplier'&$top=1", what: "suppliers")
            let accounts = try await client.json("GET", "ChartOfAccounts?$select=Code&$filter=ActiveAccount%20eq%20'tYES'&$top=1", what: "GL accounts")
            guard let supplier = suppliers["value"]?.arrayValue?.first?["CardCode"]?.stringValue,
                let account = accounts["value"]?.arrayValue?.first?["Code"]?.stringValue
            else { throw Broken("the company has no supplier or no active GL account to post a test document with") }
            return (supplier, account)
        }
        let checks = [
            Check(name: "Login answers SessionId, Version (text) and SessionTimeout (minutes) and sets B1SESSION; Logout is 204", intrusive: false) {
                let reply = try await login(password: connection.password)
                try expect(reply.status == 200, "Login answered \(reply.status): \(reply.excerpt)")
                let body = try json(reply)
                guard let session = cookie(reply) else { throw Broken("no B1SESSION cookie") }
                try expect(body["SessionId"]?.stringValue == session, "SessionId differs from the B1SESSION cookie")
                try expect(body["Version"]?.stringValue != nil, "Version is not text")
                try expect(body["SessionTimeout"]?.doubleValue != nil, "SessionTimeout is not a number")
                let out = try await raw.send("POST", "\(connection.serviceRoot)/Logout", headers: [("Cookie", "B1SESSION=\(session)")])
                try expect(out.status == 204, "Logout answered \(out.status)")
                return "version \(body["Version"]!.stringValue!), \(Int(body["SessionTimeout"]!.doubleValue!)) min idle timeout"
            },
            Check(name: "a logged-out session answers 401 with code 301", intrusive: false) {
                let reply = try await login(password: connection.password)
                guard let session = cookie(reply) else { throw Broken("no B1SESSION cookie") }
                _ = try await raw.send("POST", "\(connection.serviceRoot)/Logout", headers: [("Cookie", "B1SESSION=\(session)")])
                let dead = try await raw.send("GET", "\(connection.serviceRoot)/BusinessPartners?$top=1", headers: [("Cookie", "B1SESSION=\(session)")])
                try expect(dead.status == 401, "answered \(dead.status)")
                let error = SAPB1Error(dead)
                try expect(error?.code == "301", "error code is \(error?.code ?? "absent"), not 301")
                return "401 / 301: \(error!.message)"
            },
            Check(name: "a wrong password is 401 with a login-failure code", intrusive: true) {
                let reply = try await login(password: "ml-connector-contract-wrong")
                try expect(reply.status == 401, "answered \(reply.status)")
                let code = SAPB1Error(reply)?.code ?? "absent"
                try expect(["-304", "100000027"].contains(code), "code \(code)")
                return "401 / \(code)"
            },
            Check(name: "AdminInfo carries the company name and the totals precision", intrusive: false) {
                let info = try await client.adminInfo()
                try expect(info["TotalsAccuracy"]?.doubleValue != nil, "no TotalsAccuracy")
                return "\(info["CompanyName"]?.stringValue ?? "?"), totals to \(Int(info["TotalsAccuracy"]!.doubleValue!)) decimals"
            },
            Check(name: "collections page with a nextLink under Prefer: odata.maxpagesize, and paging loses no row", intrusive: false) {
                var paged: [String] = []
                try await client.forEachPage("BusinessPartners?$select=CardCode&$orderby=CardCode", pageSize: 2) { rows in
                    paged += rows.compactMap { $0["CardCode"]?.stringValue }
                }
                var whole: [String] = []
                try await client.forEachPage("BusinessPartners?$select=CardCode&$orderby=CardCode", pageSize: 0) { rows in
                    whole += rows.compactMap { $0["CardCode"]?.stringValue }
                }
                try expect(paged == whole, "pages of 2 gave \(paged.count) rows, one page \(whole.count)")
                try expect(Set(paged).count == paged.count, "a row came twice")
                return "\(paged.count) business partner(s)"
            },
            Check(name: "$filter on CardType by enum name selects suppliers only; $select narrows the fields", intrusive: false) {
                let body = try await client.json("GET", "BusinessPartners?$select=CardCode,CardType&$filter=CardType%20eq%20'cSupplier'", what: "suppliers")
                let rows = body["value"]?.arrayValue ?? []
                try expect(rows.allSatisfy { $0["CardType"]?.stringValue == "cSupplier" }, "a non-supplier came back")
                try expect(rows.allSatisfy { Set(($0.objectValue ?? [:]).keys).isSubset(of: ["CardCode", "CardType", "odata.etag", "@odata.etag"]) }, "$select was ignored")
                return "\(rows.count) supplier(s) on the first page"
            },
            Check(name: "GET /ping/ answers pong without a session", intrusive: false) {
                guard let url = URL(string: connection.serviceRoot), let scheme = url.scheme, let host = url.host else { throw Broken("bad service root") }
                let reply = try await raw.send("GET", "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")/ping/")
                try expect(reply.status == 200, "answered \(reply.status)")
                try expect(try json(reply)["message"] == "pong", "no pong")
                return "pong"
            },
            Check(name: "the duplicate check: purchase invoices filter by NumAtCard, journal entries by Reference", intrusive: false) {
                let marker = "ML-CONTRACT-\(UUID().uuidString.prefix(8))"
                let invoices = try await client.json("GET", "PurchaseInvoices?$select=DocEntry,NumAtCard&$filter=NumAtCard%20eq%20'\(marker)'", what: "PurchaseInvoices")
                try expect(invoices["value"]?.arrayValue?.isEmpty == true, "an unknown NumAtCard matched a purchase invoice")
                let entries = try await client.json("GET", "JournalEntries?$select=JdtNum,Reference&$filter=Reference%20eq%20'\(marker)'", what: "JournalEntries")
                try expect(entries["value"]?.arrayValue?.isEmpty == true, "an unknown Reference matched a journal entry")
                return "both answer [] for an unknown reference"
            },
            Check(name: "an unknown property in $select is refused with -1000 naming it; /PurchaseInvoices/$count is a bare number", intrusive: false) {
                let reply = try await client.call("GET", "BusinessPartners?$select=CardCode,MlContractNoSuchField&$top=1")
                try expect(reply.status == 400, "answered \(reply.status) to an unknown property")
                let error = SAPB1Error(reply)
                try expect(error?.code == "-1000", "code \(error?.code ?? "absent"), not -1000")
                try expect(error?.message.contains("MlContractNoSuchField") == true, "the text does not name the property: \(error?.message ?? "")")
                let count = try await client.call("GET", "PurchaseInvoices/$count")
                let text = String(decoding: count.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                try expect(count.status == 200 && Int(text) != nil, "$count answered \(count.status) \(count.excerpt)")
                return "\(error!.message); \(text) purchase invoice(s)"
            },
            Check(name: "$batch answers a multipart body with one application/http part per request (202 on v1, 200 on v2)", intrusive: false) {
                let boundary = "batch_ml_contract"
                let root = URL(string: connection.serviceRoot)?.path ?? "/b1s/v1"
                let body = "--\(boundary)\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET \(root)/BusinessPartners?$select=CardCode&$top=1\r\n\r\n\r\n--\(boundary)--\r\n"
                let reply = try await client.call("POST", "$batch", rawBody: Data(body.utf8), contentType: "multipart/mixed;boundary=\(boundary)")
                try expect([200, 202].contains(reply.status), "answered \(reply.status): \(reply.excerpt)")
                let type = reply.headers.first { $0.0.lowercased() == "content-type" }?.1 ?? ""
                try expect(type.lowercased().hasPrefix("multipart/mixed") && type.contains("boundary="), "Content-Type is \(type)")
                let text = String(decoding: reply.body, as: UTF8.self)
                try expect(text.contains("HTTP/1.1 200"), "no 200 part in the answer")
                return "\(reply.status), \(type.split(separator: ";").first ?? "")"
            },
            Check(name: "a service purchase invoice is created with DocEntry/DocNum and found again by NumAtCard", intrusive: true) {
                let (supplier, account) = try await postingTargets()
                let marker = "ML-CONTRACT-\(UUID().uuidString.prefix(8))"
                let created = try await client.json("POST", "PurchaseInvoices", body: [
                    "CardCode": .string(supplier), "DocType": "dDocument_Service", "NumAtCard": .string(marker), "Comments": "ml-connector contract check",
                    "DocumentLines": [["ItemDescription": "contract check", "AccountCode": .string(account), "LineTotal": 12.5]],
                ], what: "a purchase invoice")
                try expect(created["DocEntry"]?.doubleValue != nil && created["DocNum"]?.doubleValue != nil, "no DocEntry/DocNum in the answer")
                try expect(created["DocTotal"]?.doubleValue == 12.5, "DocTotal is \(created["DocTotal"]?.scalarText ?? "absent"), not 12.5")
                let found = try await client.json("GET", "PurchaseInvoices?$select=DocEntry,NumAtCard&$filter=NumAtCard%20eq%20'\(marker)'", what: "PurchaseInvoices")
                try expect(found["value"]?.arrayValue?.first?["DocEntry"] == created["DocEntry"], "NumAtCard \(marker) does not find the new invoice")
                let entry = created["DocEntry"]!.scalarText
                let patched = try await client.call("PATCH", "PurchaseInvoices(\(entry))", body: ["Comments": "ml-connector contract check, patched"])
                try expect(patched.status == 204, "PATCH answered \(patched.status), not 204")
                let reread = try await client.json("GET", "PurchaseInvoices(\(entry))?$select=Comments", what: "the patched invoice")
                try expect(reread["Comments"] == "ml-connector contract check, patched", "the PATCH was not stored")
                return "DocEntry \(entry) (\(marker), 12.50, patched, left in the sandbox)"
            },
            Check(name: "a balanced journal entry carrying U_PROCORE_ID is created with JdtNum and found again by that UDF (flow 002's look-up)", intrusive: true) {
                let (_, account) = try await postingTargets()
                let marker = "contract:\(UUID().uuidString.prefix(8).lowercased())"
                let reply = try await client.call("POST", "JournalEntries", body: [
                    "Memo": "ml-connector contract check", "Reference": "ML-CONTRACT-JE", "U_PROCORE_ID": .string(marker),
                    "JournalEntryLines": [["AccountCode": .string(account), "Debit": 2.5, "Credit": 0], ["AccountCode": .string(account), "Debit": 0, "Credit": 2.5]],
                ])
                if reply.status == 400, let error = SAPB1Error(reply), error.message.contains("U_PROCORE_ID") {
                    throw Broken("the company has no U_PROCORE_ID field on journal entries (\(error.code): \(error.message)); create the UDF PROCORE_ID on OJDT and OPCH (UserFieldsMD) and restart the Service Layer")
                }
                try expect(reply.status == 201, "answered \(reply.status): \(reply.excerpt)")
                let created = try JSONValue(parsing: reply.body)
                guard let number = created["JdtNum"]?.scalarText else { throw Broken("no JdtNum in the answer") }
                let filter = "U_PROCORE_ID eq '\(marker)'".percentEncoded(keeping: "-._~'")
                let found = try await client.json("GET", "JournalEntries?$select=JdtNum&$filter=\(filter)", what: "JournalEntries by U_PROCORE_ID")
                try expect(found["value"]?.arrayValue?.first?["JdtNum"]?.scalarText == number, "U_PROCORE_ID \(marker) does not find journal entry \(number)")
                return "JdtNum \(number) (\(marker), left in the sandbox)"
            },
            Check(name: "an unbalanced journal entry is refused with 400", intrusive: true) {
                let (_, account) = try await postingTargets()
                let reply = try await client.call("POST", "JournalEntries", body: [
                    "Memo": "ml-connector contract check", "Reference": "ML-CONTRACT-UNBALANCED",
                    "JournalEntryLines": [["AccountCode": .string(account), "Debit": 1.0, "Credit": 0], ["AccountCode": .string(account), "Debit": 0, "Credit": 0.5]],
                ])
                try expect(reply.status == 400, "answered \(reply.status)")
                return "400 \(SAPB1Error(reply).map { "\($0.code): \($0.message)" } ?? "")"
            },
            Check(name: "an unknown business partner is refused with 400", intrusive: true) {
                let (_, account) = try await postingTargets()
                let reply = try await client.call("POST", "PurchaseInvoices", body: [
                    "CardCode": "ZZ-ML-CONTRACT", "DocType": "dDocument_Service",
                    "DocumentLines": [["ItemDescription": "contract check", "AccountCode": .string(account), "LineTotal": 1.0]],
                ])
                try expect(reply.status == 400, "answered \(reply.status)")
                return "400 \(SAPB1Error(reply).map { "\($0.code): \($0.message)" } ?? "")"
            },
        ]
        let outcomes = await run(checks, system: "sapb1", allowIntrusive: allowIntrusive)
        await client.logout()
        return outcomes
    }

    // MARK: Infor CloudSuite

    public static func cloudsuite(_ connection: CloudSuiteConnection, http: HTTPClient, logger: Logger, allowIntrusive: Bool, clock: any SyncClock = SystemClock()) async -> [Outcome] {
        let raw = transport(http, "cloudsuite", logger, clock)
        let file = connection.ionapi
        let client = CloudSuiteClient(connection: connection, transport: raw)
        let basic = file.clientAuthorization
        func token(_ form: [(String, String)], basicAuth: Bool = true) async throws -> HTTPReply {
            let text = form.map { "\($0.0)=\($0.1.percentEncoded())" }.joined(separator: "&")
            return try await raw.send("POST", file.tokenURL, headers: (basicAuth ? [("Authorization", basic)] : []) + [("Content-Type", "application/x-www-form-urlencoded")],
                                      body: Data(text.utf8))
        }
        let password = [("grant_type", "password"), ("username", file.serviceAccountAccessKey), ("password", file.serviceAccountSecretKey)]
        func mi(_ path: String, bearer: String) async throws -> HTTPReply {
            try await raw.send("GET", "\(file.apiBase)/M3/m3api-rest/v2/execute/\(path)", headers: [("Authorization", "Bearer \(bearer)"), ("Accept", "application/json")])
        }
        let checks = [
            Check(name: "the password grant with Basic client auth gives a Bearer token with expires_in", intrusive: false) {
                let body = try json(try await token(password))
                try expect(body["access_token"]?.stringValue != nil, "no access_token")
                try expect(body["token_type"]?.stringValue?.lowercased() == "bearer", "token_type is not Bearer")
                try expect(body["expires_in"] != nil, "no expires_in")
                return "expires_in \(body["expires_in"]!.scalarText) s, refresh token \(body["refresh_token"] == nil ? "not issued" : "issued")"
            },
            Check(name: "client id and secret as form fields are accepted too", intrusive: false) {
                let reply = try await token(password + [("client_id", file.clientID), ("client_secret", file.clientSecret)], basicAuth: false)
                try expect(reply.status == 200, "answered \(reply.status): \(reply.excerpt)")
                return "200"
            },
            Check(name: "a wrong service-account secret is refused with invalid_grant", intrusive: true) {
                let reply = try await token([("grant_type", "password"), ("username", file.serviceAccountAccessKey), ("password", "ml-connector-contract-wrong")])
                try expect([400, 401].contains(reply.status), "answered \(reply.status)")
                try expect(try json(reply)["error"] == "invalid_grant", "error is not invalid_grant")
                return "\(reply.status) invalid_grant"
            },
            Check(name: "the gateway answers 401 to an unknown token before M3 runs", intrusive: false) {
                let reply = try await mi("CRS620MI/LstSuppliers", bearer: "ml-connector-contract-invalid")
                try expect(reply.status == 401, "answered \(reply.status)")
                return "401"
            },
            Check(name: "MI answers the results envelope (nrOfSuccessfullTransactions) with string values; maxrecs caps silently", intrusive: false) {
                guard let bearer = try json(try await token(password))["access_token"]?.stringValue else { throw Broken("no token") }
                let company = connection.company.map { "?cono=\($0)" } ?? ""
                let body = try json(try await mi("CRS620MI/LstSuppliers;maxrecs=1\(company)\(company.isEmpty ? "?" : "&")maxrecs=1", bearer: bearer))
                try expect(body["nrOfSuccessfullTransactions"] != nil, "no nrOfSuccessfullTransactions (M3 spells it with two l)")
                let result = body["results"]?.arrayValue?.first
                try expect(result?["errorMessage"] == nil, "M3 refused: \(result?["errorMessage"]?.stringValue ?? "")")
                let records = result?["records"]?.arrayValue ?? []
                try expect(records.count <= 1, "maxrecs=1 returned \(records.count) records")
                try expect(records.allSatisfy { ($0.objectValue ?? [:]).values.allSatisfy { $0.stringValue != nil } }, "a record value is not a string")
                return "\(records.count) record(s)"
            },
            Check(name: "an unknown supplier is ServerReturnedNOK WSU0103 inside HTTP 200", intrusive: false) {
                let answer = try await client.execute("CRS620MI", "GetBasicData", fields: [("SUNO", "ZZMLC0NTR")])
                try expect(answer.error?.code == "WSU0103", "answered \(answer.error.map { "\($0)" } ?? "records")")
                try expect(answer.error?.type == "ServerReturnedNOK", "errorType \(answer.error?.type ?? "absent")")
                return answer.error!.message
            },
            Check(name: "a missing mandatory field is MandatoryInputFieldNotFound", intrusive: false) {
                let answer = try await client.execute("CRS620MI", "GetBasicData")
                try expect(answer.error?.type == "MandatoryInputFieldNotFound", "answered \(answer.error.map { "\($0)" } ?? "records")")
                return "\(answer.error!)"
            },
            Check(name: "revoking the refresh token ends its access token", intrusive: false) {
                let body = try json(try await token(password))
                guard let access = body["access_token"]?.stringValue else { throw Broken("no token") }
                guard let refresh = body["refresh_token"]?.stringValue, let revoke = file.revokeURL else { return "no refresh token issued: nothing to revoke" }
                let reply = try await raw.send("POST", revoke, headers: [("Authorization", basic), ("Content-Type", "application/x-www-form-urlencoded")],
                                               body: Data("token=\(refresh.percentEncoded())&token_type_hint=refresh_token".utf8))
                try expect(reply.status == 200, "revoke answered \(reply.status)")
                let after = try await mi("CRS620MI/LstSuppliers;maxrecs=1", bearer: access)
                try expect(after.status == 401, "the access token still works after its refresh token was revoked (\(after.status))")
                return "revoked; the access token answers 401"
            },
            Check(name: "PPS200MI/GetHead for an unknown purchase order is WPU0803", intrusive: false) {
                let answer = try await client.execute("PPS200MI", "GetHead", fields: [("PUNO", "ZZMLC0NTR")])
                try expect(answer.error?.code == "WPU0803", "answered \(answer.error.map { "\($0)" } ?? "records")")
                return answer.error!.message
            },
            Check(name: "APS450MI/LstInvBySupInv (the invoice duplicate check) finds nothing for an unknown invoice number", intrusive: false) {
                guard let supplier = try await client.execute("CRS620MI", "LstSuppliers", maxRecords: 1).records.first?["SUNO"] else {
                    return "no supplier to check with"
                }
                let answer = try await client.execute("APS450MI", "LstInvBySupInv", fields: [("SPYN", supplier), ("SUNO", supplier), ("SINO", "MLC-\(UUID().uuidString.prefix(8))")])
                try expect(answer.error == nil, "M3 refused: \(answer.error.map { "\($0)" } ?? "")")
                try expect(answer.records.isEmpty, "\(answer.records.count) invoice(s) for an unknown number")
                return "no records for supplier \(supplier)"
            },
            Check(name: "righttrim=true answers values without trailing blanks; without it M3 may pad them to the field length", intrusive: false) {
                let bearer = try json(try await token(password))["access_token"]?.stringValue ?? ""
                func first(_ trim: String) async throws -> [String: JSONValue] {
                    let reply = try await mi("CRS620MI/LstSuppliers;maxrecs=1?maxrecs=1&righttrim=\(trim)", bearer: bearer)
                    try expect(reply.status == 200, "answered \(reply.status)")
                    return try json(reply)["results"]?.arrayValue?.first?["records"]?.arrayValue?.first?.objectValue ?? [:]
                }
                let trimmed = try await first("true")
                guard !trimmed.isEmpty else { return "no supplier to check with" }
                let blank = trimmed.first { $0.value.stringValue?.hasSuffix(" ") == true }
                try expect(blank == nil, "\(blank?.key ?? "") ends in a blank although righttrim=true")
                let untrimmed = try await first("false")
                let padded = untrimmed.contains { $0.value.stringValue?.hasSuffix(" ") == true }
                return "trimmed with righttrim=true; untrimmed values \(padded ? "come padded" : "come without padding")"
            },
            Check(name: "PPS370MI refuses a date M3 cannot read (N8 YYYYMMDD) and an unknown facility, naming the field", intrusive: true) {
                let start = try await client.execute("PPS370MI", "StartEntry", fields: [("BAOR", "MLC")])
                guard let message = start.records.first?["MSGN"] else { throw Broken("StartEntry answered no MSGN: \(start.error.map { "\($0)" } ?? "")") }
                let supplier = try await client.execute("CRS620MI", "LstSuppliers", maxRecords: 1).records.first?["SUNO"] ?? ""
                let date = try await client.execute("PPS370MI", "AddHead", fields: [("MSGN", message), ("FACI", "A01"), ("WHLO", "100"), ("SUNO", supplier), ("DWDT", "2026-13-45")])
                let facility = try await client.execute("PPS370MI", "AddHead", fields: [("MSGN", message), ("FACI", "Q9Q"), ("WHLO", "Q9Q"), ("SUNO", supplier), ("DWDT", "20260301")])
                _ = try await client.execute("PPS370MI", "DeleteEntry", fields: [("MSGN", message)])  // nothing is left staged
                try expect(!supplier.isEmpty, "no supplier to check with")
                try expect(date.error?.field == "DWDT", "an unreadable DWDT answered \(date.error.map { "\($0)" } ?? "records")")
                try expect(facility.error?.field == "FACI" || facility.error?.field == "WHLO", "an unknown facility answered \(facility.error.map { "\($0)" } ?? "records")")
                return "\(date.error!.code.isEmpty ? date.error!.type : date.error!.code): \(date.error!.message); \(facility.error!.code): \(facility.error!.message)"
            },
            Check(name: "AddSupplier is not idempotent: the same SUNO twice is refused as already existing", intrusive: true) {
                let number = "MLC" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(7))
                let fields = [("SUNO", number), ("SUNM", "ml-connector contract check"), ("CUCD", "USD")]
                let first = try await client.execute("CRS620MI", "AddSupplier", fields: fields)
                try expect(first.error == nil, "the first AddSupplier failed: \(first.error.map { "\($0)" } ?? "") — the tenant may need more fields (a template)")
                let second = try await client.execute("CRS620MI", "AddSupplier", fields: fields)
                try expect(second.error?.type == "ServerReturnedNOK", "a second AddSupplier answered \(second.error.map { "\($0)" } ?? "records")")
                let read = try await client.execute("CRS620MI", "GetBasicData", fields: [("SUNO", number)])
                try expect(read.records.first?["SUNM"] == "ml-connector contract check", "GetBasicData does not return the new supplier")
                return "\(number) created (left in the tenant), then \(second.error!.code) on the second add"
            },
        ]
        let outcomes = await run(checks, system: "cloudsuite", allowIntrusive: allowIntrusive)
        await client.revoke()
        return outcomes
    }
}
