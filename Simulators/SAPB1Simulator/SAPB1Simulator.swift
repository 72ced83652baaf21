import Foundation
import SimulatorKit
import SyncEngine

/// The Service Layer simulator: `/b1s/v1` (OData v3 annotations, numeric error codes) and
/// `/b1s/v2` (OData v4, string codes); Login sets `B1SESSION` exactly as SAP does (no Path,
/// trailing `;`); every other call needs the cookie; 401 + code 301 for a dead session;
/// server-driven paging with a relative nextLink; `/ping/` without a session.
public struct SAPB1Simulator: BackedSimulator {
    public let name = "sapb1"
    public let backend: SAPB1Backend
    public static let serviceRoot = "/b1s/v1"
    static let entitySets: [String: String] = SAPB1EntitySchema.all.mapValues(\.key)

    public init(clock: any SyncClock) { backend = SAPB1Backend(clock: clock) }


    public func handle(_ request: SimRequest) async -> SimResponse {
        var path = request.path
        while path.contains("//") { path = path.replacingOccurrences(of: "//", with: "/") }  // "//b1s/v1/…" is served too
        if path.hasPrefix("/ping") {
            return .json(200, ["message": "pong", "sender": path.hasPrefix("/ping/node") ? "node1" : "load balancer",
                               "timestamp": .string(String(format: "%.3f", backend.clock.now().timeIntervalSince1970))])
        }
        let v4: Bool
        let rest: String
        if path.hasPrefix("/b1s/v1/") || path == "/b1s/v1" {
            (v4, rest) = (false, String(path.dropFirst("/b1s/v1".count)))
        } else if path.hasPrefix("/b1s/v2/") || path == "/b1s/v2" {
            (v4, rest) = (true, String(path.dropFirst("/b1s/v2".count)))
        } else {
            return .text(404, "<html><body><h1>Not Found</h1></body></html>", contentType: "text/html")
        }
        let root = v4 ? "/b1s/v2" : "/b1s/v1"
        let method = request.header("x-http-method-override")?.uppercased() ?? request.method
        if rest == "/Login" && method == "POST" { return await login(request, root: root, v4: v4) }
        let settings = await backend.settings
        guard let company = await backend.touch(request.cookie("B1SESSION")) else {
            let shapeV4 = v4 || settings.v4ErrorsOnV1
            return Self.error(401, code: 301, "Invalid session or session already timeout.", v4: shapeV4)
        }
        switch (method, rest) {
        case ("POST", "/Logout"):
            if let id = request.cookie("B1SESSION") { await backend.logout(id) }
            return SimResponse(status: 204)
        case ("POST", "/CompanyService_GetAdminInfo"), ("GET", "/CompanyService_GetAdminInfo"):
            guard let info = await backend.company(company) else { return Self.error(404, code: -2028, "No matching records found (ODBC -2028)", v4: v4) }
            return Self.ok(200, [
                "CompanyName": .string(info.companyName), "LocalCurrency": .string(info.localCurrency ?? "USD"),
                "SystemCurrency": .string(info.localCurrency ?? "USD"), "TotalsAccuracy": .number(Double(info.totalsAccuracy ?? 2)),
                "PriceAccuracy": 2, "RateAccuracy": 4, "AccuracyofQuantities": 2, "PercentageAccuracy": 2,
            ], v4: v4)
        case ("GET", "/"), ("GET", ""):
            let sets: [JSONValue] = Self.entitySets.keys.sorted().map { ["name": .string($0), "kind": "EntitySet", "url": .string($0)] }
            return Self.ok(200, ["value": .array(sets)], v4: v4)
        default: break
        }
        if method == "POST" && rest == "/$batch" { return await batch(request, company: company, root: root, v4: v4) }
        if method == "POST", let schema = SAPB1EntitySchema.all[String(rest.dropFirst())], schema.creatable {
            return await create(String(rest.dropFirst()), company: company, request: request, root: root, v4: v4)
        }
        if ["PATCH", "PUT", "MERGE", "DELETE"].contains(method) {
            return await change(method, String(rest.dropFirst()), company: company, request: request, v4: v4)
        }
        guard method == "GET" else {
            return Self.error(400, code: -5006, "The requested action is not supported for this object.", v4: v4)
        }
        let name = String(rest.dropFirst())
        if name.hasSuffix("/$count") {
            // `GET /PurchaseInvoices/$count[?$filter=…]`: a bare integer, as text (sapb1.md).
            let set = String(name.dropLast("/$count".count))
            guard Self.entitySets[set] != nil else { return Self.error(404, code: -1, "Resource not found for the segment '\(set)'.", v4: v4) }
            let all = await backend.rows(company, set) ?? []
            let columns = Set(all.flatMap { ($0.objectValue ?? [:]).keys }).union(SAPB1EntitySchema.all[set]?.properties ?? []).union(await backend.settings.userFields)
            do {
                let query = try ODataQuery({ request.queryValue($0) }, columns: columns)
                let count = all.compactMap(\.objectValue).filter { row in query.filter.map { Self.evaluate($0, row) } ?? true }.count
                return .text(200, String(count))
            } catch {
                return Self.queryRefusal(error, set: set, v4: v4)
            }
        }
        if let (set, key) = Self.entityKey(name) {
            guard let keyField = Self.entitySets[set] else { return Self.error(404, code: -1, "Resource not found for the segment '\(set)'.", v4: v4) }
            let rows = await backend.rows(company, set) ?? []
            guard let row = rows.first(where: { $0[keyField]?.scalarText == key }) else {
                return Self.error(404, code: -2028, "No matching records found (ODBC -2028)", v4: v4)
            }
            var body = row.objectValue ?? [:]
            body[v4 ? "@odata.context" : "odata.metadata"] = .string("\(request.origin)\(root)/$metadata#\(set)\(v4 ? "/$entity" : "/@Element")")
            return Self.ok(200, .object(body), v4: v4)
        }
        guard Self.entitySets[name] != nil else {
            return Self.error(404, code: -1, "Resource not found for the segment '\(name)'.", v4: v4)
        }
        return await collection(name, rows: await backend.rows(company, name) ?? [], request: request, root: root, v4: v4, pageSize: settings.pageSize)
    }

