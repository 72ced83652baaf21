import ClientKit
import Foundation
import Logging
import SyncEngine

/// Where and how to reach one SYSPRO site. Secrets are resolved values, never logged.
public struct SysproConnection: Sendable {
    /// e.net REST base, e.g. `http://erp.example:20003/SYSPROWCFService/Rest`.
    public var enetBase: String
    /// OData root up to and including the company segment, e.g.
    /// `https://erp.example/SYSPRO8Odata/SYSPROOData/EDU1`.
    public var odataRoot: String
    public var operatorCode: String
    public var operatorPassword: String
    public var companyID: String
    public var companyPassword: String
    /// OData Basic user name (the operator code unless the site says otherwise).
    public var odataUser: String
    /// The separate OData password generated in Operator Maintenance.
    public var odataPassword: String

    public init(
        enetBase: String, odataRoot: String, operatorCode: String, operatorPassword: String, companyID: String,
        companyPassword: String = "", odataUser: String? = nil, odataPassword: String
    ) {
        self.enetBase = enetBase.hasSuffix("/") ? String(enetBase.dropLast()) : enetBase
        self.odataRoot = odataRoot.hasSuffix("/") ? String(odataRoot.dropLast()) : odataRoot
        self.operatorCode = operatorCode
        self.operatorPassword = operatorPassword
        self.companyID = companyID
        self.companyPassword = companyPassword
        self.odataUser = odataUser ?? operatorCode
        self.odataPassword = odataPassword
    }
}

/// One page of OData rows. Rows stay untyped: the flow validates each one and quarantines what
/// does not fit, so one bad row never sinks the page.
public struct ODataPage: Sendable {
    public var rows: [JSONValue]
    public var nextLink: String?
}

