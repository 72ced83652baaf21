import Foundation
import SimulatorKit
import SyncEngine

/// The SYSPRO simulator: e.net REST (session-based, `GET` with everything in the query string,
/// in-band `ERROR: ` texts, case-insensitive paths) and the OData service (HTTP Basic, read-only,
/// table-named entity sets, 5000-row cap). See `../shared/apis/syspro.md` and `COVERAGE.md`.
public struct SysproSimulator: BackedSimulator {
    public let name = "syspro"
    public let backend: SysproBackend
    /// The OData root path up to (not including) the company segment.
    public static let odataRoot = "/SYSPRO8Odata/SYSPROOData"
    public static let enetRoot = "/SYSPROWCFService/Rest"
    public static let invalidSession =
        "ERROR: The supplied UserID is invalid. Either you were not logged in; or your session has expired. You will need to logon again."

    /// - Parameter seed: seeds the session ids e.net hands out.
    public init(clock: any SyncClock, seed: UInt64) {
        self.backend = SysproBackend(clock: clock, seed: seed)
    }

    public init(clock: any SyncClock) { self.init(clock: clock, seed: 7) }

    public func apply(_ action: FaultAction) async {
        if action == .killSessions { await backend.killSessions() }
    }

    public func reset() async { await backend.reset() }

    public func seed(_ data: JSONValue) async throws { try await backend.seed(data) }

    public func handle(_ request: SimRequest) async -> SimResponse {
        let lower = request.path.lowercased()
        if lower.hasPrefix(Self.enetRoot.lowercased() + "/") {
            return await EnetRoutes(backend: backend).handle(request, operation: String(request.path.dropFirst(Self.enetRoot.count + 1)))
        }
        if request.path.hasPrefix(Self.odataRoot + "/") {
            return await ODataRoutes(backend: backend).handle(request, rest: String(request.path.dropFirst(Self.odataRoot.count + 1)))
        }
        return SimResponse(
            status: 404, headers: [("Content-Type", "text/html"), ("Server", "Microsoft-HTTPAPI/2.0")],
            body: Data("<HTML><BODY><h2>Not Found</h2></BODY></HTML>".utf8))
    }
}

/// e.net REST: every answer is HTTP 200 `application/octet-stream` with the business object's text.
struct EnetRoutes {
    let backend: SysproBackend

    static func reply(_ text: String) -> SimResponse {
        SimResponse(
            status: 200, headers: [("Content-Type", "application/octet-stream"), ("Server", "Microsoft-HTTPAPI/2.0")],
            body: Data(text.utf8))
    }

