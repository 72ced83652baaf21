import ClientKit
import Foundation
import SyncEngine

/// Where and how to reach one SAP Business One company through its Service Layer.
public struct SAPB1Connection: Sendable {
    /// The service root, e.g. `https://sl.acme.example:50000/b1s/v1` (or `/b1s/v2`).
    public var serviceRoot: String
    /// The company database, e.g. `SBODEMOUS`.
    public var companyDB: String
    public var userName: String
    public var password: String

    public init(serviceRoot: String, companyDB: String, userName: String, password: String) {
        self.serviceRoot = serviceRoot.hasSuffix("/") ? String(serviceRoot.dropLast()) : serviceRoot
        self.companyDB = companyDB
        self.userName = userName
        self.password = password
    }

    /// `scheme://host:port`, for next links that start with `/`.
    var origin: String {
        guard let url = URL(string: serviceRoot), let scheme = url.scheme, let host = url.host else { return serviceRoot }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
    }
}

/// An error the Service Layer reported, in either OData shape: v1
/// `{"error":{"code":301,"message":{"lang","value"}}}` or v2 `{"error":{"code":"301","message":"…"}}`.
public struct SAPB1Error: Sendable, Equatable {
    public var code: String
    public var message: String

    public init?(_ reply: HTTPReply) {
        guard let body = try? JSONValue(parsing: reply.body), let error = body["error"] else { return nil }
        code = error["code"]?.scalarText ?? ""
        message = error["message"]?["value"]?.stringValue ?? error["message"]?.stringValue ?? ""
    }
}

