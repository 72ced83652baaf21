import Foundation
import SimulatorKit
import SyncEngine

/// The Procurify simulator: `POST /oauth/token` (JSON or form), the `/api/v2|v3/…` reads with
/// DRF-style errors, the `metadata.pagination` envelope with absolute `next`/`previous`, paths
/// with or without the trailing slash.
public struct ProcurifySimulator: BackedSimulator {
    public let name = "procurify"
    public let backend: ProcurifyBackend

    public init(clock: any SyncClock) { backend = ProcurifyBackend(clock: clock) }


    public func handle(_ request: SimRequest) async -> SimResponse {
        // Canonical paths end with "/"; generated SDKs drop it. Both are served.
        let path = request.path.count > 1 && request.path.hasSuffix("/") ? String(request.path.dropLast()) : request.path
        if path == "/oauth/token" { return await token(request) }
        guard path.hasPrefix("/api/") else { return .text(404, "<h1>Not Found</h1>", contentType: "text/html") }
        let now = backend.clock.now()
        guard let grant = backend.tokens.check(TokenIssuer.bearer(request.header("authorization")), now: now) else {
            let missing = request.header("authorization") == nil
            return Self.detail(401, missing ? "Authentication credentials were not provided." : "Invalid token.",
                               headers: [("WWW-Authenticate", "Bearer realm=\"api\"")])
        }
        let settings = await backend.settings
        if let wait = backend.limiter.admit(grant.subject, limit: settings.callsPerMinute, window: 60, now: now) {
            return Self.detail(429, "Request was throttled. Expected available in \(wait) seconds.", headers: [("Retry-After", String(wait))])
        }
        guard let app = await backend.application(id: grant.subject), app.permitted != false else {
            return Self.detail(403, "You do not have permission to perform this action.")
        }
        if let answer = await write(path: path, request: request) { return answer }
        guard request.method == "GET" else { return Self.detail(405, "Method \"\(request.method)\" not allowed.") }
        if path == "/api/v3/users/me" {
            let user: JSONValue = [
                "id": 1, "email": .string(app.email), "first_name": "API", "last_name": "Application", "is_active": true,
                "department": ["id": 1, "name": "Head Office", "branch": ["id": 1, "name": "HQ"]],
            ]
            return .json(200, ["metadata": [:], "data": user])
        }
        if let answer = await orders(path: path, request: request, settings: settings) { return answer }
        if let items = await backend.list(path) { return page(items, request: request, path: path, settings: settings) }
        // One record of a list: /api/v3/vendors/{id}
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        if let items = await backend.list(parent), let id = path.split(separator: "/").last {
            guard let found = items.first(where: { $0["id"].map(\.scalarText) == String(id) }) else { return Self.detail(404, "Not found.") }
            return .json(200, ["metadata": [:], "data": found])
        }
        return Self.detail(404, "Not found.")
    }

    /// DRF page-number paging: `page` (1-based) and `page_size`; simple equality filters on any
    /// field the rows carry (`name`, `external_id`, `code`, `active`, `base`); `next`/`previous`
    /// absolute, built from the host the client used, every other parameter kept.
    /// - Parameters:
    ///   - handled: query parameters the caller already applied (date windows), not to be read as
    ///     equality filters.
    ///   - metadata: keys beside `pagination` (`counts` on PO lists, `summary` on bills).
    func page(
        _ all: [JSONValue], request: SimRequest, path: String, settings: ProcurifyBackend.Settings, handled: Set<String> = [],
        metadata: [String: JSONValue] = [:]
    ) -> SimResponse {
        let paging = Set(["page", "page_size", "format", "order_by", "search"]).union(handled)
        var items = all
        for (name, value) in request.query where !paging.contains(name) {
            items = items.filter { row in row[name].map { $0.scalarText.lowercased() == value.lowercased() } ?? true }
        }
        if let search = request.queryValue("search")?.lowercased(), !search.isEmpty {
            items = items.filter { $0.canonicalJSON().lowercased().contains(search) }
        }
        let size = min(settings.maxPageSize, max(1, Int(request.queryValue("page_size") ?? "") ?? settings.defaultPageSize))
        guard let number = Int(request.queryValue("page") ?? "1"), number >= 1 else { return Self.detail(404, "Invalid page.") }
        let pages = max(1, (items.count + size - 1) / size)
        guard number <= pages else { return Self.detail(404, "Invalid page.") }
        let start = (number - 1) * size
        func link(_ target: Int) -> JSONValue {
            guard target >= 1 && target <= pages else { return .null }
            var query = request.query.filter { $0.name != "page" }.map { "\($0.name)=\($0.value.percentEncoded())" }
            query.append("page=\(target)")
            return .string("\(request.origin)\(path)/?\(query.joined(separator: "&"))")
        }
        let pagination: JSONValue = [
            "count": .number(Double(items.count)), "next": link(number + 1), "previous": link(number - 1),
            "page_size": .number(Double(size)), "num_pages": .number(Double(pages)), "current_page": .number(Double(number)),
        ]
        var meta = metadata
        meta["pagination"] = pagination
        return .json(200, ["metadata": .object(meta), "data": .array(Array(items[start..<min(items.count, start + size)]))])
    }