    func handle(_ request: SimRequest, operation: String) async -> SimResponse {
        guard request.method == "GET" || (request.method == "POST" && operation.lowercased() == "transaction/postld") else {
            return SimResponse(status: 405, headers: [("Server", "Microsoft-HTTPAPI/2.0")])
        }
        let limit = await backend.settings.maxQueryBytes
        guard request.rawQuery.utf8.count <= limit else {
            // what HTTP.sys answers for an over-long URL: the document belongs in Transaction/PostLD
            return SimResponse(status: 414, headers: [("Content-Type", "text/html; charset=us-ascii"), ("Server", "Microsoft-HTTPAPI/2.0")],
                               body: Data("<HTML><BODY><h2>Request URL Too Long</h2><hr><p>HTTP Error 414. The request URL is too long.</p></BODY></HTML>".utf8))
        }
        let arg = { (name: String) in request.queryValueIgnoringCase(name) }
        switch operation.lowercased() {
        case "getversion":
            return Self.reply("8.0.0.105")
        case "logon":
            let result = await backend.logon(
                operatorCode: arg("Operator") ?? "", password: arg("OperatorPassword") ?? "",
                companyID: arg("CompanyId") ?? "", companyPassword: arg("CompanyPassword") ?? "")
            switch result {
            case .session(let id): return Self.reply(id + "  ")
            case .error(let text): return Self.reply(text)
            }
        case "logoff":
            return Self.reply(await backend.logoff(arg("UserId") ?? "") ? "0" : SysproSimulator.invalidSession)
        case "getlogonprofile":
            guard let op = await backend.useSession(arg("UserId") ?? "") else { return Self.reply(SysproSimulator.invalidSession) }
            return Self.reply(await logonProfile(operatorCode: op))
        case "query/query":
            guard let op = await backend.useSession(arg("UserId") ?? "") else { return Self.reply(SysproSimulator.invalidSession) }
            let object = (arg("BusinessObject") ?? "").uppercased()
            switch object {
            case "COMFND": return Self.reply(await comfnd(xmlIn: arg("XmlIn") ?? "", operatorCode: op))
            case "PORQ60": return Self.reply(await porq60(xmlIn: arg("XmlIn") ?? "", operatorCode: op))
            default: return Self.reply("ERROR: e.net exception raised: 100000 Business object '\(object)' is not licensed or does not exist")
            }
        case "transaction/post", "setup/add", "setup/update":
            guard let op = await backend.useSession(arg("UserId") ?? "") else { return Self.reply(SysproSimulator.invalidSession) }
            return Self.reply(await post(operation.lowercased(), object: arg("BusinessObject") ?? "", parameters: arg("XmlParameters") ?? "",
                                         xmlIn: arg("XmlIn") ?? "", operatorCode: op))
        case "transaction/postld":
            // the large-document form: a POST whose XML body carries the four arguments (CDATA)
            guard request.method == "POST", let wrapper = try? SafeXML.parse(String(decoding: request.body, as: UTF8.self)) else {
                return Self.reply("ERROR: XML document could not be parsed: the body must be a TransactionPostLD document")
            }
            guard let op = await backend.useSession(wrapper.value("UserId") ?? "") else { return Self.reply(SysproSimulator.invalidSession) }
            return Self.reply(await post("transaction/post", object: wrapper.value("BusinessObject") ?? "", parameters: wrapper.value("XmlParameters") ?? "",
                                         xmlIn: wrapper.value("XmlIn") ?? "", operatorCode: op))
        case "query/browse", "query/fetch", "transaction/build", "setup/delete":
            guard await backend.useSession(arg("UserId") ?? "") != nil else { return Self.reply(SysproSimulator.invalidSession) }
            let object = (arg("BusinessObject") ?? "").uppercased()
            return Self.reply("ERROR: e.net exception raised: 100000 Business object '\(object)' is not simulated yet (see COVERAGE.md)")
        default:
            return SimResponse(status: 404, headers: [("Server", "Microsoft-HTTPAPI/2.0")], body: Data("Endpoint not found.".utf8))
        }
    }

    static func envelope(root: String, role: String, body: String) -> String {
        """
        <?xml version="1.0" encoding="Windows-1252"?>
        <\(root) Language='05' Language2='EN' CssStyle='' DecFormat='1' DateFormat='01' Role='01' Version='8.0.105' OperatorPrimaryRole='\(role)'>
        \(body)
        </\(root)>
         
        """.replacingOccurrences(of: "\n \n", with: "\n ")
    }

    func logonProfile(operatorCode: String) async -> String {
        let op = await backend.operatorInfo(operatorCode)
        let role = op?.primaryRole ?? "   "
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        let today = formatter.string(from: backend.now)
        let body = """
            <CompanyName>\(SafeXML.escape(await backend.companyName))</CompanyName>
            <CompanyId>\(SafeXML.escape(await backend.company))</CompanyId>
            <OperatorCode>\(SafeXML.escape(operatorCode))</OperatorCode>
            <CompanyDate>\(today)</CompanyDate>
            <LocalCurrencyCode>$</LocalCurrencyCode>
            <SysproVersion>8.0.105</SysproVersion>
            <EnetVersion>8.0.105</EnetVersion>
            """
        return Self.envelope(root: "LogonProfile", role: role, body: body)
    }

