import ClientKit
import Foundation
import Logging
import SyncEngine

/// Where and how to reach one Procore company.
public struct ProcoreConnection: Sendable {
    /// Token host, e.g. `https://login.procore.com` (sandbox: `https://login-sandbox.procore.com`).
    public var loginBase: String
    /// API host, e.g. `https://api.procore.com`.
    public var apiBase: String
    public var clientID: String
    public var clientSecret: String
    public var companyID: Int64

    public init(loginBase: String, apiBase: String, clientID: String, clientSecret: String, companyID: Int64) {
        self.loginBase = loginBase.hasSuffix("/") ? String(loginBase.dropLast()) : loginBase
        self.apiBase = apiBase.hasSuffix("/") ? String(apiBase.dropLast()) : apiBase
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.companyID = companyID
    }
}

/// Typed calls to Procore's REST API v1.0 over one company.
///
/// Every call carries `Authorization: Bearer` and `Procore-Company-Id`; lists follow the `Link`
/// header's `rel="next"` verbatim until it is absent (or a page comes back empty). Errors map
/// by status only, as Procore's bodies vary: 401 → log in once and replay once; 403/404/400/422 →
/// ``SyncError/Code/rejected`` with the body's excerpt; 429/503 are retried by the transport.
public actor ProcoreClient {
    public nonisolated let connection: ProcoreConnection
    private let transport: HTTPTransport
    private let tokens: BearerTokens
    /// Token requests that succeeded.
    public var tokensFetched: Int { tokens.tokensFetched }
    /// `expires_in` of the latest token, in seconds.
    public var tokenLifetime: Double? { tokens.tokenLifetime }
    /// Procore's `created_at` of the latest token minus this machine's clock when it arrived.
    /// Expiry never depends on it; `ping` reports a large one.
    public var clockSkew: TimeInterval? { tokens.clockSkew }
    /// A warning naming both times when `clockSkew` is beyond a few minutes.
    public var clockSkewWarning: String? { tokens.clockSkewWarning }
    /// The latest `X-Rate-Limit-*` figures Procore reported.
    public private(set) var rateLimit: (limit: Int, remaining: Int, reset: Int)?

    public init(connection: ProcoreConnection, transport: HTTPTransport) {
        self.connection = connection
        self.transport = transport
        self.tokens = BearerTokens(system: "Procore", refreshMargin: 300, clock: transport.clock)
    }

    /// Fetches a fresh token now (the engine calls this at the start of every cycle).
    public func refreshToken() async throws {
        try await tokens.renew { try await self.requestToken() }
    }

    /// `POST /oauth/token` with the client-credentials grant. Procore answers `access_token`,
    /// `expires_in` (5,400 s) and `created_at` (its own clock, epoch seconds); the token is
    /// counted as expiring `expires_in` after it arrived here, so a server or local clock that is
    /// off costs nothing (`created_at` is kept for diagnostics).
    private func requestToken() async throws -> IssuedToken {
        let form = "grant_type=client_credentials&client_id=\(Self.formEncode(connection.clientID))&client_secret=\(Self.formEncode(connection.clientSecret))"
        let reply = try await transport.send(
            "POST", "\(connection.loginBase)/oauth/token",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Data(form.utf8))
        guard reply.status == 200 else {
            let detail = (try? JSONValue(parsing: reply.body))?["error"]?.stringValue ?? "HTTP \(reply.status)"
            throw SyncError(.authFailed, "Procore refused the client credentials (\(detail)). Check the client id and secret of the service account and that its app is installed in company \(connection.companyID).")
        }
        guard let json = try? JSONValue(parsing: reply.body), let token = json["access_token"]?.stringValue,
            let lifetime = json["expires_in"]?.doubleValue
        else { throw SyncError(.unexpectedResponse, "Procore's token answer has no access_token/expires_in") }
        let createdAt = json["created_at"]?.doubleValue.flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil }
        return IssuedToken(accessToken: token, lifetime: lifetime, serverIssuedAt: createdAt)
    }

    /// Sends one API call, handling the token around it.
    /// - Returns: the reply for any status other than 401 (callers map the rest).
    public func call(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil) async throws -> HTTPReply {
        if path.hasPrefix("http") {
            var links = NextLinks(base: connection.apiBase, system: "Procore")
            _ = try links.check(path)
        }
        var url = path.hasPrefix("http") ? path : connection.apiBase + path
        if !query.isEmpty { url += "?" + query.map { "\(Self.queryEncode($0.0))=\(Self.queryEncode($0.1))" }.joined(separator: "&") }
        return try await send(method, url, body: body)
    }

    /// Calls sent whose answer has not come back: they spend budget the last headers do not show yet.
    private var inFlight = 0

    /// Procore's advice (rate-limiting guide): when `X-Rate-Limit-Remaining` reaches 0, pause
    /// until `X-Rate-Limit-Reset` instead of sending into a 429 — a refused request still costs a
    /// request. Calls already in flight count against what is left, so concurrent writers stop
    /// together. A reset in the past, or more than an hour away (a clock far off), is not waited for.
    private func paceForRateLimit() async throws {
        while let rate = rateLimit, rate.remaining - inFlight <= 0 {
            let wait = Double(rate.reset) - transport.clock.now().timeIntervalSince1970
            guard wait > 0, wait <= 3600 else { return }
            try await transport.clock.sleep(for: .seconds(wait + 0.001))
            if let current = rateLimit, current.reset == rate.reset { rateLimit = nil }  // a new window: the next answer says how much
        }
    }

    private func send(_ method: String, _ rawURL: String, body: JSONValue?) async throws -> HTTPReply {
        // a next link may carry raw brackets (`filters[updated_at]=…`); encoded here so the URL
        // stays valid and is sent as it is, not encoded a second time
        let url = rawURL.replacingOccurrences(of: "[", with: "%5B").replacingOccurrences(of: "]", with: "%5D")
        try await paceForRateLimit()
        inFlight += 1
        defer { inFlight -= 1 }
        var data: Data?
        if let body { data = body.jsonData() }
        let reply = try await tokens.call(fetch: { try await self.requestToken() }) { token in
            var headers = [
                ("Authorization", "Bearer \(token)"), ("Procore-Company-Id", String(connection.companyID)),
                ("Accept", "application/json"),
            ]
            if data != nil { headers.append(("Content-Type", "application/json")) }
            return try await transport.send(method, url, headers: headers, body: data)
        }
        if let limit = reply.header("X-Rate-Limit-Limit").flatMap(Int.init),
            let remaining = reply.header("X-Rate-Limit-Remaining").flatMap(Int.init),
            let reset = reply.header("X-Rate-Limit-Reset").flatMap(Int.init)
        {
            // answers to concurrent calls arrive in any order: within one window the lowest
            // Remaining is the truth, an older answer's higher figure is not
            if let known = rateLimit, known.reset == reset, known.limit == limit, known.remaining < remaining {
            } else {
                rateLimit = (limit, remaining, reset)
            }
        }
        return reply
    }

    // MARK: JSON helpers

    /// Decodes a 2xx JSON answer or throws a ``SyncError`` naming what was asked.
    public func json(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil, what: String) async throws -> JSONValue {
        let reply = try await call(method, path, query: query, body: body)
        return try Self.decode(reply, what: what)
    }

    /// Decodes a 2xx JSON answer, or throws a ``SyncError`` by status naming what was asked.
    public static func decode(_ reply: HTTPReply, what: String) throws -> JSONValue {
        switch reply.status {
        case 200...299:
            guard let value = try? JSONValue(parsing: reply.body) else {
                throw SyncError(.unexpectedResponse, "Procore answered \(what) with a body that is not JSON: \(reply.excerpt)")
            }
            return value
        case 403:
            throw SyncError(.authFailed, "Procore refused \(what) (403): \(reply.excerpt). Grant the service account access to this project/tool.")
        case 404:
            throw SyncError(.rejected, "Procore found nothing for \(what) (404): \(reply.excerpt)")
        case 400, 409, 422:
            throw SyncError(.rejected, "Procore rejected \(what) (\(reply.status)): \(reply.excerpt)")
        default:
            throw SyncError(.transient, "Procore answered \(reply.status) to \(what): \(reply.excerpt)")
        }
    }

    /// Every item of a list, following `Link: rel="next"`. For small lists (look-ups by
    /// `origin_id`, a project's cost codes).
    public func list(_ path: String, query: [(String, String)], what: String) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var links = NextLinks(base: connection.apiBase, system: "Procore")
        var reply = try await call("GET", path, query: query + [("per_page", "100")])
        while true {
            guard let page = try Self.decode(reply, what: what).arrayValue else {
                throw SyncError(.unexpectedResponse, "Procore answered \(what) with something that is not a list")
            }
            items += page
            // A short page is not the end while Procore announces a next one; an empty page is.
            guard !page.isEmpty, let announced = Self.nextLink(reply.header("Link")), let next = try links.check(announced) else {
                return items
            }
            reply = try await send("GET", next, body: nil)
        }
    }

    /// The `rel="next"` URL of a `Link` header.
    public static func nextLink(_ header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count >= 2, pieces.dropFirst().contains(where: { $0 == "rel=\"next\"" }) else { continue }
            return pieces[0].trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        }
        return nil
    }

    static func formEncode(_ text: String) -> String { text.percentEncoded(keeping: "-._~") }

    /// Brackets are encoded too (`filters%5Bupdated_at%5D`): a raw `[` makes the URL invalid to
    /// Foundation's parser under AsyncHTTPClient, which then encodes the whole query again —
    /// every `%3A` of a date-time became `%253A` and Procore read garbage.
    static func queryEncode(_ text: String) -> String { text.percentEncoded(keeping: "-._~") }
}