    /// `POST Login`: the cookies exactly as the Service Layer sends them, so clients are tested
    /// against the form .NET's cookie container drops. A cookie sent to Login is ignored.
    func login(_ request: SimRequest, root: String, v4: Bool) async -> SimResponse {
        guard let body = request.jsonBody(), let db = body["CompanyDB"]?.stringValue,
            let user = body["UserName"]?.stringValue, let password = body["Password"]?.stringValue
        else {
            return Self.error(400, code: -1, "Invalid login request: CompanyDB, UserName and Password are required", v4: v4)
        }
        let settings = await backend.settings
        switch await backend.login(companyDB: db, userName: user, password: password) {
        case .refused:
            let text = settings.loginFailureCode == -304 ? "Fail to get DB Credentials from SLD" : "Login failed"
            return Self.error(401, code: settings.loginFailureCode, text, v4: v4)
        case .ok(let id):
            let context: JSONValue = .string("\(request.origin)\(root)/$metadata#B1Sessions\(v4 ? "/$entity" : "/@Element")")
            return Self.ok(200, [
                v4 ? "@odata.context" : "odata.metadata": context, "SessionId": .string(id), "Version": .string(settings.version),
                "SessionTimeout": .number(Double(settings.sessionTimeoutMinutes)),
            ], v4: v4, headers: [("Set-Cookie", "B1SESSION=\(id);HttpOnly;"), ("Set-Cookie", "ROUTEID=.node1; path=/b1s")])
        }
    }