    /// COMFND, the generic table query: `TableName`, `ReturnRows`, `Columns/Column`,
    /// `Where/Expression` (`AndOr`, `OpenBracket`, `Column`, `Condition`, `Value`, `CloseBracket`).
    func comfnd(xmlIn: String, operatorCode: String) async -> String {
        let document: XMLElementNode
        do {
            document = try SafeXML.parse(xmlIn)
        } catch {
            return "ERROR: XML document could not be parsed: \(error)"
        }
        guard let table = document.value("TableName"), !table.isEmpty else {
            return "ERROR: e.net exception raised: 100030 XML element '{Query}{TableName}' cannot be spaces"
        }
        guard let columns = await backend.columns(of: table) else {
            return "ERROR: Table '\(table)' not found"
        }
        var filter = ""
        for expression in document.child("Where")?.children("Expression") ?? [] {
            let column = expression.value("Column") ?? ""
            guard columns.contains(column) else { return "ERROR: Column '\(column)' not found in table '\(table)'" }
            let ops = ["EQ": "eq", "NE": "ne", "GT": "gt", "LT": "lt", "GE": "ge", "LE": "le", "LIKE": "like"]
            guard let op = ops[(expression.value("Condition") ?? "EQ").uppercased()] else {
                return "ERROR: Condition '\(expression.value("Condition") ?? "")' is not supported by the simulator"
            }
            let value = expression.value("Value") ?? ""
            if op == "like" {  // SQL LIKE on the column as text: `%` any run, `_` one character
                if !filter.isEmpty { filter += (expression.value("AndOr") ?? "And").lowercased() == "or" ? " or " : " and " }
                let pattern = "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
                filter += (expression.value("OpenBracket") ?? "") + "like(\(column),\(pattern))" + (expression.value("CloseBracket") ?? "")
                continue
            }
            let literal: String
            let sample = await backend.rows(table).first?[column]
            if case .number = sample, Double(value) != nil {
                literal = value
            } else if column.hasSuffix("Date"), ODataQuery.parseDate(value) != nil {
                literal = value
            } else {
                literal = "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
            }
            if !filter.isEmpty { filter += (expression.value("AndOr") ?? "And").lowercased() == "or" ? " or " : " and " }
            filter += (expression.value("OpenBracket") ?? "") + "\(column) \(op) \(literal)" + (expression.value("CloseBracket") ?? "")
        }
        let returnRows = Int(document.value("ReturnRows") ?? "") ?? 5000
        let requested = document.child("Columns")?.children("Column").compactMap { $0.text.isEmpty ? nil : $0.text } ?? []
        let allColumns = (document.value("AllColumns") ?? "N").uppercased() == "Y" || requested.isEmpty
        // `<OrderBy><Column>A</Column><Column>B</Column></OrderBy>`, each column optionally
        // followed by `<Direction>Desc</Direction>` (inferred shape; syspro.md notes only that an
        // OrderBy request adds an OrderBy block to HeaderDetails).
        var order: [String] = []
        for element in document.child("OrderBy")?.children ?? [] {
            if element.name == "Column", !element.text.isEmpty {
                guard columns.contains(element.text) else { return "ERROR: Column '\(element.text)' not found in table '\(table)'" }
                order.append(element.text)
            } else if element.name == "Direction", element.text.lowercased().hasPrefix("desc"), let last = order.popLast() {
                order.append(last + " desc")
            }
        }
        var parameters: [String: String] = ["$filter": filter, "$top": String(returnRows)]
        if !order.isEmpty { parameters["$orderby"] = order.joined(separator: ",") }
        let query: ODataQuery
        do {
            query = try ODataQuery({ parameters[$0] }, columns: columns, sqlLike: true)
        } catch let error as ODataQuery.QueryError {
            return "ERROR: \(error.message)"
        } catch {
            return "ERROR: \(error)"
        }
        let result = await backend.query(table, query, cacheKey: "comfnd|\(filter)|\(order)")
        var body = "<HeaderDetails>\n<TableName>\(SafeXML.escape(table))</TableName>\n<Columns>\n"
        let shown = allColumns ? columns.sorted() : requested
        for column in shown { body += "<Column>\(SafeXML.escape(column))</Column>\n" }
        body += "</Columns>\n"
        if !order.isEmpty {
            body += "<OrderBy>\n" + order.map { "<Column>\(SafeXML.escape($0.split(separator: " ").first.map(String.init) ?? $0))</Column>\n" }.joined() + "</OrderBy>\n"
        }
        body += "</HeaderDetails>\n"
        for row in result.rows {
            body += "<Row>\n"
            for column in shown {
                body += "<\(column)>\(SafeXML.escape(Self.text(row[column])))</\(column)>\n"
            }
            body += "</Row>\n"
        }
        let count = String(result.rows.count)
        body += "<RowsReturned>" + String(repeating: " ", count: max(0, 8 - count.count)) + count + "</RowsReturned>"
        let role = await backend.operatorInfo(operatorCode)?.primaryRole ?? "   "
        return Self.envelope(root: table, role: role, body: body)
    }