/// Typed calls to SYSPRO: OData reads (HTTP Basic) and e.net session calls.
///
/// e.net facts the client relies on: every answer is HTTP 200 and failures are in-band text
/// starting `ERROR: `; a dead session answers `ERROR: The supplied UserID is invalid…`, upon which
/// the client logs on again and retries the call once; `Logoff` frees the licence seat.
public actor SysproClient {
    public nonisolated let connection: SysproConnection
    private let transport: HTTPTransport
    private var sessionID: String?
    public private(set) var logons = 0

    public init(connection: SysproConnection, transport: HTTPTransport) {
        self.connection = connection
        self.transport = transport
    }

    static let deadSessionPrefix = "ERROR: The supplied UserID is invalid"

    // MARK: e.net session

    /// Logs on and keeps the session id.
    /// - Throws: `.authFailed` with SYSPRO's own reason when the credentials are refused.
    public func logon() async throws {
        let query = [
            ("Operator", connection.operatorCode), ("OperatorPassword", connection.operatorPassword),
            ("CompanyId", connection.companyID), ("CompanyPassword", connection.companyPassword),
        ]
        let reply = try await transport.send("GET", enetURL("Logon", query))
        let text = reply.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard reply.status == 200 else {
            throw SyncError(.unexpectedResponse, "SYSPRO logon answered HTTP \(reply.status); check the e.net REST base URL")
        }
        if text.hasPrefix("ERROR") && text.localizedCaseInsensitiveContains("licence") {
            // every e.net seat is taken: nothing is wrong with the credentials, a later cycle gets a seat
            throw SyncError(.transient, "SYSPRO has no free licence seat for operator \(connection.operatorCode) in company \(connection.companyID): \(text). The next cycle tries again; if it keeps happening, ask the SYSPRO administrator to end idle e.net sessions or add seats.")
        }
        if text.hasPrefix("ERROR") {
            // e.net names a wrong company in its text ("ERROR: Invalid company"); anything else is the operator.
            let code: SyncError.Code = text.localizedCaseInsensitiveContains("Invalid company") ? .wrongTenant : .authFailed
            throw SyncError(code, "SYSPRO refused the logon for operator \(connection.operatorCode) in company \(connection.companyID): \(text). Check the operator, its password and the company in the connection settings.")
        }
        guard text.count >= 8, text.allSatisfy({ $0.isHexDigit }) else {
            throw SyncError(.unexpectedResponse, "SYSPRO logon answered something that is not a session id (\(text.count) characters)")
        }
        sessionID = text
        logons += 1
    }

    /// Logs off (frees the e.net licence seat). Errors are ignored: the session dies anyway.
    public func logoff() async {
        guard let id = sessionID else { return }
        sessionID = nil
        _ = try? await transport.send("GET", enetURL("Logoff", [("UserId", id)]))
    }

    /// Runs an e.net call with the current session; on a dead session logs on again and retries once.
    private func sessionCall(_ operation: String, _ query: [(String, String)], idempotent: Bool = true) async throws -> String {
        try await sessionCall(operation) { session in
            try await self.transport.send("GET", self.enetURL(operation, [("UserId", session)] + query), idempotent: idempotent)
        }
    }

    /// One e.net call on the session, however it is sent: logs on first if needed; on the
    /// dead-session text logs on again and sends once more (SYSPRO did nothing with it); an
    /// in-band `ERROR:` text is a `.rejected` error in SYSPRO's words.
    private func sessionCall(_ operation: String, send: (String) async throws -> HTTPReply) async throws -> String {
        if sessionID == nil { try await logon() }
        for attempt in 1...2 {
            let reply = try await send(sessionID ?? "")
            guard reply.status == 200 else {
                throw SyncError(.unexpectedResponse, "SYSPRO \(operation) answered HTTP \(reply.status)")
            }
            let text = reply.text
            if text.hasPrefix(Self.deadSessionPrefix) {
                sessionID = nil
                if attempt == 1 {
                    try await logon()
                    continue
                }
                throw SyncError(.authFailed, "SYSPRO session died again right after a fresh logon on \(operation)")
            }
            if text.hasPrefix("ERROR") {
                throw SyncError(.rejected, "SYSPRO \(operation): \(text.prefix(300))")
            }
            return text
        }
        throw SyncError(.authFailed, "SYSPRO session could not be renewed")
    }

    /// Longest query string sent as GET; a longer document goes by `Transaction/PostLD` (the web
    /// host refuses URLs past ≈16 KB, syspro.md §2).
    public static let maxQueryBytes = 12_000

    /// What a write answered: SYSPRO's document, and every field error it reported in band
    /// (`<Element><Value>…</Value><ErrorNumber>…</ErrorNumber><ErrorDescription>…</ErrorDescription></Element>`).
    public struct PostResult: Sendable {
        public var document: XMLElementNode
        public var errors: [String]
    }

    /// `Transaction/Post` (PORTOI, APSTIN…) or `Setup/Add|Update` (APSSSP…): the two documents
    /// as SYSPRO takes them, by `Transaction/PostLD` when the query string would be too long. A
    /// dead session is renewed and the call sent once more (SYSPRO did nothing with it).
    /// - Throws: `.rejected` for an in-band `ERROR:` text (SYSPRO's own words), `.unexpectedResponse`
    ///   for an answer that is not XML.
    public func post(_ operation: String, object: String, parameters: String, xmlIn: String) async throws -> PostResult {
        let query = [("BusinessObject", object), ("XmlParameters", parameters), ("XmlIn", xmlIn)]
        let length = query.reduce(0) { $0 + Self.encode($1.1).utf8.count }
        let text: String
        if operation == "Transaction/Post" && length > Self.maxQueryBytes {
            text = try await postLD(object: object, parameters: parameters, xmlIn: xmlIn)
        } else {
            text = try await sessionCall(operation, query, idempotent: false)  // a write: never sent twice blind
        }
        let document: XMLElementNode
        do {
            document = try SafeXML.parse(text)
        } catch {
            throw SyncError(.unexpectedResponse, "SYSPRO \(object) answered XML we cannot read: \(error)")
        }
        return PostResult(document: document, errors: Self.fieldErrors(document))
    }

    /// Every in-band field error of an answer, as "Element 'value': description (number)".
    public static func fieldErrors(_ node: XMLElementNode) -> [String] {
        var found: [String] = []
        if let description = node.value("ErrorDescription") {
            let value = node.value("Value").map { " '\($0)'" } ?? ""
            found.append("\(node.name)\(value): \(description.trimmingCharacters(in: .whitespaces)) (\(node.value("ErrorNumber") ?? "?"))")
        }
        for child in node.children where child.name != "ErrorDescription" { found += fieldErrors(child) }
        return found
    }

    /// The large-document form: a POST whose XML body carries the arguments in CDATA sections.
    private func postLD(object: String, parameters: String, xmlIn: String) async throws -> String {
        func cdata(_ text: String) -> String { "<![CDATA[" + text.replacingOccurrences(of: "]]>", with: "]]]]><![CDATA[>") + "]]>" }
        return try await sessionCall("Transaction/PostLD") { session in
            let body = "<TransactionPostLD xmlns=\"http://SYSPROWcfService\"><UserId>\(session)</UserId><BusinessObject>\(SafeXML.escape(object))</BusinessObject>"
                + "<XmlParameters>\(cdata(parameters))</XmlParameters><XmlIn>\(cdata(xmlIn))</XmlIn></TransactionPostLD>"
            return try await self.transport.send(
                "POST", "\(self.connection.enetBase)/Transaction/PostLD", headers: [("Content-Type", "application/xml")], body: Data(body.utf8), idempotent: false)
        }
    }

    /// The operator's logon profile (company name, company date): a cheap "is my session alive".
    public func logonProfile() async throws -> XMLElementNode {
        try SafeXML.parse(try await sessionCall("GetLogonProfile", []))
    }

    /// COMFND generic table query: rows of the requested columns where every `(column, value)`
    /// pair is equal.
    public func find(table: String, columns: [String], whereEqual conditions: [(String, String)], maxRows: Int = 100) async throws -> [[String: String]] {
        var xml = "<Query><TableName>\(SafeXML.escape(table))</TableName><ReturnRows>\(maxRows)</ReturnRows><Columns>"
        for column in columns { xml += "<Column>\(SafeXML.escape(column))</Column>" }
        xml += "</Columns><Where>"
        for (index, (column, value)) in conditions.enumerated() {
            xml += "<Expression>" + (index > 0 ? "<AndOr>And</AndOr>" : "")
            xml += "<OpenBracket>(</OpenBracket><Column>\(SafeXML.escape(column))</Column><Condition>EQ</Condition>"
            xml += "<Value>\(SafeXML.escape(value))</Value><CloseBracket>)</CloseBracket></Expression>"
        }
        xml += "</Where></Query>"
        let text = try await sessionCall("Query/Query", [("BusinessObject", "COMFND"), ("XmlIn", xml)])
        return try Self.comfndRows(text, table: table)
    }

    /// The rows of a COMFND answer (`<…><Row><Column>value</Column>…</Row>…`), values trimmed.
    /// - Throws: `.unexpectedResponse` for text that is not XML we can read (size limit, DTDs and
    ///   entities refused by ``SafeXML``).
    public static func comfndRows(_ text: String, table: String) throws -> [[String: String]] {
        let document: XMLElementNode
        do {
            document = try SafeXML.parse(text)
        } catch {
            throw SyncError(.unexpectedResponse, "SYSPRO COMFND on \(table) answered XML we cannot read: \(error)")
        }
        return document.children("Row").map { row in
            Dictionary(row.children.map { ($0.name, $0.text.trimmingCharacters(in: .whitespaces)) }, uniquingKeysWith: { a, _ in a })
        }
    }

    private func enetURL(_ operation: String, _ query: [(String, String)]) -> String {
        "\(connection.enetBase)/\(operation)?" + query.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
    }

    // MARK: OData

    /// Reads one page of an entity set.
    /// - Throws: `.authFailed` on 401, `.unexpectedResponse` when the body is not an OData JSON
    ///   envelope (the page is retried next cycle; the watermark does not move).
    public func odata(
        _ entitySet: String, filter: String? = nil, orderBy: String? = nil, select: [String]? = nil, top: Int? = nil,
        skip: Int? = nil
    ) async throws -> ODataPage {
        var query: [(String, String)] = []
        if let filter { query.append(("$filter", filter)) }
        if let orderBy { query.append(("$orderby", orderBy)) }
        if let select { query.append(("$select", select.joined(separator: ","))) }
        if let top { query.append(("$top", String(top))) }
        if let skip, skip > 0 { query.append(("$skip", String(skip))) }
        let url = "\(connection.odataRoot)/\(entitySet)?" + query.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await odataGet(url, entitySet: entitySet)
    }

    /// Follows an `@odata.nextLink` verbatim.
    public func odataNext(_ link: String, entitySet: String) async throws -> ODataPage {
        try await odataGet(link, entitySet: entitySet)
    }

    private func odataGet(_ url: String, entitySet: String) async throws -> ODataPage {
        let credential = Data("\(connection.odataUser):\(connection.odataPassword)".utf8).base64EncodedString()
        let reply = try await transport.send(
            "GET", url, headers: [("Authorization", "Basic \(credential)"), ("Accept", "application/json")])
        switch reply.status {
        case 200: break
        case 401:
            throw SyncError(.authFailed, "SYSPRO OData refused operator \(connection.odataUser) (HTTP 401). Check the OData password generated in Operator Maintenance and that the operator is enabled for OData.")
        case 404:
            throw SyncError(.wrongTenant, "SYSPRO OData has no entity set \(entitySet) at \(connection.odataRoot) (HTTP 404). Check the OData root URL and company.")
        default:
            throw SyncError(.unexpectedResponse, "SYSPRO OData \(entitySet) answered HTTP \(reply.status): \(reply.excerpt)")
        }
        // Row by row: one row with bytes that are not UTF-8 comes back as an unreadable row (its
        // digest, see `UnreadableRow`) instead of failing the page, and so every later cycle.
        guard let (envelope, found) = try? JSONValue.parseRows(reply.body, key: "value"), let rows = found else {
            throw SyncError(.unexpectedResponse, "SYSPRO OData \(entitySet) answered a body that is not an OData JSON envelope with a 'value' array (\(reply.body.count) bytes): \(reply.excerpt)")
        }
        let values = rows.map { row in
            switch row {
            case .success(let value): value
            case .failure(let unreadable): unreadable.payload
            }
        }
        var nextLink = envelope["@odata.nextLink"]?.stringValue
        if let link = nextLink {
            var links = NextLinks(base: connection.odataRoot, system: "SYSPRO OData")
            nextLink = try links.check(link)
        }
        return ODataPage(rows: values, nextLink: nextLink)
    }

    static func encode(_ text: String) -> String { text.percentEncoded(keeping: "-._~$") }
}