    /// `POST /oauth/token`: client credentials as JSON (documented) or a form (generated SDK);
    /// `audience` optional. Errors in the Auth0 style the `audience` parameter points to.
    func token(_ request: SimRequest) async -> SimResponse {
        guard request.method == "POST" else { return Self.detail(405, "Method \"\(request.method)\" not allowed.") }
        var fields: [String: String] = [:]
        if let form = request.formBody() {
            fields = form
        } else if let json = request.jsonBody()?.objectValue {
            for (key, value) in json { if let text = value.stringValue { fields[key] = text } }
        } else {
            return .json(400, ["error": "invalid_request", "error_description": "the body must be JSON or a form"])
        }
        guard let grantType = fields["grant_type"] else {
            return .json(400, ["error": "invalid_request", "error_description": "Missing required parameter: grant_type"])
        }
        guard grantType == "client_credentials" else {
            return .json(400, ["error": "unsupported_grant_type", "error_description": .string("Unsupported grant type: \(grantType)")])
        }
        guard let app = await backend.application(id: fields["client_id"], secret: fields["client_secret"]) else {
            return .json(401, ["error": "access_denied", "error_description": "Unauthorized"])
        }
        let settings = await backend.settings
        let issued = backend.tokens.issue(subject: app.clientId, lifetime: TimeInterval(settings.tokenLifetimeSeconds), now: backend.clock.now())
        return .json(200, [
            "access_token": .string(issued.token), "token_type": "Bearer", "expires_in": .number(Double(settings.tokenLifetimeSeconds)),
            "scope": .string("urn:procurify-api:domain:\(settings.domain) urn:procurify-api:email:\(app.email)"),
        ])
    }

    public func apply(_ action: FaultAction) async { backend.tokens.expireAll() }
    public func reset() async { await backend.reset() }
    public func seed(_ data: JSONValue) async throws { try await backend.seed(data) }
}

extension ProcurifySimulator {
    /// Vendor and department writes (procurify.md §§7–8); every other write is 405. Payments are
    /// read-only (`GET /api/public/v1/payments/`, a list like the others).
    func write(path: String, request: SimRequest) async -> SimResponse? {
        guard request.method != "GET" else { return nil }
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count >= 3, parts[1] == "v3", ["vendors", "departments"].contains(parts[2]), parts.count <= 4 else { return nil }
        let id = parts.count == 4 ? parts[3] : nil
        let allowed = id == nil ? ["POST"] : (parts[2] == "vendors" ? ["PUT", "PATCH"] : ["PUT"])
        guard allowed.contains(request.method) else { return Self.detail(405, "Method \"\(request.method)\" not allowed.") }
        guard let body = request.jsonBody()?.objectValue else { return .json(400, ["detail": "JSON parse error - the body is not a JSON object"]) }
        do {
            let saved = parts[2] == "vendors"
                ? try await backend.saveVendor(body, id: id, partial: request.method == "PATCH")
                : try await backend.saveDepartment(body, id: id)
            return .json(id == nil ? 201 : 200, ["metadata": [:], "data": saved])
        } catch let invalid as ProcurifyBackend.Invalid {
            if invalid.fields["detail"] != nil { return Self.detail(404, "Not found.") }
            return .json(400, .object(invalid.fields.mapValues { .array($0.map { .string($0) }) }))
        } catch {
            return Self.detail(400, "\(error)")
        }
    }
}
