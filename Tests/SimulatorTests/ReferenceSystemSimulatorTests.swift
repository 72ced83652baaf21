import CloudSuiteSimulator
import Foundation
import ProcurifySimulator
import SAPB1Simulator
import SimulatorKit
import SyncEngine
import Testing

func decode(_ response: SimResponse) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: response.body) }

/// Procurify simulator fidelity (procurify.md §10).
@Suite(.timeLimit(.minutes(2))) struct ProcurifySimulatorTests {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let core: SimulatorCore
    let backend: ProcurifyBackend

    init() async throws {
        (core, backend) = ProcurifySimulator.makeCore(clock: clock)
        try await backend.seed([
            "applications": [["clientId": "cid", "clientSecret": "sec", "email": "api@acme.example"],
                             ["clientId": "weak", "clientSecret": "sec2", "email": "clerk@acme.example", "permitted": false]],
            "vendors": .array((1...5).map { ["id": .number(Double($0)), "name": .string("Vendor \($0)"), "external_id": .string("V\($0)"), "email": []] }),
            "currencies": [["id": 3, "name": "USD", "rate": "1.000000", "base": true, "active": true]],
        ])
    }

    func token(_ id: String = "cid", _ secret: String = "sec", form: Bool = false) async -> SimResponse {
        if form {
            return await core.respond(SimRequest(method: "POST", path: "/oauth/token", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                                 body: Data("grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)".utf8)))
        }
        let body = #"{"client_id":"\#(id)","client_secret":"\#(secret)","audience":"https://api.procurify.com/","grant_type":"client_credentials"}"#
        return await core.respond(SimRequest(method: "POST", path: "/oauth/token", headers: ["Content-Type": "application/json"], body: Data(body.utf8)))
    }

    func get(_ path: String, _ query: String = "", token: String) async -> SimResponse {
        await core.respond(SimRequest(method: "GET", path: path, rawQuery: query, headers: ["Authorization": "Bearer \(token)"], origin: "http://127.0.0.1:9999"))
    }

    @Test func tokensInJSONOrFormLastADayAndExpireOnTheClock() async throws {
        let json = try decode(await token())
        #expect(json["expires_in"] == 86_400)
        #expect(json["token_type"] == "Bearer")
        #expect(json["scope"]?.stringValue?.contains("urn:procurify-api:email:api@acme.example") == true)
        #expect(json["refresh_token"] == nil)
        #expect(await token(form: true).status == 200)
        let wrong = await token("cid", "nope")
        #expect(wrong.status == 401)
        #expect(try decode(wrong)["error"] == "access_denied")
        let grant = await core.respond(SimRequest(method: "POST", path: "/oauth/token", headers: ["Content-Type": "application/json"],
                                                  body: Data(#"{"grant_type":"password","client_id":"cid","client_secret":"sec"}"#.utf8)))
        #expect(grant.status == 400)
        #expect(try decode(grant)["error"] == "unsupported_grant_type")
        let bearer = try #require(json["access_token"]?.stringValue)
        #expect(await get("/api/v3/users/me/", token: bearer).status == 200)
        clock.advance(by: .seconds(86_400))
        let expired = await get("/api/v3/users/me/", token: bearer)
        #expect(expired.status == 401)
        #expect(try decode(expired)["detail"] == "Invalid token.")
    }

    @Test func listsPageWithAbsoluteLinksWithOrWithoutTheSlash() async throws {
        let bearer = try #require(try decode(await token())["access_token"]?.stringValue)
        let first = try decode(await get("/api/v3/vendors/", "page_size=2&name=", token: bearer))
        #expect(first["metadata"]?["pagination"]?["count"] == 0)  // an equality filter on name=""
        let page = try decode(await get("/api/v3/vendors", "page_size=2", token: bearer))
        let pagination = try #require(page["metadata"]?["pagination"])
        #expect(pagination["count"] == 5)
        #expect(pagination["num_pages"] == 3)
        #expect(pagination["previous"] == .null)
        #expect(pagination["next"] == "http://127.0.0.1:9999/api/v3/vendors/?page_size=2&page=2")
        #expect(page["data"]?.arrayValue?.count == 2)
        let last = try decode(await get("/api/v3/vendors/", "page_size=2&page=3", token: bearer))
        #expect(last["metadata"]?["pagination"]?["next"] == .null)
        #expect(last["data"]?.arrayValue?.count == 1)
        let past = await get("/api/v3/vendors/", "page=9", token: bearer)
        #expect(past.status == 404)
        #expect(try decode(past)["detail"] == "Invalid page.")
        let one = try decode(await get("/api/v3/vendors/3/", token: bearer))
        #expect(one["data"]?["external_id"] == "V3")
        #expect(await get("/api/v3/vendors/77/", token: bearer).status == 404)
    }

    func send(_ method: String, _ path: String, _ body: JSONValue, token: String) async -> SimResponse {
        await core.respond(SimRequest(method: method, path: path, headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
                                      body: body.jsonData(), origin: "http://127.0.0.1:9999"))
    }

    /// Flow 001's needs (procurify.md §§4, 6–8): a PO that appears only once its requisition is
    /// purchased, revisions that move `last_modified`, bill status changes, vendor and department
    /// writes with DRF's validation, payments read-only.
    @Test func purchasedRequisitionsRevisionsAndReferenceWrites() async throws {
        let first = try #require(try decode(await token())["access_token"]?.stringValue)
        #expect(try decode(await get("/api/v2/purchase_orders/purchased/all/", token: first))["data"] == [])
        clock.advance(by: .seconds(3600))
        let po = await backend.purchaseRequisition(["pref_vendor": ["id": 1, "name": "Vendor 1"], "total": "80.00",
                                                    "order_items": [["PO_line_num": 1, "quantity": "4.00", "price": "20.00", "account": ["id": 31]]]])
        let number = try #require(po["procurify_PO"]?.doubleValue)
        let listed = try decode(await get("/api/v2/purchase_orders/purchased/all/", token: first))["data"]?.arrayValue ?? []
        #expect(listed.map { $0["procurify_PO"]?.doubleValue } == [number])
        let day = String(SimDates.seconds(clock.now()).prefix(10))
        #expect(try decode(await get("/api/v2/purchase_orders/purchased/all/", "modified_date_0=\(day)", token: first))["data"]?.arrayValue?.count == 1)
        // a revision the next day: a poll from that day sees it, with the new quantity
        clock.advance(by: .seconds(86_400))
        let bearer = try #require(try decode(await token())["access_token"]?.stringValue)  // a day on: a fresh token
        let item = try #require(po["order_items"]?.arrayValue?.first?["id"])
        #expect(await backend.revisePurchaseOrder(number: Int(number), changes: ["total": "100.00"], items: [["id": item, "quantity": "5.00"]]))
        let nextDay = String(SimDates.seconds(clock.now()).prefix(10))
        let revised = try decode(await get("/api/v2/purchase_orders/purchased/all/", "modified_date_0=\(nextDay)", token: bearer))["data"]?.arrayValue ?? []
        #expect(revised.count == 1)
        #expect(try decode(await get("/api/v2/purchase_orders/\(Int(number))/", token: bearer))["data"]?["order_items"]?.arrayValue?.first?["quantity"] == "5.00")
        // vendors: create (201), validation in DRF's shape, PATCH, unknown id
        let created = await send("POST", "/api/v3/vendors/", ["name": "Northside Concrete", "email": ["ap@northside.example"], "type": 3, "external_id": "PROC02"], token: bearer)
        #expect(created.status == 201)
        let vendorID = try #require(try decode(created)["data"]?["id"]?.scalarText)
        let invalid = await send("POST", "/api/v3/vendors/", ["name": "", "email": "not-a-list"], token: bearer)
        #expect(invalid.status == 400)
        #expect(try decode(invalid)["type"] == ["This field is required."])
        #expect(try decode(invalid)["email"] != nil)
        #expect(await send("PATCH", "/api/v3/vendors/\(vendorID)/", ["external_id": "PROC02-B"], token: bearer).status == 200)
        #expect(try decode(await get("/api/v3/vendors/", "external_id=PROC02-B", token: bearer))["data"]?.arrayValue?.count == 1)
        #expect(await send("PATCH", "/api/v3/vendors/999/", ["name": "x"], token: bearer).status == 404)
        // departments: create and update; other writes stay 405
        let department = await send("POST", "/api/v3/departments/", ["branch": 1, "name": "Site Ops", "external_id": "CC-200"], token: bearer)
        #expect(department.status == 201)
        #expect(await send("POST", "/api/v3/departments/", ["name": "No branch"], token: bearer).status == 400)
        #expect(await send("POST", "/api/v2/currencies/", ["name": "EUR"], token: bearer).status == 405)
        #expect(await send("POST", "/api/public/v1/payments/", ["amount": 1], token: bearer).status == 405)
        #expect(await get("/api/public/v1/payments/", token: bearer).status == 200)
    }

    @Test func purchaseOrdersOrderItemsAndBillsAsFlow001PollsThem() async throws {
        let vendor: JSONValue = ["id": 7, "name": "Acme Steel", "external_id": "V-1009"]
        func po(_ number: Int, _ modified: String, state: Int) -> JSONValue {
            ["procurify_PO": .number(Double(number)), "uuid": .string("5f0c3b7e-8a41-4d2f-9c56-00000000\(number)"), "date": "2026-03-01T08:00:00Z",
             "last_modified": .string(modified), "state": .number(Double(state)), "fulfilment_status": "empty", "pref_vendor": vendor, "total": "100.00",
             "order_items": [["id": .number(Double(number * 10)), "PO_line_num": 1, "quantity": 4.0, "price": "25.00", "accountCode": "5100",
                              "last_modified": .string(modified), "account": ["id": 31], "currency": ["id": 3, "name": "USD"]]]]
        }
        try await backend.seed([
            "purchaseOrders": [po(1042, "2026-03-04T23:59:59Z", state: 0), po(1043, "2026-03-05T00:00:00Z", state: 3)],
            "bills": [["id": 9, "uuid": "3cda5ef4ac1a401bb6619e4a5d87c10d", "status": 2, "vendor": vendor, "total_cost_with_tax": 100.0,
                       "last_modified_datetime": "2026-03-06T10:00:00Z", "items": [["id": 55, "quantity": "4.00", "total_cost": "100.00"]]]],
        ])
        let bearer = try #require(try decode(await token())["access_token"]?.stringValue)
        let all = try decode(await get("/api/v2/purchase_orders/purchased/all/", token: bearer))
        #expect(all["metadata"]?["pagination"]?["count"] == 2)
        #expect(all["metadata"]?["counts"]?["purchased"]?["closed"] == 1)
        #expect(all["data"]?.arrayValue?.allSatisfy { $0["order_items"] == nil && $0["item_count"] == 1 } == true)
        // day windows are inclusive and whole: 23:59:59 on the 4th is inside 4th…4th, midnight on the 5th is not
        let day = try decode(await get("/api/v2/purchase_orders/purchased/all/", "modified_date_0=2026-03-04&modified_date_1=2026-03-04", token: bearer))
        #expect(day["data"]?.arrayValue?.map { $0["procurify_PO"] } == [1042])
        let bad = await get("/api/v2/purchase_orders/purchased/all/", "modified_date_0=03/01/2025", token: bearer)
        #expect(bad.status == 400)
        #expect(try decode(bad)["modified_date_0"] == ["Enter a valid date."])
        #expect(try decode(await get("/api/v2/purchase_orders/purchased/closed/", token: bearer))["data"]?.arrayValue?.count == 1)
        #expect(await get("/api/v2/purchase_orders/purchased/nonsense/", token: bearer).status == 404)
        let byNumber = try decode(await get("/api/v2/purchase_orders/1042/", token: bearer))
        let byUUID = try decode(await get("/api/v2/purchase_orders/5f0c3b7e-8a41-4d2f-9c56-000000001042/", token: bearer))
        #expect(byNumber == byUUID)
        #expect(byNumber["data"]?["order_items"]?.arrayValue?.first?["quantity"] == 4)
        #expect(byNumber["metadata"]?["can_edit"] == false)
        let items = try decode(await get("/api/v3/order-items/", "last_modified_0=2026-03-05", token: bearer))["data"]?.arrayValue
        #expect(items?.count == 1)
        #expect(items?.first?["purchase_order"] == 1043)
        #expect(items?.first?["quantity"] == "4.00")  // decimal strings in the list
        #expect(items?.first?["account"] == 31)
        let bills = try decode(await get("/api/v3/ap/bills/", "last_modified_datetime_0=2026-03-06T09:00:00Z", token: bearer))
        #expect(bills["data"]?.arrayValue?.first?["items"] == [55])
        #expect(bills["data"]?.arrayValue?.first?["vendor"] == ["id": 7, "name": "Acme Steel"])
        #expect(bills["metadata"]?["summary"]?["total_cost"] == 100)
        #expect(try decode(await get("/api/v3/ap/bills/", "last_modified_datetime_0=2026-03-06T10:00:01Z", token: bearer))["data"] == [])
        let bill = try decode(await get("/api/v2/ap/bills/3cda5ef4-ac1a-401b-b661-9e4a5d87c10d/", token: bearer))
        #expect(bill["data"]?["items"]?.arrayValue?.first?["total_cost"] == "100.00")
        #expect(bill["metadata"]?["permissions"]?["can_approve"] == false)
    }

    @Test func permissionsThrottlingAndWrites() async throws {
        let weak = try #require(try decode(await token("weak", "sec2"))["access_token"]?.stringValue)
        #expect(await get("/api/v3/users/me/", token: weak).status == 403)
        let bearer = try #require(try decode(await token())["access_token"]?.stringValue)
        let post = await core.respond(SimRequest(method: "POST", path: "/api/v3/account-codes/", headers: ["Authorization": "Bearer \(bearer)"]))
        #expect(post.status == 405)  // read-only here (vendor and department writes exist; see the flow 001 test)
        var settings = ProcurifyBackend.Settings()
        settings.callsPerMinute = 1
        await backend.setSettings(settings)
        clock.advance(by: .seconds(61))
        #expect(await get("/api/v2/currencies/", token: bearer).status == 200)
        let throttled = await get("/api/v2/currencies/", token: bearer)
        #expect(throttled.status == 429)
        #expect(throttled.header("Retry-After") == "60")
        #expect(await get("/api/v3/users/me/", token: "garbage").status == 401)
        #expect(await core.respond(SimRequest(method: "GET", path: "/api/v3/users/me/")).status == 401)
    }
}

/// SAP Business One Service Layer simulator fidelity (sapb1.md §12).
@Suite(.timeLimit(.minutes(2))) struct SAPB1SimulatorTests {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let core: SimulatorCore
    let backend: SAPB1Backend

    init() async throws {
        (core, backend) = SAPB1Simulator.makeCore(clock: clock)
        try await backend.seed([
            "companies": [["companyDB": "SBODEMOUS", "companyName": "Demo", "users": [["userName": "manager", "password": "pw"]]]],
            "data": ["SBODEMOUS": ["BusinessPartners": .array((1...25).map {
                ["CardCode": .string(String(format: "V%03d", $0)), "CardName": .string("Vendor \($0)"), "CardType": $0 == 25 ? "cCustomer" : "cSupplier"]
            })]],
        ])
    }

    func login(_ root: String = "/b1s/v1", password: String = "pw", company: String = "SBODEMOUS") async -> SimResponse {
        let body = #"{"CompanyDB":"\#(company)","UserName":"manager","Password":"\#(password)"}"#
        return await core.respond(SimRequest(method: "POST", path: "\(root)/Login", headers: ["Content-Type": "application/json"], body: Data(body.utf8)))
    }

    func session(_ response: SimResponse) throws -> String {
        try #require(response.headers.first { $0.0 == "Set-Cookie" && $0.1.hasPrefix("B1SESSION=") }?.1.dropFirst(10).split(separator: ";").first.map(String.init))
    }

    func get(_ path: String, _ query: String = "", session: String, headers: [String: String] = [:]) async -> SimResponse {
        await core.respond(SimRequest(method: "GET", path: path, rawQuery: query, headers: headers.merging(["Cookie": "B1SESSION=\(session); ROUTEID=.node1"]) { a, _ in a }))
    }

    @Test func loginSetsTheCookieExactlyAsSAPDoes() async throws {
        let reply = await login()
        #expect(reply.status == 200)
        let cookies = reply.headers.filter { $0.0 == "Set-Cookie" }.map(\.1)
        let id = try session(reply)
        #expect(cookies == ["B1SESSION=\(id);HttpOnly;", "ROUTEID=.node1; path=/b1s"])  // no Path on B1SESSION, trailing ';'
        let body = try decode(reply)
        #expect(body["SessionId"] == .string(id))
        #expect(body["Version"] == "1000190")
        #expect(body["SessionTimeout"] == 30)
        #expect(body["odata.metadata"]?.stringValue?.hasSuffix("$metadata#B1Sessions/@Element") == true)
        let refused = await login(password: "wrong")
        #expect(refused.status == 401)
        #expect(try decode(refused)["error"]?["code"] == -304)
        #expect(try decode(refused)["error"]?["message"]?["value"] == "Fail to get DB Credentials from SLD")
        #expect(await login(company: "NOSUCHDB").status == 401)  // SAP answers a wrong company like a wrong password
        let v2 = try decode(await login("/b1s/v2", password: "wrong"))
        #expect(v2["error"]?["code"] == "-304")  // v4 shape: the code is a string
    }

    @Test func theIdleTimeoutIsRenewedByEveryCallAndEndsIn401With301() async throws {
        let id = try session(await login())
        clock.advance(by: .seconds(29 * 60))
        #expect(await get("/b1s/v1/BusinessPartners", session: id).status == 200)  // renews the idle timer
        clock.advance(by: .seconds(29 * 60))
        #expect(await get("/b1s/v1/BusinessPartners", session: id).status == 200)
        clock.advance(by: .seconds(30 * 60))
        let dead = await get("/b1s/v1/BusinessPartners", session: id)
        #expect(dead.status == 401)
        #expect(try decode(dead)["error"]?["code"] == 301)
        #expect(try decode(dead)["error"]?["message"]?["value"] == "Invalid session or session already timeout.")
        let v2 = try decode(await get("/b1s/v2/BusinessPartners", session: id))
        #expect(v2["error"]?["code"] == "301")
        #expect(v2["error"]?["message"] == "Invalid session or session already timeout.")
        var settings = SAPB1Backend.Settings()
        settings.v4ErrorsOnV1 = true
        await backend.setSettings(settings)
        #expect(try decode(await get("/b1s/v1/BusinessPartners", session: id))["error"]?["code"] == "301")
    }

    @Test func logoutAndKilledSessionsEndTheCookie() async throws {
        let id = try session(await login())
        let out = await core.respond(SimRequest(method: "POST", path: "/b1s/v1/Logout", headers: ["Cookie": "B1SESSION=\(id)"]))
        #expect(out.status == 204)
        #expect(out.body.isEmpty)
        #expect(await get("/b1s/v1/BusinessPartners", session: id).status == 401)
        let other = try session(await login())
        await core.system.apply(.killSessions)
        #expect(await get("/b1s/v1/BusinessPartners", session: other).status == 401)
        #expect(await backend.openSessions == 0)
    }

    func post(_ path: String, _ body: String, session: String, headers: [String: String] = [:]) async -> SimResponse {
        await core.respond(SimRequest(method: "POST", path: path, headers: headers.merging(["Cookie": "B1SESSION=\(session)", "Content-Type": "application/json"]) { a, _ in a },
                                      body: Data(body.utf8), origin: "https://sl.example:50000"))
    }

    @Test func documentsAreValidatedRoundedAndFoundByTheirReference() async throws {
        try await backend.seed(["data": ["SBODEMOUS": [
            "ChartOfAccounts": [["Code": "5100", "ActiveAccount": "tYES"], ["Code": "5000", "ActiveAccount": "tNO"], ["Code": "2100", "ActiveAccount": "tYES"]],
            "Projects": [["Code": "PRJ-1"]], "ProfitCenters": [["CenterCode": "PC100"]],
        ]]])
        let id = try session(await login())
        let invoice = #"{"CardCode":"V001","DocType":"dDocument_Service","NumAtCard":"PROCORE-CMT-1","Project":"PRJ-1","U_PROCORE_ID":"cmt:1","DocumentLines":[{"AccountCode":"5100","LineTotal":10.005,"CostingCode":"PC100"},{"AccountCode":"5100","LineTotal":2.5}]}"#
        let created = await post("/b1s/v1/PurchaseInvoices", invoice, session: id)
        #expect(created.status == 201)
        #expect(created.header("Location") == "https://sl.example:50000/b1s/v1/PurchaseInvoices(1)")
        let body = try decode(created)
        #expect(body["DocEntry"] == 1)
        #expect(body["DocTotal"] == 12.51)  // 10.005 → 10.01 (half away from zero at 2 digits) + 2.50
        #expect(body["DocumentLines"]?.arrayValue?.map { $0["LineNum"] } == [0, 1])
        #expect(body["CardName"] == "Vendor 1")
        let found = try decode(await get("/b1s/v1/PurchaseInvoices", "$select=DocEntry&$filter=NumAtCard%20eq%20'PROCORE-CMT-1'", session: id))
        #expect(found["value"] == [["DocEntry": 1]])
        #expect(try decode(await get("/b1s/v1/PurchaseInvoices(1)", session: id))["U_PROCORE_ID"] == "cmt:1")
        let quiet = await post("/b1s/v1/PurchaseInvoices", invoice, session: id, headers: ["Prefer": "return-no-content"])
        #expect(quiet.status == 204)
        #expect(quiet.header("Preference-Applied") == "return-no-content")
        #expect(quiet.header("Location")?.hasSuffix("PurchaseInvoices(2)") == true)

        func refusal(_ path: String, _ body: String, v2: Bool = false) async throws -> (status: Int, code: String, text: String) {
            let reply = await post((v2 ? "/b1s/v2/" : "/b1s/v1/") + path, body, session: id)
            let error = try decode(reply)["error"]
            return (reply.status, error?["code"]?.scalarText ?? "", error?["message"]?["value"]?.stringValue ?? error?["message"]?.stringValue ?? "")
        }
        let customer = try await refusal("PurchaseInvoices", #"{"CardCode":"V025","DocType":"dDocument_Service","DocumentLines":[{"AccountCode":"5100","LineTotal":1}]}"#)
        #expect(customer == (400, "-5002", "Invalid BP code [OPCH.CardCode] , 'V025'"))  // a customer is no supplier
        let title = try await refusal("PurchaseInvoices", #"{"CardCode":"V001","DocType":"dDocument_Service","DocumentLines":[{"AccountCode":"5000","LineTotal":1}]}"#)
        #expect(title.status == 400 && title.text.contains("title account or inactive"))
        let center = try await refusal("PurchaseInvoices", #"{"CardCode":"V001","DocType":"dDocument_Service","DocumentLines":[{"AccountCode":"5100","LineTotal":1,"CostingCode":"PC999"}]}"#, v2: true)
        #expect(center.code == "-5002" && center.text.contains("PC999"))  // v2: the code is a string
        let udf = try await refusal("PurchaseInvoices", #"{"CardCode":"V001","U_NOT_CREATED":"x","DocumentLines":[{"AccountCode":"5100","LineTotal":1}]}"#)
        #expect(udf == (400, "-1000", "Property 'U_NOT_CREATED' of 'Document' is invalid"))
        let unbalanced = try await refusal("JournalEntries", #"{"JournalEntryLines":[{"AccountCode":"5100","Debit":10},{"AccountCode":"2100","Credit":9.99}]}"#)
        #expect(unbalanced.status == 400 && unbalanced.text.contains("Unbalanced"))
        let entry = try decode(await post("/b1s/v1/JournalEntries", #"{"Reference":"PROCORE-DC-7","JournalEntryLines":[{"AccountCode":"5100","Debit":1840.25,"CostingCode":"PC100"},{"ShortName":"V001","Credit":1840.25}]}"#, session: id))
        #expect(entry["JdtNum"] == 30001)
        #expect(entry["JournalEntryLines"]?.arrayValue?.map { $0["Line_ID"] } == [0, 1])
        #expect(try decode(await get("/b1s/v1/JournalEntries", "$filter=Reference%20eq%20'PROCORE-DC-7'", session: id))["value"]?.arrayValue?.count == 1)
        #expect(await core.respond(SimRequest(method: "DELETE", path: "/b1s/v1/PurchaseInvoices(1)", headers: ["Cookie": "B1SESSION=\(id)"])).status == 400)
    }

    /// `$count` as a bare number, the string functions clients filter with, and `$top` bounding
    /// the whole result across server pages (sapb1.md §§ on queries and paging).
    @Test func countStringFunctionsAndTopAcrossPages() async throws {
        let id = try session(await login())
        let count = await get("/b1s/v1/BusinessPartners/$count", "$filter=CardType%20eq%20'S'", session: id)
        #expect(count.status == 200)
        #expect(String(decoding: count.body, as: UTF8.self) == "24")
        #expect(String(decoding: await get("/b1s/v2/BusinessPartners/$count", session: id).body, as: UTF8.self) == "25")
        #expect(await get("/b1s/v1/NoSuchSet/$count", session: id).status == 404)
        func codes(_ filter: String) async throws -> [String] {
            let body = try decode(await get("/b1s/v1/BusinessPartners", "$select=CardCode&$filter=" + filter.percentEncoded(keeping: "-._~'(),"), session: id))
            return body["value"]?.arrayValue?.compactMap { $0["CardCode"]?.stringValue } ?? []
        }
        #expect(try await codes("startswith(CardCode,'V01')") == (10...19).map { "V0\($0)" })
        #expect(try await codes("endswith(CardCode,'07')") == ["V007"])
        #expect(try await codes("contains(CardName,'ndor 2') and CardType eq 'S'") == ["V002", "V020", "V021", "V022", "V023", "V024"])  // V025 is a customer
        #expect(try await codes("substringof('ndor 7',CardName) eq true") == ["V007"])
        #expect(try await codes("not startswith(CardCode,'V0') or CardCode eq 'V001'") == ["V001"])
        #expect(await get("/b1s/v1/BusinessPartners", "$filter=" + "startswith(NoSuch,'x')".percentEncoded(), session: id).status == 400)
        // $top=25 over pages of 20: the second page asks for the 5 left, not another 20
        let first = try decode(await get("/b1s/v1/BusinessPartners", "$select=CardCode&$top=22", session: id))
        #expect(first["value"]?.arrayValue?.count == 20)
        let next = try #require(first["odata.nextLink"]?.stringValue)
        #expect(next.contains("$top=2") && next.contains("$skip=20"))
        let query = String(next.split(separator: "?", maxSplits: 1)[1]).replacingOccurrences(of: " ", with: "%20")
        let second = try decode(await get("/b1s/v1/BusinessPartners", query, session: id))
        #expect(second["value"]?.arrayValue?.count == 2)
        #expect(second["odata.nextLink"] == nil)
    }

    func send(_ method: String, _ path: String, _ body: String, session: String, headers: [String: String] = [:]) async -> SimResponse {
        await core.respond(SimRequest(method: method, path: path, headers: headers.merging(["Cookie": "B1SESSION=\(session)", "Content-Type": "application/json"]) { a, _ in a },
                                      body: Data(body.utf8), origin: "https://sl.example:50000"))
    }

    func seedPostingData() async throws {
        try await backend.seed(["data": ["SBODEMOUS": [
            "ChartOfAccounts": [["Code": "5100", "ActiveAccount": "tYES"], ["Code": "2100", "ActiveAccount": "tYES"]],
            "Items": [["ItemCode": "REBAR-12", "ItemName": "Rebar #4"]],
            "SalesTaxCodes": [["Code": "CA", "Name": "California", "Rate": 7.25], ["Code": "EX", "Name": "Exempt", "Rate": 0]],
            "VatGroups": [["Code": "I1", "Name": "Input 20%", "VatGroups_Lines": [["Effectivefrom": "2020-01-01", "Rate": 20]]]],
        ]]])
    }

    /// PATCH stores the change (lines merge by LineNum, totals recomputed), an unknown property is
    /// -1000 with SAP's text on reads and writes, a document without DocType is an item document,
    /// and DocTotal carries the VAT of each line's tax code (sapb1.md §§4, 5, 8).
    @Test func patchUnknownPropertiesItemDocumentsAndVAT() async throws {
        try await seedPostingData()
        let id = try session(await login())
        // DocTotal = lines + VAT: 100 at 7.25 % and 50 exempt → VatSum 7.25, DocTotal 157.25
        let taxed = try decode(await post("/b1s/v1/PurchaseInvoices", #"{"CardCode":"V001","DocType":"dDocument_Service","DocumentLines":[{"AccountCode":"5100","LineTotal":100,"TaxCode":"CA"},{"AccountCode":"5100","LineTotal":50,"TaxCode":"EX"}]}"#, session: id))
        #expect(taxed["VatSum"] == 7.25)
        #expect(taxed["DocTotal"] == 157.25)
        #expect(taxed["DocumentLines"]?.arrayValue?.map { $0["TaxTotal"] } == [7.25, 0])
        let vat = try decode(await post("/b1s/v2/PurchaseInvoices", #"{"CardCode":"V001","DocType":"dDocument_Service","DocumentLines":[{"AccountCode":"5100","LineTotal":10.01,"VatGroup":"I1"}]}"#, session: id))
        #expect(vat["DocTotal"] == 12.01)  // 10.01 + 2.002 → 2.00
        let badTax = try decode(await post("/b1s/v1/PurchaseInvoices", #"{"CardCode":"V001","DocType":"dDocument_Service","DocumentLines":[{"AccountCode":"5100","LineTotal":1,"TaxCode":"ZZ"}]}"#, session: id))
        #expect(badTax["error"]?["message"]?["value"]?.stringValue?.contains("'ZZ'") == true)
        // no DocType: an item document, whose lines need a known ItemCode
        let noItem = await post("/b1s/v1/PurchaseInvoices", #"{"CardCode":"V001","DocumentLines":[{"AccountCode":"5100","LineTotal":1}]}"#, session: id)
        #expect(noItem.status == 400)
        #expect(try decode(noItem)["error"]?["message"]?["value"] == "Item number is missing; specify an item number [DocumentLines.ItemCode][line: 1]")
        #expect(await post("/b1s/v1/PurchaseInvoices", #"{"CardCode":"V001","DocumentLines":[{"ItemCode":"NOPE","Quantity":1,"UnitPrice":2}]}"#, session: id).status == 400)
        let items = try decode(await post("/b1s/v1/PurchaseInvoices", #"{"CardCode":"V001","DocumentLines":[{"ItemCode":"REBAR-12","Quantity":4,"UnitPrice":2.5}]}"#, session: id))
        #expect(items["DocType"] == "dDocument_Items")
        #expect(items["DocTotal"] == 10)
        // unknown properties: -1000 with SAP's text, on writes (header and line) and on reads
        func refusal(_ reply: SimResponse) throws -> (Int, String, String) {
            let error = try decode(reply)["error"]
            return (reply.status, error?["code"]?.scalarText ?? "", error?["message"]?["value"]?.stringValue ?? error?["message"]?.stringValue ?? "")
        }
        #expect(try refusal(await post("/b1s/v1/PurchaseInvoices", #"{"CardCode":"V001","Colour":"red","DocumentLines":[{"ItemCode":"REBAR-12","Quantity":1}]}"#, session: id))
            == (400, "-1000", "Property 'Colour' of 'Document' is invalid"))
        #expect(try refusal(await post("/b1s/v1/PurchaseInvoices", #"{"CardCode":"V001","DocumentLines":[{"ItemCode":"REBAR-12","Qty":1}]}"#, session: id))
            == (400, "-1000", "Property 'Qty' of 'DocumentLine' is invalid"))
        #expect(try refusal(await get("/b1s/v1/BusinessPartners", "$select=CardCode,Colour", session: id)) == (400, "-1000", "Property 'Colour' of 'BusinessPartner' is invalid"))
        #expect(try refusal(await get("/b1s/v2/BusinessPartners", "$filter=Colour%20eq%20'x'", session: id)) == (400, "-1000", "Property 'Colour' of 'BusinessPartner' is invalid"))
        #expect(try refusal(await send("PATCH", "/b1s/v1/BusinessPartners('V001')", #"{"Colour":"red"}"#, session: id)) == (400, "-1000", "Property 'Colour' of 'BusinessPartner' is invalid"))
        // PATCH stores the change and answers 204 with no body; the key is read-only and ignored
        let patched = await send("PATCH", "/b1s/v1/BusinessPartners('V001')", #"{"CardName":"Vendor One Ltd","CardCode":"HIJACK"}"#, session: id)
        #expect(patched.status == 204)
        #expect(patched.body.isEmpty)
        let partner = try decode(await get("/b1s/v1/BusinessPartners('V001')", session: id))
        #expect(partner["CardName"] == "Vendor One Ltd")
        #expect(partner["CardCode"] == "V001")
        #expect(await send("PATCH", "/b1s/v1/BusinessPartners('NOPE')", #"{"CardName":"x"}"#, session: id).status == 404)
        // a document's lines merge by LineNum (one updated, one appended) and totals follow
        let entry = try #require(taxed["DocEntry"]?.scalarText)
        #expect(await send("PATCH", "/b1s/v1/PurchaseInvoices(\(entry))", #"{"Comments":"revised","DocumentLines":[{"LineNum":1,"LineTotal":80},{"AccountCode":"5100","LineTotal":20}]}"#, session: id).status == 204)
        let revised = try decode(await get("/b1s/v1/PurchaseInvoices(\(entry))", session: id))
        #expect(revised["Comments"] == "revised")
        #expect(revised["DocumentLines"]?.arrayValue?.map { $0["LineTotal"] } == [100, 80, 20])
        #expect(revised["DocTotal"] == 207.25)
        // B1S-ReplaceCollectionsOnPatch: true replaces the lines
        #expect(await send("PATCH", "/b1s/v1/PurchaseInvoices(\(entry))", #"{"DocumentLines":[{"AccountCode":"5100","LineTotal":5}]}"#, session: id,
                           headers: ["B1S-ReplaceCollectionsOnPatch": "true"]).status == 204)
        #expect(try decode(await get("/b1s/v1/PurchaseInvoices(\(entry))", session: id))["DocTotal"] == 5)
        // a PATCH SAP refuses leaves the document as it was
        #expect(await send("PATCH", "/b1s/v1/PurchaseInvoices(\(entry))", #"{"DocumentLines":[{"LineNum":0,"AccountCode":"9999"}]}"#, session: id).status == 400)
        #expect(try decode(await get("/b1s/v1/PurchaseInvoices(\(entry))", session: id))["DocTotal"] == 5)
        // POST via X-HTTP-Method-Override: PATCH is a PATCH
        #expect(await send("POST", "/b1s/v1/Projects('P-X')", "{}", session: id, headers: ["X-HTTP-Method-Override": "PATCH"]).status == 404)
        #expect(await send("DELETE", "/b1s/v1/PurchaseInvoices(\(entry))", "", session: id).status == 400)  // documents are cancelled, not deleted
    }

    /// `$batch` (sapb1.md §7): 202 on v1, 200 on v2; change sets atomic with `$<Content-ID>`
    /// references, one error part for a failed set, processing stopped at the first failure.
    @Test func batchWithChangeSetsOnBothVersions() async throws {
        try await seedPostingData()
        let id = try session(await login())
        func batch(_ root: String, _ body: String) async -> SimResponse {
            await core.respond(SimRequest(method: "POST", path: "\(root)/$batch",
                                          headers: ["Cookie": "B1SESSION=\(id)", "Content-Type": "multipart/mixed;boundary=batch_36522ad7"],
                                          body: Data(body.replacingOccurrences(of: "\n", with: "\r\n").utf8), origin: "https://sl.example:50000"))
        }
        let invoice = #"{"CardCode":"V001","DocType":"dDocument_Service","NumAtCard":"B-1","DocumentLines":[{"AccountCode":"5100","LineTotal":12.5}]}"#
        let good = """
            --batch_36522ad7
            Content-Type: application/http
            Content-Transfer-Encoding: binary

            GET /b1s/v1/BusinessPartners('V002')


            --batch_36522ad7
            Content-Type: multipart/mixed;boundary=changeset_77162fcd

            --changeset_77162fcd
            Content-Type: application/http
            Content-Transfer-Encoding: binary
            Content-ID: 1

            POST /b1s/v1/PurchaseInvoices
            Content-Type: application/json

            \(invoice)
            --changeset_77162fcd
            Content-Type: application/http
            Content-Transfer-Encoding: binary
            Content-ID: 2

            PATCH /b1s/v1/$1
            Content-Type: application/json

            {"Comments":"patched in the same change set"}
            --changeset_77162fcd--
            --batch_36522ad7--
            """
        let v1 = await batch("/b1s/v1", good)
        #expect(v1.status == 202)
        let type = try #require(v1.header("Content-Type"))
        #expect(type.hasPrefix("multipart/mixed;boundary=batchresponse_"))
        let text = String(decoding: v1.body, as: UTF8.self)
        #expect(text.contains("HTTP/1.1 200 OK"))
        #expect(text.contains("\"CardCode\":\"V002\""))
        #expect(text.contains("Content-Type: multipart/mixed; boundary=changesetresponse_"))  // the space published clients need
        #expect(text.contains("Content-ID: 1\r\n\r\nHTTP/1.1 201 Created"))
        #expect(text.contains("Location: https://sl.example:50000/b1s/v1/PurchaseInvoices(1)"))
        #expect(text.contains("Content-ID: 2\r\n\r\nHTTP/1.1 204 No Content"))
        #expect(try decode(await get("/b1s/v1/PurchaseInvoices(1)", session: id))["Comments"] == "patched in the same change set")

        // the second invoice of a change set fails: the first is rolled back, one error part answers
        let failing = """
            --batch_36522ad7
            Content-Type: multipart/mixed; boundary=changeset_1

            --changeset_1
            Content-Type: application/http
            Content-ID: a

            POST /b1s/v2/PurchaseInvoices
            Content-Type: application/json

            \(invoice)
            --changeset_1
            Content-Type: application/http
            Content-ID: b

            POST /b1s/v2/PurchaseInvoices
            Content-Type: application/json

            {"CardCode":"V025","DocType":"dDocument_Service","DocumentLines":[{"AccountCode":"5100","LineTotal":1}]}
            --changeset_1--
            --batch_36522ad7
            Content-Type: application/http

            GET /b1s/v2/BusinessPartners('V003')


            --batch_36522ad7--
            """
        let v2 = await batch("/b1s/v2", failing)
        #expect(v2.status == 200)
        let answer = String(decoding: v2.body, as: UTF8.self)
        #expect(answer.contains("HTTP/1.1 400 Bad Request"))
        #expect(answer.contains("Invalid BP code"))
        #expect(!answer.contains("201 Created"))
        #expect(!answer.contains("V003"))  // processing stopped at the failed set
        #expect(String(decoding: await get("/b1s/v1/PurchaseInvoices/$count", session: id).body, as: UTF8.self) == "1")
        // v4 needs a Content-ID in a change set; a GET inside one and a body that is no batch are -1000
        let noID = failing.replacingOccurrences(of: "Content-ID: a\n", with: "")
        #expect(try decode(await batch("/b1s/v2", noID))["error"]?["code"] == "-1000")
        let broken = await batch("/b1s/v1", "--batch_36522ad7\nContent-Type: application/http\n\nGET /b1s/v1/Items\n")
        #expect(broken.status == 400)
        #expect(try decode(broken)["error"]?["message"]?["value"] == "Incomplete Batch Request Body!")
    }

    @Test func serverPagingFiltersAndSelect() async throws {
        let id = try session(await login())
        let first = try decode(await get("/b1s/v1/BusinessPartners", "$select=CardCode&$filter=CardType%20eq%20'S'", session: id))
        #expect(first["value"]?.arrayValue?.count == 20)  // default page size
        #expect(first["odata.nextLink"] == "BusinessPartners?$select=CardCode&$filter=CardType eq 'S'&$skip=20")
        #expect(first["value"]?.arrayValue?.first == ["CardCode": "V001"])
        let second = try decode(await get("/b1s/v1/BusinessPartners", "$select=CardCode&$filter=CardType%20eq%20'S'&$skip=20", session: id))
        #expect(second["value"]?.arrayValue?.count == 4)  // 24 suppliers, the customer filtered out
        #expect(second["odata.nextLink"] == nil)
        let small = await get("/b1s/v2/BusinessPartners", "$top=5", session: id, headers: ["Prefer": "odata.maxpagesize=10"])
        #expect(small.header("Preference-Applied") == "odata.maxpagesize=10")
        #expect(try decode(small)["@odata.nextLink"] == nil)  // $top at or under the page size: no link
        let either = try decode(await get("/b1s/v1/BusinessPartners",
                                          "$filter=CardType%20eq%20'S'%20and%20(CardCode%20eq%20'V002'%20or%20CardCode%20ge%20'V024')&$orderby=CardCode%20desc", session: id))
        #expect(either["value"]?.arrayValue?.map { $0["CardCode"] } == ["V024", "V002"])  // V025 is a customer
        let unknown = await get("/b1s/v1/BusinessPartners", "$filter=NoSuchField%20eq%201", session: id)
        #expect(unknown.status == 400)
        let counted = try decode(await get("/b1s/v1/BusinessPartners", "$inlinecount=allpages&$top=1", session: id))
        #expect(counted["odata.count"] == "25")
        let one = try decode(await get("/b1s/v1/BusinessPartners('V007')", session: id))
        #expect(one["CardName"] == "Vendor 7")
        #expect(await get("/b1s/v1/BusinessPartners('NOPE')", session: id).status == 404)
        #expect(await get("/b1s/v1/NoSuchSet", session: id).status == 404)
        #expect(await get("//b1s/v1/BusinessPartners", session: id).status == 200)  // doubled slash served
        let pong = await core.respond(SimRequest(method: "GET", path: "/ping/"))
        #expect(try decode(pong)["message"] == "pong")
    }
}

/// CloudSuite (ION API gateway + M3) simulator fidelity (cloudsuite.md §7).
@Suite(.timeLimit(.minutes(2))) struct CloudSuiteSimulatorTests {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let core: SimulatorCore
    let backend: CloudSuiteBackend
    let basic = "Basic " + Data("T~cid:csec".utf8).base64EncodedString()

    init() async throws {
        (core, backend) = CloudSuiteSimulator.makeCore(clock: clock)
        try await backend.seed([
            "apps": [["clientId": "T~cid", "clientSecret": "csec", "accessKey": "T#sa", "secretKey": "sask", "companies": [100]]],
            "suppliers": ["100": .array((1...3).map { ["SUNO": .string("V\($0)"), "SUNM": .string("Supplier \($0)"), "STAT": "20"] })],
            "facilities": ["100": [["FACI": "A01", "FACN": "Main site"]]],
            "warehouses": ["100": [["WHLO": "100", "FACI": "A01", "WHNM": "Central"], ["WHLO": "200", "FACI": "B01"]]],
            "items": ["100": [["ITNO": "STEEL", "ITDS": "Rebar"], ["ITNO": "BOLT", "ITDS": "Anchor bolt"]]],
            "supplierTemplates": ["100": [
                "SUTY": "0", "CSCD": "US", "ECAR": "CA", "LNCD": "GB", "DTFM": "YMD", "MEPF": "STD", "SUCL": "100", "QUCL": "1", "ORTY": "100",
                "TEDL": "FOB", "MODL": "TRK", "TEAF": "1", "TEPA": "1", "DT4T": "1", "DTCD": "1", "CUCD": "USD", "CRTP": "1", "TEPY": "30",
                "PYME": "CHK", "ATPR": "STD", "ACRF": "AP",
            ]],
            "settings": ["tenant": "T"],
        ])
    }

    func token(_ form: String, headers: [String: String]? = nil) async -> SimResponse {
        await core.respond(SimRequest(method: "POST", path: "/T/as/token.oauth2",
                                      headers: (headers ?? ["Authorization": basic]).merging(["Content-Type": "application/x-www-form-urlencoded"]) { a, _ in a },
                                      body: Data(form.utf8)))
    }

    func mi(_ path: String, _ query: String = "", token: String) async -> SimResponse {
        await core.respond(SimRequest(method: "GET", path: "/T/M3/m3api-rest/v2/execute/\(path)", rawQuery: query, headers: ["Authorization": "Bearer \(token)"]))
    }

    @Test func passwordAndRefreshGrantsWithEitherClientAuth() async throws {
        let reply = try decode(await token("grant_type=password&username=T%23sa&password=sask&scope="))
        #expect(reply["expires_in"] == 7200)
        #expect(reply["token_type"] == "Bearer")
        let refresh = try #require(reply["refresh_token"]?.stringValue)
        #expect(await token("grant_type=password&username=T%23sa&password=sask&client_id=T~cid&client_secret=csec", headers: [:]).status == 200)
        let badClient = await token("grant_type=password&username=T%23sa&password=sask", headers: ["Authorization": "Basic " + Data("T~cid:no".utf8).base64EncodedString()])
        #expect(badClient.status == 401)
        #expect(try decode(badClient)["error"] == "invalid_client")
        let badGrant = await token("grant_type=password&username=T%23sa&password=nope")
        #expect(badGrant.status == 400)
        #expect(try decode(badGrant)["error"] == "invalid_grant")
        let renewed = try decode(await token("grant_type=refresh_token&refresh_token=\(refresh)"))
        let access = try #require(renewed["access_token"]?.stringValue)
        #expect(await mi("CRS620MI/LstSuppliers", token: access).status == 200)
        clock.advance(by: .seconds(7200))
        #expect(await mi("CRS620MI/LstSuppliers", token: access).status == 401)  // expired on the simulated clock
        let revoke = await core.respond(SimRequest(method: "POST", path: "/T/as/revoke_token.oauth2",
                                                   headers: ["Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"],
                                                   body: Data("token=\(refresh)&token_type_hint=refresh_token".utf8)))
        #expect(revoke.status == 200)
        #expect(await token("grant_type=refresh_token&refresh_token=\(refresh)").status == 400)
    }

    @Test func miAnswersTheEnvelopeWithM3Rules() async throws {
        let access = try #require(try decode(await token("grant_type=password&username=T%23sa&password=sask"))["access_token"]?.stringValue)
        let list = try decode(await mi("CRS620MI/LstSuppliers;maxrecs=2;returncols=SUNO", "righttrim=true", token: access))
        #expect(list["nrOfSuccessfullTransactions"] == 1)
        #expect(list["nrOfFailedTransactions"] == 0)
        #expect(list["results"]?.arrayValue?.first?["records"] == [["SUNO": "V1"], ["SUNO": "V2"]])
        // without righttrim=true M3 pads alphanumeric values to their field length; numbers are not padded
        let padded = try decode(await mi("CRS620MI/GetBasicData", "SUNO=V1", token: access))["results"]?.arrayValue?.first?["records"]?.arrayValue?.first
        #expect(padded?["SUNO"] == "V1        ")  // A10
        #expect(padded?["SUNM"]?.stringValue?.count == 36)
        #expect(padded?["CONO"] == "100")
        #expect(try decode(await mi("CRS620MI/LstSuppliers", "maxrecs=0", token: access))["results"]?.arrayValue?.first?["records"]?.arrayValue?.count == 3)
        let missing = try decode(await mi("CRS620MI/GetBasicData", "SUNO=V9", token: access))["results"]?.arrayValue?.first
        #expect(missing?["errorCode"] == "WSU0103")
        #expect(missing?["errorType"] == "ServerReturnedNOK")
        #expect(missing?["errorMessage"] == "Supplier number V9 does not exist")
        let long = try decode(await mi("CRS620MI/GetBasicData", "SUNO=ABCDEFGHIJK", token: access))["results"]?.arrayValue?.first
        #expect(long?["errorType"] == "InputFieldTooLong")
        let company = try decode(await mi("CRS620MI/LstSuppliers", "cono=200", token: access))["results"]?.arrayValue?.first
        #expect(company?["errorCode"] == "XAU0008")
        let noSuch = try decode(await mi("PPS999MI/Nothing", token: access))["results"]?.arrayValue?.first
        #expect(noSuch?["errorType"] == "TransactionNotFound")
        let bulk = await core.respond(SimRequest(
            method: "POST", path: "/T/M3/m3api-rest/v2/execute", rawQuery: "cono=100&righttrim=true", headers: ["Authorization": "Bearer \(access)"],
            body: Data(#"{"program":"CRS620MI","transactions":[{"transaction":"GetBasicData","record":{"SUNO":"V2"}},{"transaction":"GetBasicData","record":{"SUNO":"X"}}]}"#.utf8)))
        let results = try decode(bulk)
        #expect(results["nrOfSuccessfullTransactions"] == 1)
        #expect(results["nrOfFailedTransactions"] == 1)
        #expect(results["results"]?.arrayValue?.first?["records"]?.arrayValue?.first?["SUNM"] == "Supplier 2")
    }

    func run(_ program: String, _ transaction: String, _ query: String, token: String) async throws -> JSONValue? {
        try decode(await mi("\(program)/\(transaction)", query, token: token))["results"]?.arrayValue?.first
    }

    @Test func suppliersPurchaseOrdersAndInvoicesFollowM3Rules() async throws {
        let access = try #require(try decode(await token("grant_type=password&username=T%23sa&password=sask"))["access_token"]?.stringValue)
        // AddSupplier is not idempotent
        #expect(try await run("CRS620MI", "AddSupplier", "SUNO=V9&SUNM=New%20Supplier&CUCD=USD", token: access)?["errorMessage"] == nil)
        #expect(try await run("CRS620MI", "AddSupplier", "SUNO=V9&SUNM=Again", token: access)?["errorCode"] == "WSU0104")
        #expect(try await run("CRS620MI", "GetBasicData", "SUNO=V9&righttrim=true", token: access)?["records"]?.arrayValue?.first?["SUNM"] == "New Supplier")
        #expect(try await run("CRS620MI", "AddSupplier", "SUNO=V10", token: access)?["errorField"] == "SUNM")  // mandatory
        // PPS370MI: the PO is staged until FinishEntry
        let message = try #require(try await run("PPS370MI", "StartEntry", "BAOR=MLC", token: access)?["records"]?.arrayValue?.first?["MSGN"]?.stringValue)
        #expect(try await run("PPS370MI", "AddHead", "MSGN=\(message)&FACI=A01&WHLO=100&SUNO=NOPE&DWDT=20260301", token: access)?["errorCode"] == "WSU0103")
        let head = try await run("PPS370MI", "AddHead", "MSGN=\(message)&FACI=A01&WHLO=100&SUNO=V1&DWDT=20260301&YRE1=CMT-77", token: access)
        let order = try #require(head?["records"]?.arrayValue?.first?["PUNO"]?.stringValue)
        let line = try await run("PPS370MI", "AddLine", "MSGN=\(message)&ITNO=STEEL&ORQA=4&PUPR=25", token: access)
        #expect(line?["records"]?.arrayValue?.first?["PNLI"] == "1")
        #expect(try await run("PPS200MI", "GetHead", "PUNO=\(order)", token: access)?["errorCode"] == "WPU0803")  // not real yet
        #expect(try await run("PPS370MI", "FinishEntry", "MSGN=\(message)", token: access)?["errorMessage"] == nil)
        let real = try await run("PPS200MI", "GetHead", "PUNO=\(order)", token: access)?["records"]?.arrayValue?.first
        #expect(real?["YRE1"] == "CMT-77    ")  // padded to A10
        #expect(real?["COAM"] == "100.00")
        #expect(try await run("PPS370MI", "AddLine", "MSGN=\(message)&ITNO=STEEL&ORQA=1", token: access)?["errorCode"] == "WMS3703")  // the entry is gone
        #expect(try await run("PPS200MI", "AddLine", "PUNO=\(order)&ITNO=BOLT&ORQA=10&PUPR=1", token: access)?["errorMessage"] == nil)
        #expect(try await run("PPS200MI", "LstLine", "PUNO=\(order)", token: access)?["records"]?.arrayValue?.count == 2)
        // APS450MI: look up by supplier invoice number, then add
        #expect(try await run("APS450MI", "LstInvBySupInv", "SPYN=V1&SUNO=V1&SINO=INV-9", token: access)?["records"] == [])
        let batch = try #require(try await run("APS450MI", "AddHead", "SUNO=V1&IVDT=20260305&SINO=INV-9&CUAM=100", token: access)?["records"]?.arrayValue?.first?["INBN"]?.stringValue)
        #expect(try await run("APS450MI", "AddLine", "INBN=\(batch)&RDTP=1&NLAM=100&PUNO=\(order)", token: access)?["records"]?.arrayValue?.first?["TRNO"] == "1")
        let duplicate = try await run("APS450MI", "LstInvBySupInv", "SPYN=V1&SUNO=V1&SINO=INV-9", token: access)?["records"]?.arrayValue
        #expect(duplicate?.first?["INBN"] == .string(batch))
        #expect(try await run("APS450MI", "GetHead", "INBN=999", token: access)?["errorField"] == "INBN")
        #expect(try await run("APS450MI", "AddHead", "SUNO=V1&IVDT=20260305&SINO=\(String(repeating: "9", count: 25))", token: access)?["errorType"] == "InputFieldTooLong")
    }

    /// What a real tenant checks (cloudsuite.md §§3, 4, 6): N8 dates and numbers, facility,
    /// warehouse and item existence, and AddSupplier's mandatory fields unless the template has them.
    @Test func datesNumbersMasterDataAndTheSupplierTemplate() async throws {
        let access = try #require(try decode(await token("grant_type=password&username=T%23sa&password=sask"))["access_token"]?.stringValue)
        let message = try #require(try await run("PPS370MI", "StartEntry", "BAOR=MLC", token: access)?["records"]?.arrayValue?.first?["MSGN"]?.stringValue)
        func head(_ query: String) async throws -> JSONValue? { try await run("PPS370MI", "AddHead", "MSGN=\(message)&SUNO=V1&" + query, token: access) }
        let badDate = try await head("FACI=A01&WHLO=100&DWDT=2026-03-01")
        #expect(badDate?["errorType"] == "ServerReturnedNOK")
        #expect(badDate?["errorField"] == "DWDT")
        #expect(badDate?["errorMessage"] == "Delivery date 2026-03-01 is invalid")
        #expect(try await head("FACI=A01&WHLO=100&DWDT=20260230")?["errorField"] == "DWDT")  // no 30 February
        #expect(try await head("FACI=ZZZ&WHLO=100&DWDT=20260301")?["errorCode"] == "WFAC303")
        #expect(try await head("FACI=A01&WHLO=999&DWDT=20260301")?["errorField"] == "WHLO")
        #expect(try await head("FACI=A01&WHLO=200&DWDT=20260301")?["errorField"] == "WHLO")  // warehouse of another facility
        #expect(try await head("FACI=A01&WHLO=100&DWDT=20260301")?["errorMessage"] == nil)
        #expect(try await run("PPS370MI", "AddLine", "MSGN=\(message)&ITNO=NOPE&ORQA=1", token: access)?["errorCode"] == "WIT0103")
        #expect(try await run("PPS370MI", "AddLine", "MSGN=\(message)&ITNO=STEEL&ORQA=1,5", token: access)?["errorField"] == "ORQA")
        #expect(try await run("PPS370MI", "AddLine", "MSGN=\(message)&ITNO=STEEL&ORQA=0", token: access)?["errorField"] == "ORQA")
        #expect(try await run("PPS370MI", "AddLine", "MSGN=\(message)&ITNO=STEEL&ORQA=2.5&PUPR=abc", token: access)?["errorField"] == "PUPR")
        #expect(try await run("PPS370MI", "AddLine", "MSGN=\(message)&ITNO=STEEL&ORQA=2.5&PUPR=-1.25", token: access)?["errorMessage"] == nil)
        #expect(try await run("APS450MI", "AddHead", "SUNO=V1&IVDT=20261301", token: access)?["errorField"] == "IVDT")
        #expect(try await run("MMS200MI", "GetItmBasic", "ITNO=BOLT&righttrim=true", token: access)?["records"]?.arrayValue?.first?["ITDS"] == "Anchor bolt")
        #expect(try await run("MMS200MI", "GetItmBasic", "ITNO=NOPE", token: access)?["errorCode"] == "WIT0103")
        #expect(try await run("MMS005MI", "GetWarehouse", "WHLO=100&righttrim=true", token: access)?["records"]?.arrayValue?.first?["FACI"] == "A01")
        // AddSupplier: the template supplies what is left out; without one every mandatory field is needed
        #expect(try await run("CRS620MI", "AddSupplier", "SUNO=V20&SUNM=Templated&CUCD=EUR", token: access)?["errorMessage"] == nil)
        let made = try await run("CRS620MI", "GetBasicData", "SUNO=V20&righttrim=true", token: access)?["records"]?.arrayValue?.first
        #expect(made?["CUCD"] == "EUR")  // sent values win over the template
        #expect(made?["TEPY"] == "30")
        try await backend.seed(["supplierTemplates": ["100": [:]]])
        let bare = try await run("CRS620MI", "AddSupplier", "SUNO=V21&SUNM=No%20template", token: access)
        #expect(bare?["errorType"] == "MandatoryInputFieldNotFound")
        #expect(bare?["errorField"] == "SUTY")
    }

    /// Payments as M3 keeps them (FPLEDG, TRCD 50) read with EXPORTMI/Select as Infor documents
    /// it; AddAccString checks each dimension against the company's chart.
    @Test func exportMIReadsTheLedgerAndAddAccStringChecksTheChart() async throws {
        let access = try #require(try decode(await token("grant_type=password&username=T%23sa&password=sask"))["access_token"]?.stringValue)
        await backend.recordPayment(company: 100, supplier: "V1", invoice: "INV;9", amount: "250.00", paidOn: "2026-03-31")
        await backend.recordPayment(company: 100, supplier: "V2", invoice: "INV-10", amount: "-10.00")
        func select(_ query: String, _ extra: String = "") async throws -> JSONValue? {
            try await run("EXPORTMI", "Select", "QERY=\(query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)\(extra)", token: access)
        }
        let rows = try await select("EPSUNO, EPCUAM, EPSINO from FPLEDG where EPTRCD = 50 and EPCUAM > 0", "&SEPC=;&HDRS=1")?["records"]?.arrayValue
        #expect(rows?.map { $0["REPL"]?.stringValue ?? "" } == ["EPSUNO;EPCUAM;EPSINO", "V1;250.00;INV;9"])
        #expect(try await select("EPSUNO from FPLEDG where EPSUNO = 'V2'")?["records"]?.arrayValue?.first?["REPL"] == "V2        ")  // no SEPC: fixed width
        #expect(try await select("EPSUNO from FPLEDG where EPCONO = 100")?["errorMessage"]?.stringValue?.contains("Company selection is not supported") == true)
        #expect(try await select("EPNOPE from FPLEDG")?["errorField"] == "QERY")
        #expect(try await select("EPSUNO from FGLEDG")?["errorMessage"]?.stringValue?.contains("FGLEDG") == true)
        #expect(try await run("EXPORTMI", "Select", "SEPC=;", token: access)?["errorType"] == "MandatoryInputFieldNotFound")
        // AddAccString
        try await backend.seed(["accountingIdentities": ["100": ["1": ["4010"], "2": ["CC10"]]]])
        let message = try #require(try await run("PPS370MI", "StartEntry", "BAOR=MLC", token: access)?["records"]?.arrayValue?.first?["MSGN"]?.stringValue)
        #expect(try await run("PPS370MI", "AddHead", "MSGN=\(message)&FACI=A01&WHLO=100&SUNO=V1&DWDT=20260301", token: access)?["errorMessage"] == nil)
        #expect(try await run("PPS370MI", "AddLine", "MSGN=\(message)&ITNO=STEEL&ORQA=1&PUPR=5", token: access)?["errorMessage"] == nil)
        #expect(try await run("PPS370MI", "AddAccString", "MSGN=\(message)&PNLI=2&AIT1=4010", token: access)?["errorField"] == "PNLI")
        #expect(try await run("PPS370MI", "AddAccString", "MSGN=\(message)&PNLI=1&AIT1=4010&AIT2=CC99", token: access)?["errorField"] == "AIT2")
        #expect(try await run("PPS370MI", "AddAccString", "MSGN=\(message)&PNLI=1&AIT1=4010&AIT2=CC10&AIT3=ANY", token: access)?["errorMessage"] == nil)
        #expect(try await run("PPS370MI", "FinishEntry", "MSGN=\(message)", token: access)?["errorMessage"] == nil)
        let order = await backend.allPurchaseOrders(company: 100).last
        #expect(order?.lines.first?["AIT2"] == "CC10" && order?.lines.first?["AIT3"] == "ANY")
    }

    @Test func gatewayRefusesBadTokensAndThrottles() async throws {
        #expect(await mi("CRS620MI/LstSuppliers", token: "garbage").status == 401)
        let access = try #require(try decode(await token("grant_type=password&username=T%23sa&password=sask"))["access_token"]?.stringValue)
        await core.system.apply(.expireTokens)
        #expect(await mi("CRS620MI/LstSuppliers", token: access).status == 401)
        let fresh = try #require(try decode(await token("grant_type=password&username=T%23sa&password=sask"))["access_token"]?.stringValue)
        var settings = await backend.settings
        settings.callsPerMinute = 2
        await backend.setSettings(settings)
        #expect(await mi("CRS620MI/LstSuppliers", token: fresh).status == 200)
        #expect(await mi("CRS620MI/LstSuppliers", token: fresh).status == 200)
        let limited = await mi("CRS620MI/LstSuppliers", token: fresh)
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") == "60")
        #expect(await core.respond(SimRequest(method: "POST", path: "/OTHER/as/token.oauth2")).status == 404)
    }
}
