import ClientKit
import Foundation
import SyncEngine

/// Where and how to reach one Procurify domain.
public struct ProcurifyConnection: Sendable {
    /// The customer's own host, e.g. `https://acme.procurify.com` (no trailing slash).
    public var baseURL: String
    /// The token endpoint; documented as `{base}/oauth/token` (older clients used
    /// `https://login.procurify.com/oauth/token`, so it stays configurable).
    public var tokenURL: String
    public var clientID: String
    public var clientSecret: String
    /// The `audience` the documented token request carries.
    public var audience: String

    public init(baseURL: String, tokenURL: String? = nil, clientID: String, clientSecret: String, audience: String = "https://api.procurify.com/") {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.baseURL = base
        self.tokenURL = tokenURL ?? base + "/oauth/token"
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.audience = audience
    }
}

/// One page of a Procurify list: the `metadata.pagination` envelope.
public struct ProcurifyPage: Sendable {
    public var count: Int
    public var items: [JSONValue]
    /// `metadata.pagination.next`: an absolute URL to follow verbatim, or `nil` on the last page.
    public var next: String?
}

/// Typed reads from Procurify's API (Django REST Framework behind `/api/v2|v3/…`).
///
/// Auth is OAuth client credentials (`POST /oauth/token`, JSON body, 24 h tokens, no refresh
/// token); the token is cached until shortly before expiry, as Procurify asks, and a 401 fetches
/// a new one once and replays the call once. Every call carries `X-Procurify-Client: api`.
/// Error bodies are DRF's `{"detail": …}`; the client keys on the status only: 403 means the
/// user behind the API application lacks a permission, 429 is throttling (waited out by the
/// transport, honouring `Retry-After`).
public actor ProcurifyClient {
    public nonisolated let connection: ProcurifyConnection
    private let transport: HTTPTransport
    private let tokens: BearerTokens
    /// Token requests that succeeded.
    public var tokensFetched: Int { tokens.tokensFetched }
    /// `expires_in` of the latest token, in seconds.
    public var tokenLifetime: Double? { tokens.tokenLifetime }
    /// The latest token's `scope` (names the domain and the API user's email).
    public private(set) var scope: String?

    public init(connection: ProcurifyConnection, transport: HTTPTransport) {
        self.connection = connection
        self.transport = transport
        self.tokens = BearerTokens(system: "Procurify", refreshMargin: 600, clock: transport.clock)
    }

    /// Fetches a fresh token now.
    public func refreshToken() async throws {
        try await tokens.renew { try await self.requestToken() }
    }

    /// The client-credentials grant; the answer carries no issue time, and the token's expiry is
    /// counted from its arrival on this client's clock.
    private func requestToken() async throws -> IssuedToken {
        let body: JSONValue = [
            "client_id": .string(connection.clientID), "client_secret": .string(connection.clientSecret),
            "audience": .string(connection.audience), "grant_type": "client_credentials",
        ]
        let reply = try await transport.send(
            "POST", connection.tokenURL, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: try JSONEncoder().encode(body))
        let json = try? JSONValue(parsing: reply.body)
        switch reply.status {
        case 200:
            guard let token = json?["access_token"]?.stringValue, let lifetime = json?["expires_in"]?.doubleValue else {
                throw SyncError(.unexpectedResponse, "Procurify's token answer has no access_token/expires_in (\(reply.credentialSummary))")
            }
            scope = json?["scope"]?.stringValue
            return IssuedToken(accessToken: token, lifetime: lifetime)
        case 401, 403:
            let error = json?["error"]?.stringValue ?? "HTTP \(reply.status)"
            throw SyncError(.authFailed, "Procurify refused the client id / secret (\(error)). Create or copy them in Procurify under Settings → Integrations → API; the secret is shown only once.")
        case 400:
            let error = json?["error"]?.stringValue ?? "HTTP 400"
            throw SyncError(.unexpectedResponse, "Procurify rejected the token request (\(error)): \(json?["error_description"]?.stringValue ?? reply.credentialSummary)")
        default:
            throw SyncError(.unexpectedResponse, "Procurify's token endpoint \(HTTPTransport.pathOnly(connection.tokenURL)) answered \(reply.credentialSummary)")
        }
    }

    /// One GET with the token handled around it.
    /// - Parameter path: an API path (`/api/v3/vendors/`) or an absolute `next` link.
    /// - Throws: `.forbidden` on 403, `.rejected` on 404/400, `.rateLimited` past the retries,
    ///   `.authFailed` when a fresh token is refused too, `.unexpectedResponse` for non-JSON.
    public func get(_ path: String, query: [(String, String)] = []) async throws -> JSONValue {
        if path.hasPrefix("http") {
            var links = NextLinks(base: connection.baseURL, system: "Procurify")
            _ = try links.check(path)
        }
        var url = path.hasPrefix("http") ? path : connection.baseURL + path
        if !query.isEmpty { url += (url.contains("?") ? "&" : "?") + query.map { "\($0.0.percentEncoded())=\($0.1.percentEncoded())" }.joined(separator: "&") }
        let reply = try await tokens.call(fetch: { try await self.requestToken() }) { token in
            try await transport.send(
                "GET", url, headers: [("Authorization", "Bearer \(token)"), ("X-Procurify-Client", "api"), ("Accept", "application/json")])
        }
        return try Self.decode(reply, path: HTTPTransport.pathOnly(url))
    }

    /// One write (`PATCH`, `PUT`, `POST`) of a JSON body with the token handled around it; the
    /// answer's `data` object. Procurify's vendor and department writes are what flow 001 uses.
    /// - Throws: as ``get(_:query:)``; a 400 carries DRF's field messages.
    public func write(_ method: String, _ path: String, body: JSONValue) async throws -> JSONValue {
        let url = connection.baseURL + path
        let reply = try await tokens.call(fetch: { try await self.requestToken() }) { token in
            try await transport.send(
                method, url, headers: [("Authorization", "Bearer \(token)"), ("X-Procurify-Client", "api"), ("Accept", "application/json"),
                                       ("Content-Type", "application/json")],
                body: body.jsonData())
        }
        return try Self.decode(reply, path: HTTPTransport.pathOnly(url))["data"] ?? .null
    }

    static func decode(_ reply: HTTPReply, path: String) throws -> JSONValue {
        let body = try? JSONValue(parsing: reply.body)
        let detail = body?["detail"]?.stringValue ?? body?["message"]?.stringValue ?? reply.excerpt
        switch reply.status {
        case 200...299:
            guard let body else { throw SyncError(.unexpectedResponse, "Procurify answered \(path) with a body that is not JSON: \(reply.excerpt)") }
            return body
        case 403:
            throw SyncError(.forbidden, "Procurify answered 403 to \(path): \(detail). The API application acts as the user who created it; give that user the permission.")
        case 429:
            throw SyncError(.rateLimited, "Procurify throttled \(path): \(detail)")
        default:
            throw SyncError(.rejected, "Procurify answered \(reply.status) to \(path): \(detail)")
        }
    }

    /// The API user (`GET /api/v3/users/me/`): the cheapest authenticated read.
    public func me() async throws -> JSONValue {
        let body = try await get("/api/v3/users/me/")
        guard let user = body["data"] else { throw SyncError(.unexpectedResponse, "Procurify's users/me answer has no data") }
        return user
    }

    /// One page of a list (`/api/v3/vendors/`, `/api/v2/currencies/`, …), or the page a `next`
    /// link points at.
    public func page(_ path: String, query: [(String, String)] = []) async throws -> ProcurifyPage {
        let body = try await get(path, query: query)
        guard let pagination = body["metadata"]?["pagination"], let items = body["data"]?.arrayValue else {
            throw SyncError(.unexpectedResponse, "Procurify's list \(HTTPTransport.pathOnly(path)) has no metadata.pagination/data envelope")
        }
        return ProcurifyPage(count: Int(pagination["count"]?.doubleValue ?? Double(items.count)), items: items, next: pagination["next"]?.stringValue)
    }
}