/// The Service Layer session life: `POST Login` → `B1SESSION` (+ optional `ROUTEID`) cookies,
/// sent by hand (SAP's Set-Cookie has no Path and a trailing `;`, which some cookie jars drop);
/// every request renews the idle timeout; a dead session shows as HTTP 401 with code 301 (int or
/// string), answered by one fresh login and one replay. `-5002` is a business-validation error
/// (HTTP 400), never a session error. `Logout` frees the licence seat.
public actor SAPB1Client {
    public nonisolated let connection: SAPB1Connection
    private let transport: HTTPTransport
    private var session: String?
    private var route: String?
    public private(set) var logins = 0
    /// From the latest login: `SessionTimeout` (minutes) and `Version`.
    public private(set) var sessionTimeoutMinutes: Int?
    public private(set) var version: String?

    public init(connection: SAPB1Connection, transport: HTTPTransport) {
        self.connection = connection
        self.transport = transport
    }

    public var isLoggedIn: Bool { session != nil }

    /// A login under way: calls that find the session gone while it runs wait for it instead of
    /// logging in again (each login takes a licence seat until it times out).
    private var pendingLogin: Task<Void, any Error>?

    /// Logs in unless a login is already under way, then waits for that one.
    private func sharedLogin() async throws {
        if let pendingLogin { return try await pendingLogin.value }
        let task = Task { try await self.login() }
        pendingLogin = task
        defer { pendingLogin = nil }
        try await task.value
    }

    /// Opens a session.
    /// - Throws: `.authFailed` when SAP refuses the company/user/password (401, code -304 or
    ///   100000027 — SAP does not say which of the three is wrong), `.unexpectedResponse` for
    ///   anything that is not a Service Layer login answer.
    public func login() async throws {
        let body: JSONValue = ["CompanyDB": .string(connection.companyDB), "UserName": .string(connection.userName), "Password": .string(connection.password)]
        let reply = try await transport.send(
            "POST", "\(connection.serviceRoot)/Login", headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: try JSONEncoder().encode(body))
        switch reply.status {
        case 200:
            guard let json = try? JSONValue(parsing: reply.body), let id = json["SessionId"]?.stringValue else {
                throw SyncError(.unexpectedResponse, "SAP B1 Login answered 200 without a SessionId (\(reply.credentialSummary))")
            }
            let cookies = reply.headers.filter { $0.0.lowercased() == "set-cookie" }.map(\.1)
            session = Self.cookie("B1SESSION", in: cookies) ?? id
            route = Self.cookie("ROUTEID", in: cookies)
            sessionTimeoutMinutes = json["SessionTimeout"]?.doubleValue.map { Int($0) }
            version = json["Version"]?.scalarText
            logins += 1
        case 401:
            let error = SAPB1Error(reply)
            throw SyncError(.authFailed, "SAP B1 refused the login to company database \(connection.companyDB) as \(connection.userName) (\(error.map { "\($0.code) \($0.message)" } ?? "HTTP 401")). SAP answers a wrong company database, user name or password alike: check all three (company database names are listed in the SAP B1 client's company selection).")
        default:
            if let error = SAPB1Error(reply) {
                throw SyncError(.unexpectedResponse, "SAP B1 Login answered HTTP \(reply.status), code \(error.code): \(error.message)")
            }
            throw SyncError(.unexpectedResponse, "SAP B1 Login answered HTTP \(reply.status) with a body that is not a Service Layer error (\(reply.credentialSummary)); check that the service root ends with /b1s/v1 or /b1s/v2")
        }
    }

    /// Closes the session (errors ignored: the idle timeout ends it anyway).
    public func logout() async {
        guard session != nil else { return }
        _ = try? await transport.send("POST", "\(connection.serviceRoot)/Logout", headers: cookieHeaders())
        session = nil
        route = nil
    }

    /// One cookie's value from `Set-Cookie` headers (attributes after the first `;` ignored).
    public static func cookie(_ name: String, in headers: [String]) -> String? {
        for header in headers {
            let first = header.split(separator: ";").first.map(String.init) ?? ""
            let pair = first.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0] == name { return pair[1] }
        }
        return nil
    }

    private func cookieHeaders() -> [(String, String)] {
        guard let session else { return [] }
        return [("Cookie", "B1SESSION=\(session)" + (route.map { "; ROUTEID=\($0)" } ?? ""))]
    }

    /// One call with the session handled around it; logs in first if needed, and once again
    /// after a 401.
    /// - Returns: the reply for any status but 401 (callers map the rest).
    public func call(_ method: String, _ path: String, body: JSONValue? = nil, headers extra: [(String, String)] = []) async throws -> HTTPReply {
        try await call(method, path, rawBody: body?.jsonData(), contentType: body == nil ? nil : "application/json", headers: extra)
    }

    /// One call with a body of any type (`$batch` sends `multipart/mixed`), the session handled
    /// as in ``call(_:_:body:headers:)``.
    public func call(_ method: String, _ path: String, rawBody: Data?, contentType: String?, headers extra: [(String, String)] = []) async throws -> HTTPReply {
        if path.hasPrefix("http") {
            var links = NextLinks(base: connection.origin, system: "SAP B1")
            _ = try links.check(path)
        }
        let url = path.hasPrefix("http") ? path : (path.hasPrefix("/") ? connection.origin + path : "\(connection.serviceRoot)/\(path)")
        var relogged = false
        while true {
            if session == nil { try await sharedLogin() }
            let used = session
            var headers = cookieHeaders() + [("Accept", "application/json")] + extra
            if let contentType { headers.append(("Content-Type", contentType)) }
            let reply = try await transport.send(method, url, headers: headers, body: rawBody)
            guard reply.status == 401 else { return reply }
            // a call in flight beside this one may have logged in again already: use its session
            if session != nil && session != used && !relogged {
                relogged = true
                continue
            }
            if session == used { session = nil }
            guard !relogged else {
                throw SyncError(.authFailed, "SAP B1 answered 401 again right after a fresh login on \(HTTPTransport.pathOnly(path))")
            }
            relogged = true
        }
    }

    /// Decodes a 2xx JSON answer or throws a ``SyncError`` naming the SAP code.
    public func json(_ method: String, _ path: String, body: JSONValue? = nil, what: String) async throws -> JSONValue {
        let reply = try await call(method, path, body: body)
        if (200...299).contains(reply.status) {
            guard let value = try? JSONValue(parsing: reply.body) else {
                throw SyncError(.unexpectedResponse, "SAP B1 answered \(what) with a body that is not JSON: \(reply.excerpt)")
            }
            return value
        }
        throw Self.failure(reply, what: what)
    }

    /// The error for a non-2xx answer (other than the 401 ``call(_:_:body:headers:)`` handles).
    static func failure(_ reply: HTTPReply, what: String) -> SyncError {
        let error = SAPB1Error(reply)
        let detail = error.map { "code \($0.code): \($0.message)" } ?? reply.excerpt
        switch reply.status {
        case 403: return SyncError(.forbidden, "SAP B1 refused \(what) (403, \(detail)); the user needs authorization for it")
        case 429: return SyncError(.rateLimited, "SAP B1 throttled \(what)")
        default: return SyncError(.rejected, "SAP B1 answered \(reply.status) to \(what): \(detail)")
        }
    }

    /// `CompanyService_GetAdminInfo`: company name, currencies and the rounding precisions.
    public func adminInfo() async throws -> JSONValue {
        try await json("POST", "CompanyService_GetAdminInfo", what: "CompanyService_GetAdminInfo")
    }

    /// Every row of a collection, following the server's next links (absolute path, or relative
    /// to the service root — SAP releases differ), page after page into `each`.
    public func forEachPage(_ query: String, pageSize: Int? = nil, _ each: ([JSONValue]) async throws -> Void) async throws {
        var next: String? = query.replacingOccurrences(of: " ", with: "%20")
        var followed: Set<String> = []
        while let path = next, followed.insert(path).inserted {
            let reply = try await call("GET", path, headers: pageSize.map { [("Prefer", "odata.maxpagesize=\($0)")] } ?? [])
            guard reply.status == 200 else { throw Self.failure(reply, what: HTTPTransport.pathOnly(path)) }
            guard let body = try? JSONValue(parsing: reply.body), let rows = body["value"]?.arrayValue else {
                throw SyncError(.unexpectedResponse, "SAP B1 answered \(HTTPTransport.pathOnly(path)) without a 'value' array: \(reply.excerpt)")
            }
            try await each(rows)
            next = (body["odata.nextLink"] ?? body["@odata.nextLink"])?.stringValue?.replacingOccurrences(of: " ", with: "%20")
        }
    }
}
