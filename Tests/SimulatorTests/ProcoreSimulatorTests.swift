import Foundation
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import Testing

/// Procore simulator fidelity (procore.md §19), through the same request path the HTTP host uses.
@Suite(.timeLimit(.minutes(2))) struct ProcoreSimulatorTests {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let core: SimulatorCore
    let backend: ProcoreBackend
    let project: Int64 = 101

    init() async throws {
        (core, backend) = ProcoreSimulator.makeCore(clock: clock)
        try await core.system.seed([
            "companies": [["id": 8, "name": "Acme"], ["id": 9, "name": "Other"]],
            "apps": [["clientID": "cid", "clientSecret": "sec", "companyIDs": [8]]],
            "lineItemTypes": [["name": "Materials", "code": "M"]],
            "projects": [["id": 101, "company_id": 8, "name": "Tower", "project_number": "2301",
                          "cost_codes": [["full_code": "03-300", "name": "Concrete", "budget": 1000.0]]],
                         ["id": 102, "company_id": 8, "name": "Annex", "project_number": "2302"]],
            "vendors": [["company_id": 8, "name": "Rebar Co", "origin_id": "SUP001"]],
        ])
    }

    func token() async throws -> String {
        let response = await core.respond(SimRequest(
            method: "POST", path: "/oauth/token", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Data("grant_type=client_credentials&client_id=cid&client_secret=sec".utf8)))
        #expect(response.status == 200)
        let json = try JSONDecoder().decode(JSONValue.self, from: response.body)
        #expect(json["expires_in"] == 5400)
        #expect(json["refresh_token"] == nil)
        return try #require(json["access_token"]?.stringValue)
    }

    func call(_ method: String, _ path: String, _ query: String = "", token: String, company: String? = "8", body: JSONValue? = nil) async -> SimResponse {
        var headers = ["Authorization": "Bearer \(token)"]
        if let company { headers["Procore-Company-Id"] = company }
        var data = Data()
        if let body {
            headers["Content-Type"] = "application/json"
            data = try! JSONEncoder().encode(body)
        }
        return await core.respond(SimRequest(method: method, path: path, rawQuery: query, headers: headers, body: data, origin: "http://127.0.0.1:9999"))
    }

    @Test func tokensExpireOnTheSimulatedClock() async throws {
        let bearer = try await token()
        #expect(await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer).status == 200)
        clock.advance(by: .seconds(5401))
        let expired = await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer)
        #expect(expired.status == 401)
        #expect(expired.header("WWW-Authenticate")?.contains("The access token expired") == true)
        #expect(expired.header("X-Rate-Limit-Limit") != nil)
    }

    @Test func wrongClientSecretIsInvalidClient() async throws {
        let response = await core.respond(SimRequest(
            method: "POST", path: "/oauth/token", headers: ["Content-Type": "application/json"],
            body: Data(#"{"grant_type":"client_credentials","client_id":"cid","client_secret":"bad"}"#.utf8)))
        #expect(response.status == 401)
        #expect(try JSONDecoder().decode(JSONValue.self, from: response.body)["error"] == "invalid_client")
    }

    @Test func companyScopeIsEnforced() async throws {
        let bearer = try await token()
        #expect(await call("GET", "/rest/v1.0/projects", "company_id=9", token: bearer, company: "9").status == 403)
        #expect(await call("GET", "/rest/v1.0/cost_codes", "project_id=999", token: bearer).status == 404)
        #expect(await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer, company: nil).status == 200)
        #expect(await backend.missingCompanyHeaderCalls == 1)
        var strict = ProcoreBackend.Settings()
        strict.strictCompanyHeader = true
        await backend.setSettings(strict)
        let rejected = await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer, company: nil)
        #expect(rejected.status == 400)
        #expect(String(decoding: rejected.body, as: UTF8.self).contains("Missing Procore-Company-Id header!"))
    }

    @Test func listsPageWithTotalPerPageAndAbsoluteLinks() async throws {
        let bearer = try await token()
        for n in 1...5 {
            _ = await call("POST", "/rest/v1.0/vendors", token: bearer, body: ["company_id": 8, "vendor": ["name": .string("V\(n)")]])
        }
        let first = await call("GET", "/rest/v1.0/vendors", "company_id=8&per_page=2&filters%5Bsearch%5D=V", token: bearer)
        #expect(first.header("Total") == "5")
        #expect(first.header("Per-Page") == "2")
        let link = try #require(first.header("Link"))
        #expect(link.contains("<http://127.0.0.1:9999/rest/v1.0/vendors?company_id=8&filters%5Bsearch%5D=V&page=2&per_page=2>; rel=\"next\""))
        #expect(link.contains("rel=\"last\""))
        #expect(!link.contains("rel=\"prev\""))
        let last = await call("GET", "/rest/v1.0/vendors", "company_id=8&per_page=2&page=3&filters%5Bsearch%5D=V", token: bearer)
        #expect(last.header("Link")?.contains("rel=\"next\"") == false)
        let past = await call("GET", "/rest/v1.0/vendors", "company_id=8&per_page=2&page=9", token: bearer)
        #expect(past.status == 200)
        #expect(String(decoding: past.body, as: UTF8.self) == "[]")
    }

    /// Sync actions as "Using Sync Actions" documents them: always 200 with entities and
    /// per-item errors; origin_id found → update, not found → create; an unknown id is an error
    /// entry; more than 1,000 items → 422; a locked schedule of values refuses each line.
    @Test func syncActionsUpsertByOriginIDAndAnswerPerItem() async throws {
        let bearer = try await token()
        let vendors = try JSONValue(parsing: await call("GET", "/rest/v1.0/vendors", "company_id=8&filters%5Borigin_id%5D=SUP001", token: bearer).body)
        let vendorID = try #require(vendors.arrayValue?.first?["id"])
        func sync(_ updates: [JSONValue]) async throws -> (Int, JSONValue) {
            let reply = await call("PATCH", "/rest/v1.0/purchase_order_contracts/sync", token: bearer, body: ["project_id": 101, "updates": .array(updates)])
            return (reply.status, try JSONValue(parsing: reply.body))
        }
        let (status, first) = try await sync([["number": "S1", "vendor_id": vendorID, "origin_id": "SYNC-1", "title": "one"], ["id": 1, "title": "nope"]])
        #expect(status == 200)
        #expect(first["entities"]?.arrayValue?.count == 1)
        #expect(first["errors"]?.arrayValue?.first?["errors"]?["id"] != nil)
        let id = try #require(first["entities"]?.arrayValue?.first?["id"])
        let (_, again) = try await sync([["origin_id": "SYNC-1", "title": "renamed"]])
        #expect(again["entities"]?.arrayValue?.first?["id"] == id)  // updated, not a second one
        #expect(again["entities"]?.arrayValue?.first?["title"] == "renamed")
        let (tooMany, _) = try await sync(Array(repeating: ["title": "x"], count: 1001))
        #expect(tooMany == 422)
        // another project of the company cannot take the same origin_id
        let other = await call("PATCH", "/rest/v1.0/purchase_order_contracts/sync", token: bearer,
                               body: ["project_id": 102, "updates": [["number": "S9", "origin_id": "SYNC-1"]]])
        #expect(try JSONValue(parsing: other.body)["errors"]?.arrayValue?.first?["errors"]?["origin_id"] != nil)

        let codes = try JSONValue(parsing: await call("GET", "/rest/v1.0/cost_codes", "project_id=101", token: bearer).body)
        let codeID = try #require(codes.arrayValue?.first?["id"])
        let commitment = Int64(try #require(id.doubleValue))
        func lines(_ updates: [JSONValue]) async throws -> JSONValue {
            try JSONValue(parsing: await call("PATCH", "/rest/v1.0/purchase_order_contracts/\(commitment)/line_items/sync", token: bearer,
                                              body: ["project_id": 101, "updates": .array(updates)]).body)
        }
        let added = try await lines([["origin_id": "L1", "cost_code_id": codeID, "amount": "10.00"], ["origin_id": "L2", "cost_code_id": codeID, "amount": "5.00"]])
        #expect(added["entities"]?.arrayValue?.count == 2)
        let changed = try await lines([["origin_id": "L1", "amount": "12.00"]])
        #expect(changed["entities"]?.arrayValue?.first?["amount"] == "12.00")
        _ = try await sync([["origin_id": "SYNC-1", "status": "Approved"]])
        let locked = try await lines([["origin_id": "L2", "amount": "6.00"]])
        #expect(locked["entities"]?.arrayValue?.isEmpty == true)
        #expect(locked["errors"]?.arrayValue?.first?["errors"]?["base"] != nil)
    }

    @Test func duplicateOriginIDIsRejectedAndBudgetTracksCommitments() async throws {
        let bearer = try await token()
        let vendors = try JSONDecoder().decode(JSONValue.self, from: await call("GET", "/rest/v1.0/vendors", "company_id=8&filters%5Borigin_id%5D=SUP001", token: bearer).body)
        let vendorID = try #require(vendors.arrayValue?.first?["id"])
        let contract: JSONValue = ["project_id": 101, "purchase_order_contract": ["number": "PO1", "vendor_id": vendorID, "origin_id": "SYSPRO-PO-1"]]
        let created = await call("POST", "/rest/v1.0/purchase_order_contracts", token: bearer, body: contract)
        #expect(created.status == 201)
        let id = try #require(JSONDecoder().decode(JSONValue.self, from: created.body)["id"]?.doubleValue)
        #expect(id > 4_294_967_296)  // ids above 2^32 catch 32-bit truncation in clients
        var again = contract
        if case .object(var outer) = again, case .object(var inner) = outer["purchase_order_contract"]! {
            inner["number"] = "PO2"
            outer["purchase_order_contract"] = .object(inner)
            again = .object(outer)
        }
        let duplicate = await call("POST", "/rest/v1.0/purchase_order_contracts", token: bearer, body: again)
        #expect(duplicate.status == 422)
        #expect(String(decoding: duplicate.body, as: UTF8.self).contains("origin_id"))

        let codes = try JSONDecoder().decode(JSONValue.self, from: await call("GET", "/rest/v1.0/cost_codes", "project_id=101", token: bearer).body)
        let codeID = try #require(codes.arrayValue?.first?["id"])
        let line = await call("POST", "/rest/v1.0/purchase_order_contracts/\(Int64(id))/line_items", token: bearer,
                              body: ["project_id": 101, "line_item": ["cost_code_id": codeID, "amount": "400.00", "description": "x"]])
        #expect(line.status == 201)
        let unknownCode = await call("POST", "/rest/v1.0/purchase_order_contracts/\(Int64(id))/line_items", token: bearer,
                                     body: ["project_id": 101, "line_item": ["cost_code_id": 12345, "amount": "1.00"]])
        #expect(unknownCode.status == 422)
        let views = try JSONDecoder().decode(JSONValue.self, from: await call("GET", "/rest/v1.0/budget_views", "project_id=101", token: bearer).body)
        let view = Int64(try #require(views.arrayValue?.first?["id"]?.doubleValue))
        let rows = try JSONDecoder().decode(JSONValue.self, from: await call("GET", "/rest/v1.0/budget_views/\(view)/detail_rows", "project_id=101", token: bearer).body)
        #expect(rows.arrayValue?.first?["Committed Costs"] == "400.0")
        #expect(rows.arrayValue?.first?["Revised Budget"] == "1000.0")
    }

    @Test func rateLimitHeadersOnEveryAnswerAnd429PastTheHourlyBudget() async throws {
        var settings = ProcoreBackend.Settings()
        settings.hourlyLimit = 3
        await backend.setSettings(settings)
        let bearer = try await token()
        for remaining in [2, 1, 0] {
            let ok = await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer)
            #expect(ok.header("X-Rate-Limit-Remaining") == String(remaining))
        }
        let limited = await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer)
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") == "3600")
        #expect(limited.header("X-Rate-Limit-Reset") == String(1_800_000_000 + 3600))
        clock.advance(by: .seconds(3600))
        #expect(await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer).status == 200)
        // a fault's answer carries the figures too
        core.faults.add(FaultRule(path: "/rest/v1.0/projects", nth: 1, effect: FaultEffect(status: 503, headers: ["Retry-After": "9"])))
        let faulted = await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer)
        #expect(faulted.status == 503)
        #expect(faulted.header("X-Rate-Limit-Remaining") == "2")
    }
}
