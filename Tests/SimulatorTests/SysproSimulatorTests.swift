import Foundation
import SimulatorKit
import SyncEngine
import ProcoreSimulator
import SysproSimulator
import Testing

/// SYSPRO simulator fidelity (syspro.md §10), through the same request path the HTTP host uses.
@Suite(.timeLimit(.minutes(2))) struct SysproSimulatorTests {
    let clock = ManualClock()
    let core: SimulatorCore
    let backend: SysproBackend

    init() async throws {
        (core, backend) = SysproSimulator.makeCore(clock: clock)
        try await backend.seed([
            "company": "EDU1",
            "operators": [["code": "ADMIN", "password": "pw", "companyPassword": "", "odataPassword": "od"]],
            "tables": [
                "PorMasterHdr": [
                    ["PurchaseOrder": "000000000150802", "Supplier": "SUP001", "OrderEntryDate": "2026-03-01T00:00:00Z", "OrderStatus": "1"],
                    ["PurchaseOrder": "000000000150803", "Supplier": "SUP002", "OrderEntryDate": "2026-03-02T00:00:00Z", "OrderStatus": "1"],
                    ["PurchaseOrder": "000000000150804", "Supplier": "O'NEIL", "OrderEntryDate": "2026-03-03T00:00:00Z", "OrderStatus": "*"],
                ],
                "GenMaster": [["Company": "EDU1", "GlCode": "5100-200", "Description": "Concrete"]],
            ],
        ])
    }

    func enet(_ operation: String, _ query: String) async -> String {
        let response = await core.respond(SimRequest(method: "GET", path: "/SYSPROWCFService/Rest/\(operation)", rawQuery: query))
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/octet-stream")
        return String(decoding: response.body, as: UTF8.self)
    }

    func odata(_ table: String, _ query: String = "", auth: String? = "ADMIN:od", method: String = "GET") async -> SimResponse {
        var headers: [String: String] = [:]
        if let auth { headers["Authorization"] = "Basic " + Data(auth.utf8).base64EncodedString() }
        return await core.respond(SimRequest(method: method, path: "/SYSPRO8Odata/SYSPROOData/EDU1/\(table)", rawQuery: query, headers: headers))
    }

    func rows(_ response: SimResponse) throws -> [JSONValue] {
        try #require(JSONDecoder().decode(JSONValue.self, from: response.body)["value"]?.arrayValue)
    }

    @Test func logonReturnsAThirtyFourHexSessionWithTwoTrailingSpaces() async {
        let id = await enet("Logon", "Operator=ADMIN&OperatorPassword=pw&CompanyId=EDU1&CompanyPassword=")
        #expect(id.count == 36)
        #expect(id.hasSuffix("00  "))
        #expect(id.prefix(34).allSatisfy { $0.isHexDigit && !$0.isLowercase })
        // lower-case path and '+'-encoded spaces are accepted; the id is accepted with its spaces
        let profile = await enet("getlogonprofile", "UserId=" + id.replacingOccurrences(of: " ", with: "+"))
        #expect(profile.hasPrefix("<?xml version=\"1.0\" encoding=\"Windows-1252\"?>"))
        #expect(profile.contains("<OperatorCode>ADMIN</OperatorCode>"))
        #expect(profile.hasSuffix("\n "))
        #expect(await enet("Logoff", "UserId=" + id.trimmingCharacters(in: .whitespaces)) == "0")
    }

    @Test func wrongPasswordIsAnInBandError() async {
        #expect(await enet("Logon", "Operator=ADMIN&OperatorPassword=nope&CompanyId=EDU1") == "ERROR: Invalid operator password")
    }

    @Test func idleSessionsAndKilledSessionsAnswerTheInvalidUserIDText() async {
        let id = await enet("Logon", "Operator=ADMIN&OperatorPassword=pw&CompanyId=EDU1").trimmingCharacters(in: .whitespaces)
        clock.advance(by: .seconds(1199))
        #expect(await enet("GetLogonProfile", "UserId=\(id)").contains("<CompanyId>EDU1</CompanyId>"))
        clock.advance(by: .seconds(1201))
        #expect(await enet("GetLogonProfile", "UserId=\(id)") == SysproSimulator.invalidSession)

        let second = await enet("Logon", "Operator=ADMIN&OperatorPassword=pw&CompanyId=EDU1").trimmingCharacters(in: .whitespaces)
        _ = await core.respond(SimRequest(method: "POST", path: "/_sim/kill-sessions", headers: ["Content-Type": "application/json"]))
        #expect(await enet("Query/Query", "UserId=\(second)&BusinessObject=COMFND&XmlIn=").hasPrefix("ERROR: The supplied UserID is invalid."))
    }

    @Test func comfndFindsRowsWithPaddedCount() async {
        let id = await enet("Logon", "Operator=ADMIN&OperatorPassword=pw&CompanyId=EDU1").trimmingCharacters(in: .whitespaces)
        let xml = "<Query><TableName>GenMaster</TableName><ReturnRows>5</ReturnRows><Columns><Column>GlCode</Column></Columns><Where><Expression><OpenBracket>(</OpenBracket><Column>GlCode</Column><Condition>EQ</Condition><Value>5100-200</Value><CloseBracket>)</CloseBracket></Expression></Where></Query>"
        let encoded = xml.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let answer = await enet("Query/Query", "UserId=\(id)&BusinessObject=COMFND&XmlIn=\(encoded)")
        #expect(answer.contains("<GenMaster Language='05'"))
        #expect(answer.contains("<Row>\n<GlCode>5100-200</GlCode>\n</Row>"))
        #expect(answer.contains("<RowsReturned>       1</RowsReturned>"))
        let bomb = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><Query><TableName>&a;</TableName></Query>"
        let refused = await enet("Query/Query", "UserId=\(id)&BusinessObject=COMFND&XmlIn=\(bomb.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
        #expect(refused.hasPrefix("ERROR"))
        #expect(await enet("Query/Query", "UserId=\(id)&BusinessObject=NOPE01&XmlIn=").contains("100000"))
    }

    /// COMFND's `LIKE` condition (SQL wildcards, case-insensitive) and `OrderBy`, as clients
    /// use them for "find the supplier whose code starts with…" look-ups.
    @Test func comfndHonoursLikeAndOrderBy() async {
        let id = await enet("Logon", "Operator=ADMIN&OperatorPassword=pw&CompanyId=EDU1").trimmingCharacters(in: .whitespaces)
        func find(_ whereXML: String, order: String = "") async -> String {
            let xml = "<Query><TableName>PorMasterHdr</TableName><ReturnRows>10</ReturnRows><Columns><Column>PurchaseOrder</Column><Column>Supplier</Column></Columns>\(order)<Where>\(whereXML)</Where></Query>"
            return await enet("Query/Query", "UserId=\(id)&BusinessObject=COMFND&XmlIn=\(xml.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
        }
        let like = await find("<Expression><Column>Supplier</Column><Condition>LIKE</Condition><Value>sup%</Value></Expression>")
        #expect(like.contains("<RowsReturned>       2</RowsReturned>"))
        #expect(!like.contains("O'NEIL") && !like.contains("O&apos;NEIL"))
        let one = await find("<Expression><Column>Supplier</Column><Condition>LIKE</Condition><Value>SUP00_</Value></Expression><Expression><AndOr>And</AndOr><Column>Supplier</Column><Condition>LIKE</Condition><Value>%2</Value></Expression>")
        #expect(one.contains("<Supplier>SUP002</Supplier>") && one.contains("<RowsReturned>       1</RowsReturned>"))
        let ordered = await find("<Expression><Column>OrderStatus</Column><Condition>NE</Condition><Value>X</Value></Expression>",
                                 order: "<OrderBy><Column>Supplier</Column><Direction>Desc</Direction></OrderBy>")
        let suppliers = ordered.components(separatedBy: "<Supplier>").dropFirst().map { String($0.prefix { $0 != "<" }) }
        #expect(suppliers == ["SUP002", "SUP001", "O&apos;NEIL"] || suppliers == ["SUP002", "SUP001", "O'NEIL"])
        #expect(ordered.contains("<OrderBy>\n<Column>Supplier</Column>\n</OrderBy>"))
        #expect(await find("", order: "<OrderBy><Column>NoSuch</Column></OrderBy>").hasPrefix("ERROR"))
        #expect(ODataQuery.sqlLike("abcabcabc", "%a%b%c%") && !ODataQuery.sqlLike("abc", "a_") && ODataQuery.sqlLike("", "%"))
        #expect(!ODataQuery.sqlLike(String(repeating: "a", count: 5000), String(repeating: "%a", count: 50) + "b"))
    }

    /// PORQ60 answers the path a published client reads: PurchaseOrdersByOrderNumber/
    /// PurchaseOrders/PurchaseOrder/OrderHeader/Status.
    @Test func porq60FindsPurchaseOrdersByNumber() async throws {
        let id = await enet("Logon", "Operator=ADMIN&OperatorPassword=pw&CompanyId=EDU1").trimmingCharacters(in: .whitespaces)
        func query(_ filter: String, status: String = "A") async -> String {
            let xml = "<Query xmlns:xsd=\"http://www.w3.org/2001/XMLSchema-instance\" xsd:noNamespaceSchemaLocation=\"PORQ60.XSD\"><Option><OrderStatus>\(status)</OrderStatus></Option><Filter>\(filter)</Filter></Query>"
            return await enet("Query/Query", "UserId=\(id)&BusinessObject=PORQ60&XmlIn=\(xml.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
        }
        let one = await query(#"<PurchaseOrder FilterType="S" FilterValue="000000000150804"/>"#)
        let parsed = try SafeXML.parse(one)
        #expect(parsed.name == "PurchaseOrdersByOrderNumber")
        #expect(parsed.child("PurchaseOrders")?.child("PurchaseOrder")?.child("OrderHeader")?.value("Status") == "*")
        #expect(parsed.child("PurchaseOrders")?.children("PurchaseOrder").count == 1)
        let list = try SafeXML.parse(await query(#"<PurchaseOrder FilterType="L" FilterValue="000000000150802,000000000150803"/>"#))
        #expect(list.child("PurchaseOrders")?.children("PurchaseOrder").count == 2)
        let open = try SafeXML.parse(await query(#"<PurchaseOrder FilterType="A" FilterValue=""/>"#, status: "1"))
        #expect(open.child("PurchaseOrders")?.children("PurchaseOrder").count == 2)
        #expect(await query(#"<PurchaseOrder FilterType="Q" FilterValue=""/>"#).hasPrefix("ERROR"))
    }

    @Test func odataFiltersOrdersPagesAndSelects() async throws {
        let all = try rows(await odata("PorMasterHdr", "$orderby=OrderEntryDate%20desc"))
        #expect(all.compactMap { $0["PurchaseOrder"]?.stringValue } == ["000000000150804", "000000000150803", "000000000150802"])
        let filtered = try rows(await odata("PorMasterHdr", "$filter=OrderEntryDate+ge+2026-03-02T00:00:00Z+and+OrderStatus+ne+'*'"))
        #expect(filtered.count == 1)
        let dateOnly = try rows(await odata("PorMasterHdr", "$filter=OrderEntryDate%20lt%202026-03-02"))
        #expect(dateOnly.count == 1)
        let quoted = try rows(await odata("PorMasterHdr", "$filter=Supplier%20eq%20'O''NEIL'%20or%20(Supplier%20eq%20'SUP001')"))
        #expect(quoted.count == 2)
        let page = try rows(await odata("PorMasterHdr", "$orderby=PurchaseOrder&$top=1&$skip=1&$select=PurchaseOrder"))
        #expect(page == [["PurchaseOrder": "000000000150803"]])
        #expect(try rows(await odata("PorMasterHdr", "$skip=10")).isEmpty)
    }

    @Test func odataErrorsLookLikeIIS() async throws {
        #expect(await odata("PorMasterHdr", auth: nil).status == 401)
        #expect(await odata("PorMasterHdr", auth: nil).header("WWW-Authenticate")?.hasPrefix("Basic") == true)
        #expect(await odata("PorMasterHdr", auth: "ADMIN:wrong").status == 401)
        #expect(await odata("NoSuchTable").status == 404)
        let bad = await odata("PorMasterHdr", "$filter=NoSuchColumn%20eq%201")
        #expect(bad.status == 400)
        #expect(try JSONDecoder().decode(JSONValue.self, from: bad.body)["error"]?["message"]?.stringValue?.contains("NoSuchColumn") == true)
        #expect(await odata("PorMasterHdr", "$filter=Supplier%20eq").status == 400)
        #expect(await odata("PorMasterHdr", method: "POST").status == 405)
    }

    @Test func pagesAreCappedAtTheConfiguredMaximumWithOptionalNextLink() async throws {
        var settings = SysproBackend.Settings()
        settings.maxPageSize = 2
        settings.emitNextLinks = true
        await backend.setSettings(settings)
        let response = await odata("PorMasterHdr", "$orderby=PurchaseOrder")
        let body = try JSONDecoder().decode(JSONValue.self, from: response.body)
        #expect(body["value"]?.arrayValue?.count == 2)
        #expect(body["@odata.nextLink"]?.stringValue?.contains("$skip=2") == true)
    }

    /// The control API refuses what a web page could send and what would trap.
    @Test func theControlAPIRefusesWebPagesAndAbsurdValues() async {
        func control(_ path: String, _ body: String, headers: [String: String] = ["Content-Type": "application/json"]) async -> Int {
            await core.respond(SimRequest(method: "POST", path: path, headers: headers, body: Data(body.utf8))).status
        }
        let rule = #"{"path":"*","effect":{"status":503}}"#
        #expect(await control("/_sim/faults", rule, headers: [:]) == 415)  // a form or text/plain POST from a page
        #expect(await control("/_sim/faults", rule, headers: ["Content-Type": "text/plain"]) == 415)
        #expect(await control("/_sim/faults", rule, headers: ["Content-Type": "application/json", "Origin": "https://evil.example"]) == 403)
        #expect(await control("/_sim/faults", rule, headers: ["Content-Type": "application/json", "Origin": "http://127.0.0.1:8080"]) == 201)
        core.faults.clear()
        #expect(await control("/_sim/faults", #"{"path":"*","effect":{"status":99999}}"#) == 400)
        #expect(await control("/_sim/faults", #"{"path":"*","effect":{"status":0}}"#) == 400)
        #expect(await control("/_sim/faults", #"{"path":"*","effect":{"delayMilliseconds":999999999}}"#) == 400)
        #expect(await control("/_sim/faults", #"{"path":"*","nth":-3,"effect":{"status":500}}"#) == 400)
        #expect(await control("/_sim/faults", "{not json") == 400)
        #expect(core.faults.rules.isEmpty)
        for seconds in ["1e300", "-5", "1e9"] {
            #expect(await control("/_sim/clock/advance", #"{"seconds":\#(seconds)}"#) == 400, "\(seconds)")
        }
        #expect(await control("/_sim/clock/advance", #"{"seconds":60}"#) == 200)
        #expect(await control("/_sim/seed", "[1,2") == 400)
    }

    /// Nesting and chains a request could use to exhaust the stack are refused with 400.
    @Test func deeplyNestedOrEndlessFiltersAre400() async {
        let deep = String(repeating: "(", count: 5000) + "Supplier eq 'X'" + String(repeating: ")", count: 5000)
        let nots = String(repeating: "not ", count: 5000) + "Supplier eq 'X'"
        let chain = Array(repeating: "Supplier eq 'X'", count: 20_000).joined(separator: " or ")
        for filter in [deep, nots, chain] {
            let reply = await odata("ApSupplier", "$filter=" + filter.percentEncoded())
            #expect(reply.status == 400)
            #expect(String(decoding: reply.body, as: UTF8.self).contains("limit"))
        }
        #expect(await odata("ApSupplier", "$filter=" + "((Supplier eq 'X') or not (Supplier eq 'Y'))".percentEncoded()).status == 200)
    }

    /// The journal (and `/_sim/journal`) never keeps a password or a session id.
    @Test func theJournalRedactsSecretsInQueries() async {
        _ = await core.respond(SimRequest(
            method: "GET", path: "/SYSPROWCFService/Rest/Logon",
            rawQuery: "Operator=ADMIN&OperatorPassword=s3cret-op&CompanyId=EDU1&CompanyPassword=s3cret-co"))
        _ = await core.respond(SimRequest(method: "GET", path: "/SYSPROWCFService/Rest/Query/Query", rawQuery: "UserId=ABCDEF0123456789&XmlIn=x"))
        let queries = core.journal.all.map(\.query).joined(separator: " ")
        #expect(!queries.contains("s3cret"))
        #expect(!queries.contains("ABCDEF0123456789"))
        #expect(queries.contains("Operator=ADMIN"))
        #expect(queries.contains("OperatorPassword=[redacted]"))
    }

    @Test func faultRulesFireOnTheNthMatchingCall() async {
        core.faults.add(FaultRule(method: "GET", path: "*/PorMasterHdr", nth: 2, effect: FaultEffect(status: 503, headers: ["Retry-After": "7"])))
        #expect(await odata("PorMasterHdr").status == 200)
        let second = await odata("PorMasterHdr")
        #expect(second.status == 503)
        #expect(second.header("Retry-After") == "7")
        #expect(await odata("PorMasterHdr").status == 200)
        #expect(core.journal.matching(path: "PorMasterHdr").map(\.faulted) == [false, true, false])
    }
}

/// The sample data set for `ml-connector simulate --data` loads into both simulators.
@Suite(.timeLimit(.minutes(2))) struct SampleDataSetTests {
    @Test func fixtureSeedsBothSimulators() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/simulate/small-dataset.json").path
        let data = try JSONDecoder().decode(JSONValue.self, from: try #require(FileManager.default.contents(atPath: path)))
        let clock = ManualClock()
        let (syspro, sysproBackend) = SysproSimulator.makeCore(clock: clock)
        try await syspro.system.seed(try #require(data["syspro"]))
        #expect(await sysproBackend.rows("PorMasterHdr").count == 2)
        #expect(await sysproBackend.settings.idleTimeoutSeconds == 1200)
        let (procore, procoreBackend) = ProcoreSimulator.makeCore(clock: clock)
        try await procore.system.seed(try #require(data["procore"]))
        #expect(await procoreBackend.projectID(number: "2301") == 101)
        // partial settings lay over the defaults
        try await procore.system.seed(["settings": ["hourlyLimit": 5]])
        #expect(await procoreBackend.settings.hourlyLimit == 5)
        #expect(await procoreBackend.settings.tokenLifetimeSeconds == 5400)
    }
}

/// Simulator dates read and write the same forms as before, from many threads at once.
@Suite(.timeLimit(.minutes(1))) struct SimDatesTests {
    @Test func formsAndConcurrency() async {
        let instant = Date(timeIntervalSince1970: 1_772_460_309.246_562)  // 2026-03-02T14:05:09.246562Z
        #expect(SimDates.seconds(instant) == "2026-03-02T14:05:09Z")
        #expect(SimDates.microseconds(instant) == "2026-03-02T14:05:09.246562Z")
        #expect(SimDates.stamp(instant) == "2026-03-02T14:05:09.246Z")
        #expect(SimDates.parse("2026-03-02") == Date(timeIntervalSince1970: 1_772_409_600))
        #expect(SimDates.parse("2026-03-02T14:05:09Z") == Date(timeIntervalSince1970: 1_772_460_309))
        #expect(SimDates.parse("2026-03-02T16:05:09+02:00") == Date(timeIntervalSince1970: 1_772_460_309))
        #expect(SimDates.parse("2026-03-02T14:05:09.5Z") == Date(timeIntervalSince1970: 1_772_460_309.5))
        #expect(SimDates.parse("2026-03-02T14:05:09") == Date(timeIntervalSince1970: 1_772_460_309))
        #expect(SimDates.parse("March 2nd") == nil)
        await withTaskGroup(of: Bool.self) { group in
            for offset in 0..<64 {
                group.addTask {
                    (0..<200).allSatisfy { step in
                        let date = Date(timeIntervalSince1970: 1_700_000_000 + Double(offset * 100_000 + step))
                        return SimDates.parse(SimDates.seconds(date)) == date
                    }
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
