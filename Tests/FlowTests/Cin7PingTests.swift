import AsyncHTTPClient
import Cin7Client
import Cin7Simulator
import ConnectorApp
import Foundation
import Logging
import SimulatorKit
import SyncEngine
import Testing

/// The Cin7 Core simulator's auth and read paths, and `ping cin7` against it.
@Suite(.serialized, .timeLimit(.minutes(3))) struct Cin7PingTests {
    /// The one clock of each test: the simulator's and the ping's.
    let clock = ManualClock()

    func withCin7(_ body: @Sendable (SimulatorCore, Cin7Backend, Cin7Connection, HTTPClient) async throws -> Void) async throws {
        let (core, backend) = Cin7Simulator.makeCore(clock: clock)
        try await backend.seed(DemoData.generate(purchaseOrders: 1, today: clock.now()).cin7)
        try await SimulatorHost.withRunning([core]) { urls in
            // the base segment in lower case: Cin7 matches paths case-insensitively
            let connection = Cin7Connection(
                baseURL: urls["cin7"]! + "/externalapi/v2", accountID: DemoData.cin7AccountID, applicationKey: DemoData.cin7ApplicationKey)
            try await HTTPClient.withHTTPClient { http in try await body(core, backend, connection, http) }
        }
    }

    @Test func simulatorSpeaksCin7() async throws {
        let clock = ManualClock()
        let (core, backend) = Cin7Simulator.makeCore(clock: clock)
        try await backend.seed(DemoData.generate(purchaseOrders: 1, today: clock.now()).cin7)
        let auth = ["api-auth-accountid": DemoData.cin7AccountID, "api-auth-applicationkey": DemoData.cin7ApplicationKey]
        let page = await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/Supplier", rawQuery: "page=2&limit=3", headers: auth))
        let body = try JSONDecoder().decode(JSONValue.self, from: page.body)
        #expect(body["Total"] == 8)
        #expect(body["Page"] == 2)
        #expect(body["SupplierList"]?.arrayValue?.count == 3)
        let denied = await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: ["api-auth-accountid": DemoData.cin7AccountID]))
        #expect(denied.status == 403)
        #expect(try JSONDecoder().decode(JSONValue.self, from: denied.body).arrayValue?.first?["ErrorCode"] == 403)
        #expect(await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/Products", headers: auth)).status == 404)
        var settings = Cin7Backend.Settings()
        settings.callsPerMinute = 2
        await backend.setSettings(settings)
        clock.advance(by: .seconds(60))  // a fresh minute: two calls pass, the third is throttled
        #expect(await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: auth)).status == 200)
        #expect(await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: auth)).status == 200)
        let throttled = await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: auth))
        #expect(throttled.status == 503)
        // Cin7's documented text, naming the limit in force (60 on a real application)
        #expect(String(decoding: throttled.body, as: UTF8.self).contains("You reached 2 calls per minute API limit"))
        clock.advance(by: .seconds(60))
        #expect(await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: auth)).status == 200)
    }

    /// Look-ups by a code that does not exist find nothing, not the whole chart or catalogue.
    @Test func accountAndProductLookUpsApplyTheirFilters() async throws {
        let clock = ManualClock()
        let (core, backend) = Cin7Simulator.makeCore(clock: clock)
        try await backend.seed(DemoData.generate(purchaseOrders: 1, today: clock.now()).cin7)
        let auth = ["api-auth-accountid": DemoData.cin7AccountID, "api-auth-applicationkey": DemoData.cin7ApplicationKey]
        func list(_ path: String, _ query: String, _ key: String) async throws -> [JSONValue] {
            let reply = await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/" + path, rawQuery: query, headers: auth))
            #expect(reply.status == 200)
            return try #require(try JSONValue(parsing: reply.body)[key]?.arrayValue)
        }
        let chart = try await list("ref/account", "", "AccountsList")
        #expect(chart.count > 1)
        let code = try #require(chart.first?["Code"]?.stringValue)
        #expect(try await list("ref/account", "Code=\(code)", "AccountsList").count == 1)
        #expect(try await list("ref/account", "code=NO-SUCH-ACCOUNT", "AccountsList").isEmpty)
        let name = try #require(chart.first?["Name"]?.stringValue)
        #expect(try await list("ref/account", "Name=" + String(name.prefix(3)).percentEncoded(), "AccountsList").contains { $0["Code"]?.stringValue == code })
        let products = try await list("product", "", "Products")
        let sku = try #require(products.first?["SKU"]?.stringValue)
        #expect(try await list("product", "Sku=\(sku.percentEncoded())", "Products").count == 1)
        #expect(try await list("product", "Sku=NO-SUCH-SKU", "Products").isEmpty)
    }

    /// Calls the Cin7 simulator with the demo application's headers: `send("GET", "supplier", "Limit=1")`.
    struct Cin7Caller: Sendable {
        let core: SimulatorCore
        func callAsFunction(_ method: String, _ path: String, _ query: String = "", _ body: JSONValue? = nil) async throws -> (Int, JSONValue) {
            let auth = ["api-auth-accountid": DemoData.cin7AccountID, "api-auth-applicationkey": DemoData.cin7ApplicationKey]
            let reply = await core.respond(SimRequest(method: method, path: "/ExternalApi/v2/" + path, rawQuery: query, headers: auth,
                                                      body: body?.jsonData() ?? Data()))
            return (reply.status, (try? JSONValue(parsing: reply.body)) ?? .null)
        }
    }

    /// A Cin7 simulator with the demo data and a budget high enough that a test about the rules
    /// never meets the 60/min limit.
    func unthrottledCin7() async throws -> (ManualClock, Cin7Caller) {
        let clock = ManualClock()
        let (core, backend) = Cin7Simulator.makeCore(clock: clock)
        try await backend.seed(DemoData.generate(purchaseOrders: 1, today: clock.now()).cin7)
        var settings = Cin7Backend.Settings()
        settings.callsPerMinute = 1_000
        await backend.setSettings(settings)
        return (clock, Cin7Caller(core: core))
    }

    @Test func suppliersAndThePurchaseStateMachine() async throws {
        let (clock, send) = try await unthrottledCin7()
        // suppliers: validation, the list envelope on save, look-up by name, deprecation by PUT
        let (bad, refusal) = try await send("POST", "supplier", "", ["Name": "X", "Currency": "USD", "PaymentTerm": "90 days", "AccountPayable": "800", "TaxRule": "Tax Exempt"])
        #expect(bad == 400)
        #expect(refusal.arrayValue?.first?["Exception"] == "Payment Term '90 days' not found.")
        clock.advance(by: .seconds(60))
        let (status, saved) = try await send("POST", "supplier", "", [
            "Name": "Mill Road Steel", "Currency": "USD", "PaymentTerm": "30 days", "AccountPayable": "800", "TaxRule": "Tax Exempt",
            "Addresses": [["Line1": "12 Mill Rd", "Country": "United States", "Type": "Business"]],
        ])
        #expect(status == 200)
        let supplier = try #require(saved["SupplierList"]?.arrayValue?.first)
        let id = try #require(supplier["ID"]?.stringValue)
        #expect(supplier["Addresses"]?.arrayValue?.first?["SupplierID"] == .string(id))
        #expect(try await send("GET", "supplier", "name=mill%20road").1["SupplierList"]?.arrayValue?.count == 1)
        #expect(try await send("GET", "supplier", "ModifiedSince=2026-01-06T00:00:00Z").1["SupplierList"]?.arrayValue?.count == 1)  // only the new one
        #expect(try await send("PUT", "supplier", "", ["ID": .string(id), "Status": "Deprecated"]).1["SupplierList"]?.arrayValue?.first?["Status"] == "Deprecated")
        #expect(try await send("GET", "supplier", "Name=Mill").1["SupplierList"] == [])  // deprecated ones are hidden by default
        #expect(try await send("GET", "supplier", "Name=Mill&IncludeDeprecated=true").1["SupplierList"]?.arrayValue?.count == 1)
        #expect(try await send("DELETE", "supplier").0 == 405)

        // purchases: STOCK first — no invoice before the stock is received
        let supplierID = try #require(try await send("GET", "supplier", "Limit=1").1["SupplierList"]?.arrayValue?.first?["ID"])
        let (_, header) = try await send("POST", "purchase", "", ["SupplierID": supplierID, "Approach": "STOCK"])
        let task = try #require(header["ID"])
        #expect(header["OrderNumber"] == "PO-00001")
        #expect(header["Status"] == "DRAFT")
        let product: JSONValue = .string(String(format: "c08b3876-89cc-46c4-af52-%012d", 1))  // the first demo product
        let line: JSONValue = ["ProductID": product, "Name": "Steel", "Quantity": 4, "Price": 25, "Discount": 10, "Tax": 0, "TaxRule": "Tax Exempt", "Total": 90]
        var wrongTotal = line.objectValue!
        wrongTotal["Total"] = 100
        #expect(try await send("POST", "purchase/order", "", ["TaskID": task, "Status": "AUTHORISED", "Lines": [.object(wrongTotal)]]).0 == 400)
        let invoiceLine: JSONValue = .object(line.objectValue!.merging(["Account": "630"]) { _, new in new })
        let early = try await send("POST", "purchase/invoice", "", ["TaskID": task, "Status": "AUTHORISED", "Lines": [invoiceLine]])
        #expect(early.0 == 400)
        #expect(early.1.arrayValue?.first?["Exception"] == "Order should be authorised first.")
        #expect(try await send("POST", "purchase/order", "", ["TaskID": task, "Status": "AUTHORISED", "Lines": [line]]).1["Total"] == 90)
        #expect(try await send("POST", "purchase/order", "", ["TaskID": task, "Status": "AUTHORISED", "Lines": [line]]).0 == 400)  // once only
        let stockFirst = try await send("POST", "purchase/invoice", "", ["TaskID": task, "Status": "AUTHORISED", "Lines": [invoiceLine]])
        #expect(stockFirst.1.arrayValue?.first?["Exception"]?.stringValue?.contains("Stock First") == true)
        #expect(try await send("POST", "purchase/stock", "", ["TaskID": task, "Status": "AUTHORISED",
                                                               "Lines": [["ProductID": product, "Quantity": 4, "Date": "2026-03-06T00:00:00", "Location": "Main"]]]).0 == 200)
        #expect(try await send("GET", "purchase", "ID=\(task.scalarText)").1["Status"] == "RECEIVED")
        var noAccount = line.objectValue!
        noAccount["Account"] = "999"
        #expect(try await send("POST", "purchase/invoice", "", ["TaskID": task, "Status": "AUTHORISED", "Lines": [.object(noAccount)]]).1
            .arrayValue?.first?["Exception"] == "Line 1: Account '999' not found in Chart of Accounts.")
        let invoice = try await send("POST", "purchase/invoice", "", ["TaskID": task, "Status": "AUTHORISED", "InvoiceNumber": "SYS-INV-88123", "Lines": [invoiceLine]])
        #expect(invoice.1["InvoiceNumber"] == "SYS-INV-88123")
        let done = try await send("GET", "purchase", "ID=\(task.scalarText)").1
        #expect(done["Status"] == "COMPLETED")
        #expect(try await send("GET", "purchaseList", "Search=SYS-INV-88123").1["PurchaseList"]?.arrayValue?.first?["ID"] == task)
        #expect(try await send("GET", "purchaseList", "Search=nothing-like-it").1["Total"] == 0)
        let unknown = try await send("GET", "purchase", "ID=00000000-0000-0000-0000-000000000000")
        #expect(unknown.0 == 400)
        #expect(unknown.1.arrayValue?.first?["Exception"]?.stringValue?.contains("not found") == true)
    }

    /// `advanced-purchase` (cin7.md §4.7): every purchase reads in the array shape, simple ones
    /// too; an advanced one takes several receipts and invoices, each with its own TaskID.
    @Test func advancedPurchasesReadForEveryPurchaseAndTakeSeveralInvoices() async throws {
        let (_, send) = try await unthrottledCin7()
        let supplierID = try #require(try await send("GET", "supplier", "Limit=1").1["SupplierList"]?.arrayValue?.first?["ID"])
        let product: JSONValue = .string(String(format: "c08b3876-89cc-46c4-af52-%012d", 1))
        let line: JSONValue = ["ProductID": product, "Name": "Steel", "Quantity": 4, "Price": 25, "Discount": 0, "Tax": 0, "TaxRule": "Tax Exempt", "Total": 100]
        let invoiceLine: JSONValue = .object(line.objectValue!.merging(["Account": "630"]) { _, new in new })
        // a simple purchase, read through advanced-purchase: the documents become arrays
        let simple = try #require(try await send("POST", "purchase", "", ["SupplierID": supplierID, "Approach": "INVOICE"]).1["ID"])
        #expect(try await send("GET", "advanced-purchase", "ID=\(simple.scalarText)").1["Invoice"] == [])
        _ = try await send("POST", "purchase/order", "", ["TaskID": simple, "Status": "AUTHORISED", "Lines": [line]])
        _ = try await send("POST", "purchase/invoice", "", ["TaskID": simple, "Status": "AUTHORISED", "InvoiceNumber": "INV-S1", "Lines": [invoiceLine]])
        let read = try await send("GET", "advanced-purchase", "ID=\(simple.scalarText)&CombineAdditionalCharges=true")
        #expect(read.0 == 200)
        #expect(read.1["Type"] == "Simple Purchase")
        #expect(read.1["Invoice"]?.arrayValue?.map { $0["InvoiceNumber"] } == ["INV-S1"])
        #expect(read.1["Invoice"]?.arrayValue?.first?["TaskID"] == simple)
        #expect(read.1["StockReceived"] == [])
        // a simple purchase takes no second invoice and no advanced documents
        #expect(try await send("POST", "purchase/invoice", "", ["TaskID": simple, "Status": "AUTHORISED", "Lines": [invoiceLine]]).0 == 400)
        #expect(try await send("POST", "advanced-purchase/invoice", "", ["PurchaseID": simple, "Status": "AUTHORISED", "Lines": [invoiceLine]]).0 == 400)
        // an advanced purchase: order once, then two invoices and two receipts
        let created = try await send("POST", "advanced-purchase", "", ["SupplierID": supplierID, "Approach": "INVOICE", "PurchaseType": "Advanced"])
        #expect(created.0 == 200)
        let advanced = try #require(created.1["ID"])
        #expect(created.1["Invoice"] == [])
        let early = try await send("POST", "advanced-purchase/invoice", "", ["PurchaseID": advanced, "Status": "AUTHORISED", "Lines": [invoiceLine]])
        #expect(early.1.arrayValue?.first?["Exception"] == "Order should be authorised first.")
        _ = try await send("POST", "purchase/order", "", ["TaskID": advanced, "Status": "AUTHORISED", "Lines": [line, line]])
        let stockTooSoon = try await send("POST", "advanced-purchase/stock", "", ["PurchaseID": advanced, "Status": "AUTHORISED",
                                                                                   "Lines": [["ProductID": product, "Quantity": 4, "Date": "2026-03-06T00:00:00"]]])
        #expect(stockTooSoon.1.arrayValue?.first?["Exception"]?.stringValue?.contains("Invoice First") == true)
        let first = try await send("POST", "advanced-purchase/invoice", "", ["PurchaseID": advanced, "Status": "DRAFT", "InvoiceNumber": "INV-A1", "Lines": [invoiceLine]])
        let firstTask = try #require(first.1["TaskID"])
        #expect(first.1["PurchaseID"] == advanced)
        #expect(firstTask != advanced)
        // the DRAFT invoice is updated by its TaskID, not duplicated
        _ = try await send("POST", "advanced-purchase/invoice", "", ["PurchaseID": advanced, "TaskID": firstTask, "Status": "AUTHORISED", "InvoiceNumber": "INV-A1", "Lines": [invoiceLine]])
        #expect(try await send("POST", "advanced-purchase/invoice", "", ["PurchaseID": advanced, "TaskID": firstTask, "Status": "AUTHORISED", "Lines": [invoiceLine]]).0 == 400)
        _ = try await send("POST", "advanced-purchase/invoice", "", ["PurchaseID": advanced, "Status": "AUTHORISED", "InvoiceNumber": "INV-A2", "Lines": [invoiceLine]])
        for _ in 0..<2 {
            #expect(try await send("POST", "advanced-purchase/stock", "", ["PurchaseID": advanced, "Status": "AUTHORISED",
                                                                            "Lines": [["ProductID": product, "Quantity": 4, "Date": "2026-03-06T00:00:00"]]]).0 == 200)
        }
        let whole = try await send("GET", "advanced-purchase", "ID=\(advanced.scalarText)").1
        #expect(whole["Type"] == "Advanced Purchase")
        #expect(whole["Invoice"]?.arrayValue?.map { $0["InvoiceNumber"] } == ["INV-A1", "INV-A2"])
        #expect(Set(whole["Invoice"]?.arrayValue?.compactMap { $0["TaskID"] } ?? []).count == 2)
        #expect(whole["StockReceived"]?.arrayValue?.count == 2)
        #expect(whole["Status"] == "COMPLETED")
        let listed = try await send("GET", "purchaseList", "Search=INV-A2").1["PurchaseList"]?.arrayValue?.first
        #expect(listed?["Type"] == "Advanced Purchase")
        #expect(listed?["InvoiceAmount"] == 200)
        // its invoices go through the advanced endpoints only
        #expect(try await send("POST", "purchase/invoice", "", ["TaskID": advanced, "Status": "AUTHORISED", "Lines": [invoiceLine]]).0 == 400)
    }

    @Test func pingSucceedsAndNamesBadKeysAndThrottling() async throws {
        try await withCin7 { core, backend, connection, http in
            let ok = await Ping.cin7(connection, name: "cin7", http: http, logger: quiet, clock: clock)
            #expect(ok.ok, "\(Ping.describe(ok))")
            #expect(ok.read == "Acme Builders Supply; 8 supplier(s)")
            #expect(ok.rateLimit == "60 calls per minute per API application (documented)")
            // a rate-limit header the system does send is reported as it came
            core.faults.add(FaultRule(path: "*/me", nth: 1, effect: FaultEffect(headers: ["X-RateLimit-Remaining": "57"])))
            let reported = await Ping.cin7(connection, name: "cin7", http: http, logger: quiet, clock: clock)
            #expect(reported.rateLimit == "60 calls per minute per API application (documented); headers: X-RateLimit-Remaining=57")
            var wrong = connection
            wrong.applicationKey = "00000000-0000-0000-0000-000000000000"
            let denied = await Ping.cin7(wrong, name: "cin7", http: http, logger: quiet, clock: clock)
            #expect(denied.failure?.category == .badCredentials)
            #expect(denied.reachable)
            var settings = Cin7Backend.Settings()
            settings.callsPerMinute = 1  // the pings above used this minute up
            await backend.setSettings(settings)
            #expect(await Ping.cin7(connection, name: "cin7", http: http, logger: quiet, clock: clock).failure?.category == .rateLimited)
        }
    }
}