    /// PORQ60, the purchase order query by order number, as clients call it:
    /// `<Query><Option><OrderStatus>A</OrderStatus>…</Option><Filter><PurchaseOrder FilterType="S"
    /// FilterValue="…"/></Filter></Query>` (`FilterType` `A` all, `S` one, `L` a comma-separated
    /// list; `OrderStatus` `A` all or one status code). The answer's root is
    /// `PurchaseOrdersByOrderNumber`, with `PurchaseOrders/PurchaseOrder/OrderHeader` (`Status`,
    /// `OrderType`, …) and `OrderDetails/Line` per PorMasterDetail row — the path a published
    /// client reads (`…/OrderHeader/Status`); the rest of the shape is inferred (syspro.md §5.2).
    func porq60(xmlIn: String, operatorCode: String) async -> String {
        let document: XMLElementNode
        do {
            document = try SafeXML.parse(xmlIn)
        } catch {
            return "ERROR: XML document could not be parsed: \(error)"
        }
        let filter = document.child("Filter")?.child("PurchaseOrder")
        let type = (filter?.attributes["FilterType"] ?? "A").uppercased()
        let value = filter?.attributes["FilterValue"] ?? ""
        let wanted: Set<String>?
        switch type {
        case "A": wanted = nil
        case "S": wanted = [value]
        case "L": wanted = Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        default: return "ERROR: e.net exception raised: 100030 FilterType '\(type)' for 'PurchaseOrder' is not valid"
        }
        let status = (document.child("Option")?.value("OrderStatus") ?? "A").uppercased()
        let headers = await backend.rows("PorMasterHdr").filter { row in
            guard let po = row["PurchaseOrder"]?.stringValue else { return false }
            if let wanted, !wanted.contains(po) { return false }
            return status == "A" || status.isEmpty || row["OrderStatus"]?.stringValue == status
        }.sorted { ($0["PurchaseOrder"]?.stringValue ?? "") < ($1["PurchaseOrder"]?.stringValue ?? "") }
        let details = await backend.rows("PorMasterDetail")
        func element(_ name: String, _ value: JSONValue?) -> String { "<\(name)>\(SafeXML.escape(Self.text(value)))</\(name)>\n" }
        var body = "<PurchaseOrders>\n"
        for header in headers {
            let po = header["PurchaseOrder"]?.stringValue ?? ""
            body += "<PurchaseOrder>\n<OrderHeader>\n"
            body += element("PurchaseOrder", header["PurchaseOrder"]) + element("Supplier", header["Supplier"])
            body += element("Status", header["OrderStatus"]) + element("OrderType", header["OrderType"])
            body += element("OrderEntryDate", header["OrderEntryDate"].map { .string(String(($0.stringValue ?? "").prefix(10))) })
            body += element("OrderDueDate", header["OrderDueDate"].map { .string(String(($0.stringValue ?? "").prefix(10))) })
            body += element("Currency", header["Currency"])
            body += "</OrderHeader>\n<OrderDetails>\n"
            for line in details where line["PurchaseOrder"]?.stringValue == po {
                body += "<Line>\n" + element("Line", line["Line"]) + element("StockCode", line["MStockCode"])
                body += element("StockDescription", line["MStockDes"]) + element("OrderQty", line["MOrderQty"])
                body += element("Price", line["MPrice"]) + element("GlCode", line["MGlCode"]) + element("Job", line["MJob"]) + "</Line>\n"
            }
            body += "</OrderDetails>\n</PurchaseOrder>\n"
        }
        body += "</PurchaseOrders>"
        let role = await backend.operatorInfo(operatorCode)?.primaryRole ?? "   "
        return Self.envelope(root: "PurchaseOrdersByOrderNumber", role: role, body: body)
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s): return s
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(format: "%.2f", n) : String(n)
        case .bool(let b): return b ? "Y" : "N"
        default: return ""
        }
    }
}

/// The OData service: `GET {root}/{company}/{EntitySet}` with HTTP Basic.
struct ODataRoutes {
    let backend: SysproBackend

    static func error(_ status: Int, _ message: String, extraHeaders: [(String, String)] = []) -> SimResponse {
        .json(status, ["error": ["code": "", "message": .string(message)]], headers: extraHeaders)
    }