    /// A collection read: `$filter` (`eq`/`ne` joined by `and`, enum names or values), `$select`,
    /// `$orderby` (one field), `$top`, `$skip`, the count options, and server paging (`Prefer:
    /// odata.maxpagesize`, `B1S-PageSize`) with a nextLink relative to the service root carrying
    /// every option plus `$skip`. With `$top` at or under the page size there is no nextLink.
    func collection(_ set: String, rows all: [JSONValue], request: SimRequest, root: String, v4: Bool, pageSize configured: Int) async -> SimResponse {
        let columns = Set(all.flatMap { ($0.objectValue ?? [:]).keys }).union(SAPB1EntitySchema.all[set]?.properties ?? []).union(await backend.settings.userFields)
        let query: ODataQuery
        do {
            query = try ODataQuery({ request.queryValue($0) }, columns: columns)
        } catch {
            return Self.queryRefusal(error, set: set, v4: v4)
        }
        var rows: [[String: JSONValue]] = all.compactMap(\.objectValue)
        if let filter = query.filter {
            // enum properties filter on the value as well as the name ('S' for cSupplier)
            rows = rows.filter { Self.evaluate(filter, $0) }
        }
        for (column, descending) in query.orderBy.reversed() {  // stable sorts, last key first
            rows = rows.enumerated().sorted { a, b in
                let order = ODataQuery.order(a.element[column] ?? .null, b.element[column] ?? .null)
                if order == .orderedSame { return a.offset < b.offset }
                return descending ? order == .orderedDescending : order == .orderedAscending
            }.map(\.element)
        }
        let skip = query.skip
        let top = query.top
        var pageSize = configured
        var applied: [(String, String)] = []
        if let prefer = request.header("prefer"), let range = prefer.range(of: "odata.maxpagesize=") {
            pageSize = Int(prefer[range.upperBound...].prefix { $0.isNumber }) ?? pageSize
            applied.append(("Preference-Applied", "odata.maxpagesize=\(pageSize)"))
        } else if let header = request.header("b1s-pagesize"), let size = Int(header) {
            pageSize = size
        }
        let total = rows.count
        let remaining = Array(rows.dropFirst(skip))
        var take = remaining.count
        if let top { take = min(take, top) }
        var nextLink: String?
        if pageSize > 0 && take > pageSize {
            take = pageSize
            // `$top` limits the whole result, not each page: the next page asks for what is left.
            var options = request.query.filter { $0.name != "$skip" && $0.name != "$top" }.map { "\($0.name)=\($0.value)" }
            if let top { options.append("$top=\(top - pageSize)") }
            options.append("$skip=\(skip + pageSize)")
            nextLink = "\(set)?" + options.joined(separator: "&")
        }
        var page: [JSONValue] = remaining.prefix(take).map { .object($0) }
        if let select = query.select.map(Set.init) {
            page = page.map { .object(($0.objectValue ?? [:]).filter { select.contains($0.key) }) }
        }
        var body: [String: JSONValue] = [
            (v4 ? "@odata.context" : "odata.metadata"): .string("\(request.origin)\(root)/$metadata#\(set)"), "value": .array(page),
        ]
        if let nextLink { body[v4 ? "@odata.nextLink" : "odata.nextLink"] = .string(nextLink) }
        if request.queryValue("$inlinecount") == "allpages" && !v4 { body["odata.count"] = .string(String(total)) }
        if request.queryValue("$count") == "true" && v4 { body["@odata.count"] = .number(Double(total)) }
        return Self.ok(200, .object(body), v4: v4, headers: applied)
    }

    /// A filter on a row, enum properties matching their value as well as their name (`'S'`
    /// filters `cSupplier`).
    static func evaluate(_ filter: ODataQuery.Filter, _ row: [String: JSONValue]) -> Bool {
        let resolved = ODataQuery.mapLiterals(filter) { column, literal in
            guard enumColumns.contains(column), case .string(let text) = literal, let name = enumAliases[text] else { return literal }
            return .string(name)
        }
        return ODataQuery.evaluate(resolved, row)
    }

    /// Enum values accepted for their names (`'S'` filters `cSupplier`), on the enum properties.
    static let enumAliases = ["S": "cSupplier", "C": "cCustomer", "L": "cLid", "Y": "tYES", "N": "tNO"]
    static let enumColumns: Set<String> = ["CardType", "Valid", "Frozen", "ActiveAccount", "Active", "Cancelled"]

    public func apply(_ action: FaultAction) async { await backend.killSessions() }
    public func reset() async { await backend.reset() }
    public func seed(_ data: JSONValue) async throws { try await backend.seed(data) }
}

