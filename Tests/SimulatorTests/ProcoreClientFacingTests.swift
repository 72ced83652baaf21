import Foundation
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import Testing

/// What published Procore clients rely on beyond flow 000's calls (issue 12): the project-level
/// routes, the user-level OAuth grants, the spike window and what counts against it, list
/// filters and sort, billing periods, and webhook deliveries after the reply (procore.md §§3–18).
@Suite(.serialized, .timeLimit(.minutes(2))) struct ProcoreClientFacingTests {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let core: SimulatorCore
    let backend: ProcoreBackend

    init() async throws {
        (core, backend) = ProcoreSimulator.makeCore(clock: clock)
        try await core.system.seed([
            "companies": [["id": 8, "name": "Acme"]],
            "apps": [["clientID": "cid", "clientSecret": "sec", "companyIDs": [8]]],
            "lineItemTypes": [["name": "Materials", "code": "M"]],
            "projects": [["id": 101, "company_id": 8, "name": "Tower", "project_number": "2301",
                          "cost_codes": [["full_code": "03-300", "name": "Concrete", "budget": 1000.0]],
                          "direct_costs": [["direct_cost_type": "invoice", "invoice_number": "HD-7731", "direct_cost_date": "2026-03-04",
                                            "vendor_origin_id": "SUP001",
                                            "line_items": [["cost_code": "03-300", "description": "Diesel", "quantity": 500, "unit_cost": 2.9, "uom": "gal"]]]]],
                         ["id": 102, "company_id": 8, "name": "Annex", "project_number": "2302", "active": false]],
            "vendors": [["company_id": 8, "name": "Rebar Co", "origin_id": "SUP001"]],
            "refreshTokens": [["token": "seeded-refresh", "clientID": "cid"]],
            "authorizationCodes": [["code": "consent-code", "clientID": "cid", "redirectURI": "urn:ietf:wg:oauth:2.0:oob"]],
        ])
    }

    func grant(_ form: String) async -> (Int, JSONValue) {
        let reply = await core.respond(SimRequest(method: "POST", path: "/oauth/token", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                                  body: Data(("client_id=cid&client_secret=sec&" + form).utf8)))
        return (reply.status, (try? JSONValue(parsing: reply.body)) ?? .null)
    }

    func token() async throws -> String { try #require(await grant("grant_type=client_credentials").1["access_token"]?.stringValue) }

    func call(_ method: String, _ path: String, _ query: String = "", token: String, body: JSONValue? = nil) async -> SimResponse {
        var headers = ["Authorization": "Bearer \(token)", "Procore-Company-Id": "8"]
        if body != nil { headers["Content-Type"] = "application/json" }
        return await core.respond(SimRequest(method: method, path: path, rawQuery: query, headers: headers, body: body?.jsonData() ?? Data(),
                                             origin: "http://127.0.0.1:9999"))
    }

    func json(_ response: SimResponse) -> JSONValue { (try? JSONValue(parsing: response.body)) ?? .null }

    func unlimited() async {
        var settings = await backend.settings
        settings.spikeLimit = nil
        await backend.setSettings(settings)
    }

    @Test func projectRoutesClientsUse() async throws {
        await unlimited()
        let bearer = try await token()
        let light = json(await call("GET", "/rest/v1.0/companies/8/projects", "filters%5Bby_status%5D=All", token: bearer))
        #expect(light.arrayValue?.map { $0["status_name"] } == ["Active", "Inactive"])
        #expect(await call("GET", "/rest/v1.0/companies/9/projects", token: bearer).status == 404)
        // v1.1: Active by default, All on request, pages of at most 300, [] past the end
        #expect(json(await call("GET", "/rest/v1.1/projects", "company_id=8", token: bearer)).arrayValue?.map { $0["id"] } == [101])
        let all = await call("GET", "/rest/v1.1/projects", "company_id=8&filters%5Bby_status%5D=All&per_page=500", token: bearer)
        #expect(json(all).arrayValue?.count == 2)
        #expect(all.header("Per-Page") == "300")
        #expect(json(await call("GET", "/rest/v1.1/projects", "company_id=8&page=2", token: bearer)) == [])
        #expect(json(await call("GET", "/rest/v1.0/projects", "company_id=8&filters%5Bby_status%5D=Inactive", token: bearer)).arrayValue?.map { $0["id"] } == [102])
        // users and roles
        let users = json(await call("GET", "/rest/v1.0/projects/101/users", token: bearer)).arrayValue ?? []
        #expect(users.count == 3 && users.allSatisfy { $0["email_address"]?.stringValue?.contains("@") == true })
        let roles = json(await call("GET", "/rest/v1.0/project_roles", "project_id=101", token: bearer)).arrayValue ?? []
        #expect(roles.map { $0["role"] } == ["Project Manager", "Superintendent"])
        // folders: the root with subfolders and files, one subfolder by id, 404 for another project's
        let root = json(await call("GET", "/rest/v1.0/folders", "project_id=101", token: bearer))
        #expect(root["name"] == "Project Root")
        #expect(root["folders"]?.arrayValue?.count == 3)
        #expect(root["files"]?.arrayValue?.count == 1)
        let drawings = try #require(root["folders"]?.arrayValue?.first?["id"]?.scalarText)
        let folder = json(await call("GET", "/rest/v1.0/folders/\(drawings)", "project_id=101", token: bearer))
        #expect(folder["name"] == "Drawings")
        #expect(folder["files"]?.arrayValue?.first?["file_versions"]?.arrayValue?.count == 1)
        #expect(await call("GET", "/rest/v1.0/folders/\(drawings)", "project_id=102", token: bearer).status == 404)
        // direct costs on v1.0 and v1.1: list, show with lines, lines; ids above 2^32
        for version in ["v1.0", "v1.1"] {
            let list = json(await call("GET", "/rest/\(version)/projects/101/direct_costs", token: bearer)).arrayValue ?? []
            #expect(list.count == 1)
            let id = try #require(list.first?["id"]?.doubleValue)
            #expect(id > 4_294_967_296)
            let shown = json(await call("GET", "/rest/\(version)/projects/101/direct_costs/\(Int64(id))", token: bearer))
            #expect(shown["grand_total"] == "1450.00")
            #expect(shown["vendor_name"] == "Rebar Co")
            #expect(shown["line_items"]?.arrayValue?.first?["cost_code"]?["full_code"] == "03-300")
            #expect(json(await call("GET", "/rest/\(version)/projects/101/direct_costs/\(Int64(id))/line_items", token: bearer)).arrayValue?.count == 1)
        }
        #expect(json(await call("GET", "/rest/v1.1/projects/102/direct_costs", token: bearer)) == [])
        #expect(await call("GET", "/rest/v1.1/projects/101/direct_costs/1", token: bearer).status == 404)
    }

    @Test func refreshTokensAreSingleUseAndCodesMatchTheirRedirect() async throws {
        let (status, first) = await grant("grant_type=refresh_token&refresh_token=seeded-refresh")
        #expect(status == 200)
        let next = try #require(first["refresh_token"]?.stringValue)
        #expect(next != "seeded-refresh")
        #expect(first["access_token"]?.stringValue != nil)
        let reused = await grant("grant_type=refresh_token&refresh_token=seeded-refresh")
        #expect(reused.0 == 400)
        #expect(reused.1["error"] == "invalid_grant")
        #expect(await grant("grant_type=refresh_token&refresh_token=never-issued").1["error"] == "invalid_grant")
        #expect(await grant("grant_type=refresh_token").1["error"] == "invalid_request")
        // a revoked refresh token is dead too
        _ = await core.respond(SimRequest(method: "POST", path: "/oauth/revoke", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                          body: Data("token=\(next)&client_id=cid&client_secret=sec".utf8)))
        #expect(await grant("grant_type=refresh_token&refresh_token=\(next)").0 == 400)
        // the setting makes them reusable
        var settings = await backend.settings
        settings.reusableRefreshTokens = true
        await backend.setSettings(settings)
        #expect(await grant("grant_type=refresh_token&refresh_token=seeded-refresh").0 == 200)
        // authorization codes: the redirect must match, and a code works once
        #expect(await grant("grant_type=authorization_code&code=consent-code&redirect_uri=https%3A%2F%2Fevil.example").1["error"] == "invalid_grant")
        let code = await grant("grant_type=authorization_code&code=consent-code&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob")
        #expect(code.0 == 200)
        #expect(code.1["refresh_token"]?.stringValue != nil)
        #expect(await grant("grant_type=authorization_code&code=consent-code&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob").0 == 400)
        #expect(await grant("grant_type=password").1["error"] == "unsupported_grant_type")
    }

    @Test func theSpikeWindowIsOnByDefaultAndFailedRequestsCount() async throws {
        let bearer = try await token()
        let first = await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer)
        #expect(first.header("X-Rate-Limit-Limit") == "25")  // the spike window is the closer one
        #expect(first.header("X-Rate-Limit-Remaining") == "24")
        #expect(first.header("X-Rate-Limit-Reset") == String(1_800_000_000 + 10))
        // a 404, a 400 and an unknown route count like a success
        #expect(await call("GET", "/rest/v1.0/projects/999", "company_id=8", token: bearer).status == 404)
        #expect(await call("GET", "/rest/v1.0/projects", "company_id=8&filters%5Bupdated_at%5D=yesterday", token: bearer).status == 400)
        let unknown = await call("GET", "/rest/v1.0/no_such_tool", token: bearer)
        #expect(unknown.status == 404)
        #expect(unknown.header("X-Rate-Limit-Remaining") == "21")
        for _ in 0..<21 { _ = await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer) }
        let limited = await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer)
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") == "10")
        clock.advance(by: .seconds(10))
        #expect(await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer).status == 200)
        // near the end of the hour the hourly figures show instead
        var settings = await backend.settings
        settings.hourlyLimit = 40
        await backend.setSettings(settings)
        clock.advance(by: .seconds(10))
        let late = await call("GET", "/rest/v1.0/projects", "company_id=8", token: bearer)
        #expect(late.header("X-Rate-Limit-Limit") == "40")
        #expect(late.header("X-Rate-Limit-Remaining") == "12")  // 28 counted this hour, the 429 among them
    }

    @Test func listsFilterByUpdatedAtAndStatusAndSort() async throws {
        await unlimited()
        for (number, status) in [("A", "Draft"), ("B", "Approved"), ("C", "Draft")] {
            let made = await call("POST", "/rest/v1.0/purchase_order_contracts", token: try await token(),
                                  body: ["project_id": 101, "purchase_order_contract": ["number": .string(number), "status": .string(status), "origin_id": .string("O-\(number)")]])
            #expect(made.status == 201)
            clock.advance(by: .seconds(3600))
        }
        let bearer2 = try await token()  // three hours on: the first token expired
        let ranged = json(await call("GET", "/rest/v1.0/purchase_order_contracts",
                                     "project_id=101&filters%5Bupdated_at%5D=2027-01-15T08:30:00Z...2027-01-15T09:30:00Z", token: bearer2))
        #expect(ranged.arrayValue?.map { $0["number"] } == ["B"])
        let day = json(await call("GET", "/rest/v1.0/purchase_order_contracts", "project_id=101&filters%5Bupdated_at%5D=2027-01-15...2027-01-15", token: bearer2))
        #expect(day.arrayValue?.count == 3)  // a date end takes its whole day
        let sorted = json(await call("GET", "/rest/v1.0/purchase_order_contracts", "project_id=101&filters%5Bstatus%5D=Draft&sort=-number", token: bearer2))
        #expect(sorted.arrayValue?.map { $0["number"] } == ["C", "A"])
        #expect(await call("GET", "/rest/v1.0/purchase_order_contracts", "project_id=101&sort=colour", token: bearer2).status == 400)
        #expect(await call("GET", "/rest/v1.0/purchase_order_contracts", "project_id=101&filters%5Bupdated_at%5D=2027-01-15", token: bearer2).status == 400)
    }

    @Test func requisitionsFollowBillingPeriods() async throws {
        await unlimited()
        let bearer = try await token()
        let code = try #require(json(await call("GET", "/rest/v1.0/cost_codes", "project_id=101", token: bearer)).arrayValue?.first?["id"])
        let created = json(await call("POST", "/rest/v1.0/purchase_order_contracts", token: bearer,
                                      body: ["project_id": 101, "purchase_order_contract": ["number": "P1", "origin_id": "O-P1"]]))
        let commitment = try #require(created["id"]?.scalarText)
        _ = await call("POST", "/rest/v1.0/purchase_order_contracts/\(commitment)/line_items", token: bearer,
                       body: ["project_id": 101, "line_item": ["amount": "100.00", "cost_code_id": code, "description": "x"]])
        func invoice(_ n: Int) async -> SimResponse {
            await call("POST", "/rest/v1.0/requisitions", token: bearer,
                       body: ["project_id": 101, "commitment_id": .string(commitment), "requisition": ["invoice_number": .string("INV-\(n)"), "origin_id": .string("R-\(n)")]])
        }
        let none = await invoice(1)
        #expect(none.status == 422)
        #expect(json(none)["errors"]?["period_id"]?.arrayValue?.first?.stringValue?.contains("no open billing period") == true)
        let period = await call("POST", "/rest/v1.0/projects/101/billing_periods", token: bearer,
                                body: ["billing_period": ["start_date": "2027-01-01", "end_date": "2027-01-31", "due_date": "2027-02-10", "status": "open"]])
        #expect(period.status == 201)
        let second = await call("POST", "/rest/v1.0/projects/101/billing_periods", token: bearer,
                                body: ["billing_period": ["start_date": "2027-02-01", "end_date": "2027-02-28", "due_date": "2027-03-10", "status": "open"]])
        #expect(json(second)["errors"]?["status"] != nil)  // only one open at a time
        let first = await invoice(1)
        #expect(first.status == 201)
        #expect(json(first)["period_id"] == json(period)["id"])
        let again = await invoice(2)
        #expect(again.status == 422)  // one invoice per commitment per period
        #expect(json(again)["errors"]?["period_id"]?.arrayValue?.first?.stringValue?.contains("already has an invoice") == true)
        try await backend.openNextBillingPeriod(projectNumber: "2301")
        let periods = json(await call("GET", "/rest/v1.0/projects/101/billing_periods", token: bearer)).arrayValue ?? []
        #expect(periods.map { $0["status"] } == ["closed", "open"])
        #expect(periods.last?["start_date"] == "2027-02-01")
        #expect(await invoice(2).status == 201)
        // an earlier period than the latest invoice's is refused
        let back = await call("POST", "/rest/v1.0/requisitions", token: bearer,
                              body: ["project_id": 101, "commitment_id": .string(commitment),
                                     "requisition": ["invoice_number": "INV-3", "origin_id": "R-3", "period_id": periods.first?["id"] ?? nil]])
        #expect(back.status == 422)  // the closed period holds INV-1 already, and INV-2 sits in a later one
        #expect(json(back)["errors"]?["period_id"] != nil)
        var settings = await backend.settings
        settings.relaxBillingPeriods = true
        await backend.setSettings(settings)
        #expect(await invoice(4).status == 201)  // relaxed: several in one period
    }
}