    func handle(_ request: SimRequest, rest: String) async -> SimResponse {
        guard let (user, password) = Self.basicCredentials(request.header("authorization")),
            await backend.odataAuthorized(user: user, password: password)
        else {
            return SimResponse(
                status: 401, headers: [("WWW-Authenticate", "Basic realm=\"SYSPRO OData\""), ("Content-Type", "text/html")],
                body: Data("<h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>".utf8))
        }
        guard request.method == "GET" else {
            return Self.error(405, "The OData service is read-only; \(request.method) is not allowed.", extraHeaders: [("Allow", "GET")])
        }
        let parts = rest.split(separator: "/").map(String.init)
        guard parts.count == 2 else { return Self.error(404, "Resource not found for the segment '\(rest)'.") }
        let (companyID, table) = (parts[0], parts[1])
        guard companyID.uppercased() == (await backend.company).uppercased() else {
            return Self.error(404, "Company '\(companyID)' is not configured for OData.")
        }
        guard let columns = await backend.columns(of: table) else {
            return Self.error(404, "Resource not found for the segment '\(table)'.")
        }
        let query: ODataQuery
        do {
            query = try ODataQuery({ request.queryValue($0) }, columns: columns)
        } catch let error as ODataQuery.QueryError {
            return Self.error(400, error.message)
        } catch {
            return Self.error(400, "\(error)")
        }
        let cacheKey = ["$filter", "$orderby"].map { request.queryValue($0) ?? "" }.joined(separator: "|")
        let result = await backend.query(table, query, cacheKey: cacheKey)
        let base = "\(request.origin)\(SysproSimulator.odataRoot)/\(companyID)"
        var envelope: [String: JSONValue] = [
            "@odata.context": .string("\(base)/$metadata#\(table)"),
            "value": .array(result.rows.map { .object($0) }),
        ]
        if result.capped, await backend.settings.emitNextLinks {
            var items = request.query.filter { $0.name != "$skip" && $0.name != "$top" }
            items.append(("$skip", String(query.skip + result.rows.count)))
            if let top = query.top { items.append(("$top", String(top - result.rows.count))) }
            let encoded = items.map { "\(Self.encode($0.name))=\(Self.encode($0.value))" }.joined(separator: "&")
            envelope["@odata.nextLink"] = .string("\(base)/\(table)?\(encoded)")
        }
        return .json(200, .object(envelope), headers: [("OData-Version", "4.0")])
    }

    static func encode(_ text: String) -> String { text.percentEncoded(keeping: "-._~$") }

    static func basicCredentials(_ header: String?) -> (String, String)? {
        guard let header, header.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}

extension EnetRoutes {
    /// `Transaction/Post` (PORTOI, APSTIN) and `Setup/Add|Update` (APSSSP): the two documents
    /// parsed safely, the object run on the backend, the answer in its envelope (root and status
    /// block per object, syspro.md §§6–8); a document that is not XML, a wrong root or an object
    /// the route does not take is an in-band `ERROR:` text.
    func post(_ operation: String, object rawObject: String, parameters: String, xmlIn: String, operatorCode: String) async -> String {
        let object = rawObject.uppercased()
        let routes: [String: (operation: String, root: String, answer: String)] = [
            "PORTOI": ("transaction/post", "PostPurchaseOrders", "postpurchaseorders"),
            "APSTIN": ("transaction/post", "PostApInvoice", "postapinvoice"),
            "APSSSP": ("setup", "SetupApSupplier", "setupapsupplier"),
        ]
        guard let route = routes[object] else {
            return "ERROR: e.net exception raised: 100000 Business object '\(object)' is not licensed or does not exist"
        }
        guard operation.hasPrefix(route.operation) else {
            return "ERROR: e.net exception raised: 100000 Business object '\(object)' cannot be used with \(operation)"
        }
        let document: XMLElementNode
        var options: XMLElementNode?
        do {
            document = try SafeXML.parse(xmlIn)
            if !parameters.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { options = try SafeXML.parse(parameters) }
        } catch {
            return "ERROR: XML document could not be parsed: \(error)"
        }
        guard document.name == route.root else {
            return "ERROR: e.net exception raised: 100030 XML root element '\(document.name)' is invalid for \(object); expected '\(route.root)'"
        }
        let body: String
        switch object {
        case "PORTOI": body = await backend.postPurchaseOrders(parameters: options, document: document)
        case "APSTIN": body = await backend.postApInvoices(parameters: options, document: document)
        default: body = await backend.setupSuppliers(update: operation == "setup/update", parameters: options, document: document)
        }
        return Self.envelope(root: route.answer, role: await backend.operatorInfo(operatorCode)?.primaryRole ?? "   ", body: body)
    }
}
