import AsyncHTTPClient
import ClientKit
import Foundation
import Logging
import ProcoreClient
import SyncEngine
import SysproClient

/// The API facts our clients rely on, written once as checks that run against a simulator (in CI)
/// or a real sandbox (`ml-connector contract verify`). A simulator that fails one disagrees with
/// the documented API: that is a bug in the simulator. Checks that write, or that make a
/// deliberately failed logon, run only when allowed.
public enum ContractSuite {
    public struct Outcome: Sendable, Codable {
        public enum Status: String, Sendable, Codable { case passed, failed, skipped }
        public var system: String
        public var check: String
        public var status: Status
        public var detail: String
    }

    struct Check {
        var name: String
        var intrusive: Bool
        var run: () async throws -> String
    }

    struct Broken: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Broken(message()) }
    }

    static func run(_ checks: [Check], system: String, allowIntrusive: Bool) async -> [Outcome] {
        var outcomes: [Outcome] = []
        for check in checks {
            if check.intrusive && !allowIntrusive {
                outcomes.append(Outcome(system: system, check: check.name, status: .skipped,
                                        detail: "writes or makes a failed logon; pass --allow-writes"))
                continue
            }
            do {
                outcomes.append(Outcome(system: system, check: check.name, status: .passed, detail: try await check.run()))
            } catch {
                outcomes.append(Outcome(system: system, check: check.name, status: .failed, detail: "\(error)"))
            }
        }
        return outcomes
    }

    static func transport(_ http: HTTPClient, _ system: String, _ logger: Logger, _ clock: any SyncClock) -> HTTPTransport {
        HTTPTransport(http: http, system: system, clock: clock, policy: BackoffPolicy(maxAttempts: 2), timeout: .seconds(20), logger: logger)
    }

    static func json(_ reply: HTTPReply) throws -> JSONValue {
        guard let value = try? JSONValue(parsing: reply.body) else {
            throw Broken("HTTP \(reply.status) with a body that is not JSON: \(reply.excerpt)")
        }
        return value
    }

    // MARK: SYSPRO

    public static func syspro(_ connection: SysproConnection, http: HTTPClient, logger: Logger, allowIntrusive: Bool, clock: any SyncClock = SystemClock()) async -> [Outcome] {
        let raw = transport(http, "syspro", logger, clock)
        let basic = "Basic " + Data("\(connection.odataUser):\(connection.odataPassword)".utf8).base64EncodedString()
        func enet(_ operation: String, _ query: [(String, String)]) async throws -> String {
            let url = "\(connection.enetBase)/\(operation)?" + query.map { "\($0.0)=\($0.1.percentEncoded(keeping: "-._~"))" }.joined(separator: "&")
            let reply = try await raw.send("GET", url)
            try expect(reply.status == 200, "e.net \(operation) answered HTTP \(reply.status); e.net answers 200 and reports errors in the body")
            return reply.text
        }
        func odata(_ set: String, _ query: String, auth: String? = nil) async throws -> HTTPReply {
            try await raw.send("GET", "\(connection.odataRoot)/\(set)?\(query)", headers: [("Authorization", auth ?? basic), ("Accept", "application/json")])
        }
        func logon() async throws -> String {
            try await enet("Logon", [("Operator", connection.operatorCode), ("OperatorPassword", connection.operatorPassword),
                                     ("CompanyId", connection.companyID), ("CompanyPassword", connection.companyPassword)])
        }
        func rows(_ reply: HTTPReply) throws -> [JSONValue] {
            try expect(reply.status == 200, "OData answered HTTP \(reply.status): \(reply.excerpt)")
            guard let rows = try json(reply)["value"]?.arrayValue else { throw Broken("OData answer has no 'value' array") }
            return rows
        }
        let checks = [
            Check(name: "logon returns a session id (hex, trailing spaces allowed) and logoff answers 0", intrusive: false) {
                let id = try await logon()
                let trimmed = id.trimmingCharacters(in: .whitespaces)
                try expect(!trimmed.hasPrefix("ERROR") && trimmed.count >= 8 && trimmed.allSatisfy(\.isHexDigit), "logon answered '\(id.prefix(60))'")
                let off = try await enet("Logoff", [("UserId", id)])
                try expect(off.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "logoff answered '\(off.prefix(60))'")
                return "session id of \(trimmed.count) hex characters"
            },
            Check(name: "a logged-off session answers the in-band 'UserID is invalid' text", intrusive: false) {
                let id = try await logon().trimmingCharacters(in: .whitespaces)
                _ = try await enet("Logoff", [("UserId", id)])
                let answer = try await enet("GetLogonProfile", [("UserId", id)])
                try expect(answer.hasPrefix("ERROR: The supplied UserID is invalid"), "a dead session answered '\(answer.prefix(80))'")
                return "dead-session text as documented"
            },
            Check(name: "a wrong operator password is an in-band ERROR, not an HTTP error", intrusive: true) {
                let answer = try await enet("Logon", [("Operator", connection.operatorCode), ("OperatorPassword", "ml-connector-contract-wrong"),
                                                      ("CompanyId", connection.companyID)])
                try expect(answer.hasPrefix("ERROR"), "a wrong password answered '\(answer.prefix(60))'")
                return answer.trimmingCharacters(in: .whitespacesAndNewlines)
            },
            Check(name: "COMFND answers XML rows and RowsReturned for GenMaster", intrusive: false) {
                let id = try await logon().trimmingCharacters(in: .whitespaces)
                let xml = "<Query><TableName>GenMaster</TableName><ReturnRows>1</ReturnRows><Columns><Column>GlCode</Column></Columns></Query>"
                let answer = try? await enet("Query/Query", [("UserId", id), ("BusinessObject", "COMFND"), ("XmlIn", xml)])
                _ = try? await enet("Logoff", [("UserId", id)])  // free the licence seat either way
                guard let answer else { throw Broken("COMFND failed") }
                let document = try SafeXML.parse(answer)
                try expect(document.child("RowsReturned") != nil, "no RowsReturned in the COMFND answer")
                return "\(document.children("Row").count) row(s)"
            },
            Check(name: "OData answers a v4 JSON envelope with the columns the flow reads", intrusive: false) {
                let headers = try rows(await odata("PorMasterHdr", "$top=1"))
                for row in headers {
                    for column in ["PurchaseOrder", "Supplier", "OrderEntryDate"] {
                        try expect(row[column] != nil, "PorMasterHdr has no column \(column)")
                    }
                }
                for row in try rows(await odata("PorMasterDetail", "$top=1")) {
                    for column in ["PurchaseOrder", "Line", "MGlCode", "MOrderQty", "MPrice"] {
                        try expect(row[column] != nil, "PorMasterDetail has no column \(column)")
                    }
                }
                for row in try rows(await odata("ApInvoice", "$top=1")) {
                    for column in ["Supplier", "Invoice", "InvoiceDate", "OrigInvValue"] {
                        try expect(row[column] != nil, "ApInvoice has no column \(column)")
                    }
                }
                return "PorMasterHdr, PorMasterDetail, ApInvoice readable"
            },
            Check(name: "OData pages with $top/$skip and filters on a date-time literal", intrusive: false) {
                let first = try rows(await odata("PorMasterHdr", "$orderby=PurchaseOrder&$top=2"))
                let second = try rows(await odata("PorMasterHdr", "$orderby=PurchaseOrder&$top=2&$skip=1"))
                if first.count == 2, let overlap = second.first {
                    try expect(first[1]["PurchaseOrder"] == overlap["PurchaseOrder"], "$skip=1 did not shift the page by one row")
                }
                _ = try rows(await odata("PorMasterHdr", "$filter=" + "OrderEntryDate ge 2000-01-01T00:00:00Z".percentEncoded() + "&$top=1"))
                return "paging and date filter accepted"
            },
            Check(name: "OData refuses a wrong password with 401", intrusive: true) {
                let reply = try await odata("PorMasterHdr", "$top=1", auth: "Basic " + Data("\(connection.odataUser):ml-connector-contract-wrong".utf8).base64EncodedString())
                try expect(reply.status == 401, "a wrong OData password answered \(reply.status)")
                return "401"
            },
            Check(name: "PORTOI with ValidateOnly=Y answers postpurchaseorders with StatusofItems and a field error for an unknown supplier", intrusive: false) {
                let client = SysproClient(connection: connection, transport: raw)
                let parameters = "<PostPurchaseOrders><Parameters><ValidateOnly>Y</ValidateOnly><AllowNonStockItems>Y</AllowNonStockItems></Parameters></PostPurchaseOrders>"
                let xml = "<PostPurchaseOrders><Orders><OrderHeader><OrderActionType>A</OrderActionType><Supplier>ZZMLCONTRACT</Supplier></OrderHeader><OrderDetails>"
                    + "<StockLine><StockCode>ML-CONTRACT</StockCode><OrderQty>1</OrderQty><Price>1</Price><PriceMethod>M</PriceMethod></StockLine></OrderDetails></Orders></PostPurchaseOrders>"
                let result = try? await client.post("Transaction/Post", object: "PORTOI", parameters: parameters, xmlIn: xml)
                await client.logoff()
                guard let result else { throw Broken("PORTOI failed (licensed for this operator?)") }
                try expect(result.document.name.lowercased() == "postpurchaseorders", "root is \(result.document.name)")
                try expect(result.document.child("StatusofItems") != nil || result.document.child("StatusOfItems") != nil, "no status block")
                try expect(!result.errors.isEmpty, "an unknown supplier validated without a field error")
                return result.errors.first!
            },
            Check(name: "APSTIN with ValidateOnly=Y answers postapinvoice with a field error for an unknown supplier and posts nothing", intrusive: false) {
                let client = SysproClient(connection: connection, transport: raw)
                let parameters = "<PostApInvoice><Parameters><PostingPeriod>C</PostingPeriod><ValidateOnly>Y</ValidateOnly>"
                    + "<ApplyIfEntireDocumentValid>Y</ApplyIfEntireDocumentValid></Parameters></PostApInvoice>"
                let xml = "<PostApInvoice><Item><Supplier>ZZMLCONTRACT</Supplier><TransactionCode>I</TransactionCode><Invoice>MLC-CONTRACT</Invoice>"
                    + "<TransactionValue>1.00</TransactionValue></Item></PostApInvoice>"
                let steps: Result<(SysproClient.PostResult, [[String: String]]), any Error>
                do {
                    let result = try await client.post("Transaction/Post", object: "APSTIN", parameters: parameters, xmlIn: xml)
                    let found = try await client.find(table: "ApInvoice", columns: ["Invoice"], whereEqual: [("Invoice", "MLC-CONTRACT")], maxRows: 1)
                    steps = .success((result, found))
                } catch {
                    steps = .failure(error)
                }
                await client.logoff()
                guard case .success(let (result, found)) = steps else { throw Broken("APSTIN failed (licensed for this operator?)") }
                try expect(!result.errors.isEmpty, "an invoice for an unknown supplier validated without a field error")
                try expect(found.isEmpty, "ValidateOnly left invoice MLC-CONTRACT in ApInvoice")
                return result.errors.first!
            },
            Check(name: "APSSSP adds a supplier, refuses adding it again, and updates it", intrusive: true) {
                let client = SysproClient(connection: connection, transport: raw)
                let code = "MLC" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10))
                let add = "<SetupApSupplier><Item><Key><Supplier>\(code)</Supplier></Key><SupplierName>ml-connector contract check</SupplierName></Item></SetupApSupplier>"
                let update = "<SetupApSupplier><Item><Key><Supplier>\(code)</Supplier></Key><SupplierName>ml-connector contract check (updated)</SupplierName></Item></SetupApSupplier>"
                let steps: Result<(SysproClient.PostResult, SysproClient.PostResult, SysproClient.PostResult, [[String: String]]), any Error>
                do {
                    let first = try await client.post("Setup/Add", object: "APSSSP", parameters: "", xmlIn: add)
                    let again = try await client.post("Setup/Add", object: "APSSSP", parameters: "", xmlIn: add)
                    let changed = try await client.post("Setup/Update", object: "APSSSP", parameters: "", xmlIn: update)
                    let found = try await client.find(table: "ApSupplier", columns: ["SupplierName"], whereEqual: [("Supplier", code)], maxRows: 1)
                    steps = .success((first, again, changed, found))
                } catch {
                    steps = .failure(error)
                }
                await client.logoff()  // free the licence seat either way
                let (first, again, changed, found) = try steps.get()
                try expect(first.errors.isEmpty, "the first add was refused: \(first.errors.joined(separator: "; "))")
                try expect(!again.errors.isEmpty, "a second add of \(code) was accepted")
                try expect(changed.errors.isEmpty, "the update was refused: \(changed.errors.joined(separator: "; "))")
                try expect(found.first?["SupplierName"] == "ml-connector contract check (updated)", "COMFND does not show the update")
                return "\(code) added (left in the company), second add refused: \(again.errors.first!)"
            },
        ]
        return await run(checks, system: "syspro", allowIntrusive: allowIntrusive)
    }

    // MARK: Procore

    public static func procore(_ connection: ProcoreConnection, http: HTTPClient, logger: Logger, allowWrites: Bool, clock: any SyncClock = SystemClock()) async -> [Outcome] {
        let raw = transport(http, "procore", logger, clock)
        let client = ProcoreClient(connection: connection, transport: raw)
        let company = String(connection.companyID)
        func tokenReply(secret: String) async throws -> HTTPReply {
            let form = "grant_type=client_credentials&client_id=\(connection.clientID.percentEncoded())&client_secret=\(secret.percentEncoded())"
            return try await raw.send("POST", "\(connection.loginBase)/oauth/token",
                                      headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(form.utf8))
        }
        func firstProject() async throws -> String {
            let projects = try await client.json("GET", "/rest/v1.0/projects", query: [("company_id", company), ("per_page", "1")], what: "projects")
            guard let id = projects.arrayValue?.first?["id"]?.doubleValue else { throw Broken("company \(company) has no visible project") }
            return String(Int64(id))
        }
        let checks = [
            Check(name: "client credentials give a bearer token with expires_in and no refresh token", intrusive: false) {
                let body = try json(try await tokenReply(secret: connection.clientSecret))
                try expect(body["access_token"]?.stringValue != nil, "no access_token")
                try expect(body["token_type"]?.stringValue?.lowercased() == "bearer", "token_type is \(body["token_type"]?.canonicalJSON() ?? "absent")")
                try expect(body["expires_in"]?.doubleValue != nil, "no expires_in")
                try expect(body["refresh_token"] == nil, "a client-credentials token came with a refresh token")
                return "expires_in \(Int(body["expires_in"]!.doubleValue!)) s"
            },
            Check(name: "a wrong client secret is 401 invalid_client", intrusive: false) {
                let reply = try await tokenReply(secret: "ml-connector-contract-wrong")
                try expect(reply.status == 401, "answered \(reply.status)")
                try expect(try json(reply)["error"] == "invalid_client", "error is not invalid_client")
                return "401 invalid_client"
            },
            Check(name: "an unknown bearer token is 401", intrusive: false) {
                let reply = try await raw.send("GET", "\(connection.apiBase)/rest/v1.0/companies",
                                               headers: [("Authorization", "Bearer ml-connector-contract-invalid"), ("Procore-Company-Id", company)])
                try expect(reply.status == 401, "answered \(reply.status)")
                return "401"
            },
            Check(name: "the company installed the app", intrusive: false) {
                let companies = try await client.list("/rest/v1.0/companies", query: [], what: "companies")
                try expect(companies.contains { $0["id"]?.doubleValue == Double(connection.companyID) }, "company \(company) is not listed")
                return "\(companies.count) compan(y/ies)"
            },
            Check(name: "lists are bare arrays with Total, Per-Page, absolute Link and rate-limit headers", intrusive: false) {
                let reply = try await client.call("GET", "/rest/v1.0/projects", query: [("company_id", company), ("per_page", "1")])
                try expect(reply.status == 200, "answered \(reply.status)")
                try expect(try json(reply).arrayValue != nil, "the body is not a bare array")
                let total = Int(reply.header("Total") ?? "")
                try expect(total != nil && reply.header("Per-Page") == "1", "Total/Per-Page missing")
                if let total, total > 1 {
                    guard let next = ProcoreClient.nextLink(reply.header("Link")) else { throw Broken("no rel=\"next\" link with \(total) items") }
                    try expect(next.hasPrefix("http"), "the next link is not absolute: \(next)")
                    try expect(next.contains("company_id=\(company)"), "the next link dropped company_id")
                }
                for name in ["X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"] {
                    try expect(reply.header(name) != nil, "no \(name) header")
                }
                return "\(total ?? 0) project(s); headers as documented"
            },
            Check(name: "filters[origin_id] narrows vendors (an unknown id gives [])", intrusive: false) {
                let found = try await client.list("/rest/v1.0/vendors", query: [("company_id", company), ("filters[origin_id]", "ML-CONTRACT-\(UUID().uuidString)")], what: "vendors")
                try expect(found.isEmpty, "\(found.count) vendor(s) for an unknown origin_id")
                return "[]"
            },
            Check(name: "cost codes carry id and full_code; budget detail rows carry cost_code_id", intrusive: false) {
                let project = try await firstProject()
                let codes = try await client.list("/rest/v1.0/cost_codes", query: [("project_id", project)], what: "cost codes")
                try expect(codes.allSatisfy { $0["id"] != nil && $0["full_code"]?.stringValue != nil }, "a cost code lacks id or full_code")
                let views = try await client.list("/rest/v1.0/budget_views", query: [("project_id", project)], what: "budget views")
                guard let view = views.first?["id"]?.doubleValue else { return "\(codes.count) cost code(s); no budget view" }
                let rows = try await client.list("/rest/v1.0/budget_views/\(Int64(view))/detail_rows", query: [("project_id", project)], what: "detail rows")
                try expect(rows.allSatisfy { $0["cost_code_id"] != nil }, "a detail row lacks cost_code_id")
                return "\(codes.count) cost code(s), \(rows.count) budget row(s)"
            },
            Check(name: "projects list on v1.0, v1.1 (filters[by_status]) and the company path; a project's billing periods, folders and users", intrusive: false) {
                let active = try await client.list("/rest/v1.1/projects", query: [("company_id", company)], what: "v1.1 projects")
                let all = try await client.list("/rest/v1.1/projects", query: [("company_id", company), ("filters[by_status]", "All")], what: "all projects")
                try expect(all.count >= active.count, "filters[by_status]=All lists fewer projects (\(all.count)) than the default (\(active.count))")
                let light = try await client.list("/rest/v1.0/companies/\(company)/projects", query: [], what: "company projects")
                try expect(!light.isEmpty || all.isEmpty, "the company path lists no project")
                let project = try await firstProject()
                let periods = try await client.list("/rest/v1.0/projects/\(project)/billing_periods", query: [], what: "billing periods")
                try expect(periods.filter { $0["status"]?.stringValue == "open" }.count <= 1, "more than one open billing period")
                let root = try await client.json("GET", "/rest/v1.0/folders", query: [("project_id", project)], what: "the root folder")
                try expect(root["folders"]?.arrayValue != nil && root["files"]?.arrayValue != nil, "the root folder has no folders/files arrays")
                let users = try await client.list("/rest/v1.0/projects/\(project)/users", query: [], what: "project users")
                return "\(active.count) active of \(all.count) project(s); project \(project): \(periods.count) billing period(s), \(users.count) user(s)"
            },
            Check(name: "rate-limit headers report the window closer to running out (a reset within 10 s is the spike window)", intrusive: false) {
                let reply = try await client.call("GET", "/rest/v1.0/projects", query: [("company_id", company), ("per_page", "1")])
                guard let limit = Int(reply.header("X-Rate-Limit-Limit") ?? ""), let remaining = Int(reply.header("X-Rate-Limit-Remaining") ?? ""),
                    let reset = Int(reply.header("X-Rate-Limit-Reset") ?? "")
                else { throw Broken("no X-Rate-Limit-* headers") }
                try expect(remaining <= limit, "Remaining \(remaining) above Limit \(limit)")
                let window = reset - Int(clock.now().timeIntervalSince1970) <= 10 ? "spike" : "hourly"
                return "\(remaining)/\(limit) left in the \(window) window"
            },
            Check(name: "origin_id is unique per company: a second commitment with it is refused", intrusive: true) {
                let project = try await firstProject()
                let origin = "ML-CONTRACT-\(UUID().uuidString.prefix(8))"
                func create(_ number: String) async throws -> HTTPReply {
                    try await client.call("POST", "/rest/v1.0/purchase_order_contracts", body: [
                        "project_id": .number(Double(project)!),
                        "purchase_order_contract": ["number": .string(number), "title": "ml-connector contract check", "origin_id": .string(origin)],
                    ])
                }
                let first = try await create(origin)
                try expect(first.status == 201, "creating a commitment answered \(first.status): \(first.excerpt)")
                let second = try await create(origin + "-2")
                try expect([409, 422].contains(second.status), "a duplicate origin_id answered \(second.status)")
                return "created, then \(second.status) on the duplicate (commitment \(origin) left in the sandbox)"
            },
        ]
        return await run(checks, system: "procore", allowIntrusive: allowWrites)
    }

    public static func describe(_ outcomes: [Outcome]) -> String {
        outcomes.map { outcome in
            let mark = outcome.status == .passed ? "✔" : (outcome.status == .failed ? "✘" : "-")
            return "\(mark) \(outcome.system): \(outcome.check) — \(outcome.detail)"
        }.joined(separator: "\n")
    }
}