extension SAPB1Simulator {
    /// `POST PurchaseInvoices` / `JournalEntries` / `BusinessPartners` / `Items` / `Projects`: 201
    /// with the entity (keys assigned) and a `Location`, or with `Prefer: return-no-content` a 204
    /// with `Location` and `Preference-Applied`; a refusal is a 400 in the root's error shape.
    func create(_ set: String, company: String, request: SimRequest, root: String, v4: Bool) async -> SimResponse {
        guard let body = request.jsonBody()?.objectValue else {
            return Self.error(400, code: -1, "The request body is not a JSON object", v4: v4)
        }
        switch await backend.add(set, company: company, body: body) {
        case .failure(let refusal):
            return Self.error(400, code: refusal.code, refusal.text, v4: v4)
        case .success(let entity):
            let schema = SAPB1EntitySchema.all[set]
            let key = entity[schema?.key ?? ""]?.scalarText ?? ""
            let literal = schema?.numericKey == true ? key : "'" + key.replacingOccurrences(of: "'", with: "''") + "'"
            let location = "\(request.origin)\(root)/\(set)(\(literal))"
            if request.header("prefer")?.contains("return-no-content") == true {
                return SimResponse(status: 204, headers: [("Location", location), ("Preference-Applied", "return-no-content")])
            }
            var fields = entity.objectValue ?? [:]
            fields[v4 ? "@odata.context" : "odata.metadata"] = .string("\(request.origin)\(root)/$metadata#\(set)\(v4 ? "/$entity" : "/@Element")")
            return Self.ok(201, .object(fields), v4: v4, headers: [("Location", location)])
        }
    }

    /// `Set(key)` in its three spellings — `(22)`, `('V100')`, `(CardCode='V100')` — with quotes
    /// doubled inside a string key; `nil` for a path that is not one entity.
    static func entityKey(_ name: String) -> (set: String, key: String)? {
        guard let open = name.firstIndex(of: "("), name.hasSuffix(")") else { return nil }
        let set = String(name[..<open])
        var key = String(name[name.index(after: open)..<name.index(before: name.endIndex)])
        if let keyField = entitySets[set], key.hasPrefix("\(keyField)=") { key = String(key.dropFirst(keyField.count + 1)) }
        if key.hasPrefix("'") && key.hasSuffix("'") && key.count >= 2 { key = String(key.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'") }
        return (set, key)
    }

    /// A query option SAP cannot apply: -1000, and for a property the type lacks SAP's own text
    /// (`Property 'NoSuch' of 'BusinessPartner' is invalid`), as on writes.
    static func queryRefusal(_ error: any Error, set: String, v4: Bool) -> SimResponse {
        guard let error = error as? ODataQuery.QueryError else { return Self.error(400, code: -1000, "\(error)", v4: v4) }
        if let property = error.property, let type = SAPB1EntitySchema.all[set]?.type {
            return Self.error(400, code: -1000, "Property '\(property)' of '\(type)' is invalid", v4: v4)
        }
        return Self.error(400, code: -1000, error.message, v4: v4)
    }

    /// `PATCH` (or `MERGE`) stores a partial change, `PUT` replaces, `DELETE` removes master
    /// data: 204 with an empty body; refusals in the root's error shape.
    func change(_ method: String, _ name: String, company: String, request: SimRequest, v4: Bool) async -> SimResponse {
        guard let (set, key) = Self.entityKey(name), Self.entitySets[set] != nil else {
            if Self.entitySets[name] != nil {
                return Self.error(400, code: -5006, "The requested action is not supported for this object.", v4: v4)
            }
            return Self.error(404, code: -1, "Resource not found for the segment '\(name)'.", v4: v4)
        }
        let refusal: SAPB1Backend.Refusal?
        if method == "DELETE" {
            refusal = await backend.delete(set, company: company, key: key)
        } else {
            guard let body = request.jsonBody()?.objectValue else {
                return Self.error(400, code: -1, "The request body is not a JSON object", v4: v4)
            }
            let replaceLines = request.header("b1s-replacecollectionsonpatch")?.lowercased() == "true"
            refusal = await backend.update(set, company: company, key: key, body: body, replace: method == "PUT", replaceCollections: replaceLines)
        }
        if let refusal { return Self.error(refusal.status, code: refusal.code, refusal.text, v4: v4) }
        return SimResponse(status: 204)
    }
}
