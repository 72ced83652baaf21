import ClientKit
import Foundation
import SyncEngine

/// Where and how to reach one Cin7 Core account.
public struct Cin7Connection: Sendable {
    /// e.g. `https://inventory.dearsystems.com/ExternalApi/v2`.
    public var baseURL: String
    public var accountID: String
    public var applicationKey: String
    /// The calls a minute the client spaces itself to. Cin7 allows 60 per minute per API
    /// application (cin7.md §9); the default keeps a little headroom for a person's tools on the
    /// same key. `nil` or 0: no pacing (the client waits out 503/429 instead).
    public var callsPerMinute: Int?

    public init(baseURL: String, accountID: String, applicationKey: String, callsPerMinute: Int? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.accountID = accountID
        self.applicationKey = applicationKey
        self.callsPerMinute = callsPerMinute
    }
}

/// Typed reads from Cin7 Core. Every call carries `api-auth-accountid` and
/// `api-auth-applicationkey` (no token, no expiry); errors come as `[{"ErrorCode","Exception"}]`;
/// 403 means the account id or key is wrong or the application is disabled; 503 (and 429) mean
/// the 60-calls-a-minute limit. Calls are spaced evenly under ``Cin7Connection/callsPerMinute``
/// so a long run spends the minute's budget without meeting the limit; a throttled answer with no
/// `Retry-After` (Cin7 sends none) is waited out for a whole window, 60 s, not retried at once.
public actor Cin7Client {
    public nonisolated let connection: Cin7Connection
    private let transport: HTTPTransport
    private var pacer: CallPacer
    /// Calls made, for the flow's budget figures.
    public private(set) var calls = 0

    /// The statuses Cin7 answers its limit with: its own table says 503, several clients see 429.
    public static let throttleStatuses: Set<Int> = [429, 503]

    /// - Parameter transport: used as given, except that it treats ``throttleStatuses`` as "throttled".
    public init(connection: Cin7Connection, transport: HTTPTransport) {
        self.connection = connection
        var transport = transport
        transport.throttleStatuses.formUnion(Self.throttleStatuses)
        transport.throttleWait = transport.throttleWait ?? .seconds(60)
        self.transport = transport
        self.pacer = CallPacer(callsPerMinute: connection.callsPerMinute)
    }

    /// One GET, decoded.
    /// - Throws: `.authFailed` on 403, `.rateLimited` past the retries, `.rejected` on 400/404,
    ///   `.unexpectedResponse` for a body that is not JSON.
    public func get(_ endpoint: String, query: [(String, String)] = []) async throws -> JSONValue {
        try await call("GET", endpoint, query: query)
    }

    /// One call, decoded. Writes (`POST`/`PUT`) answer the saved record or list envelope; a
    /// refusal is a 400 whose `[{"ErrorCode","Exception"}]` text becomes the error message.
    /// - Throws: as ``get(_:query:)``; a 400 is `.rejected` with Cin7's text ("… not found" for
    ///   an unknown `ID`, which Cin7 answers with 400, not 404).
    public func call(_ method: String, _ endpoint: String, query: [(String, String)] = [], body: JSONValue? = nil) async throws -> JSONValue {
        var url = "\(connection.baseURL)/\(endpoint)"
        if !query.isEmpty { url += "?" + query.map { "\($0.0)=\($0.1.percentEncoded())" }.joined(separator: "&") }
        var headers = [("api-auth-accountid", connection.accountID), ("api-auth-applicationkey", connection.applicationKey)]
        headers.append(("Content-Type", "application/json"))
        let data = try body.map { Data($0.canonicalJSON().utf8) }
        if let wait = pacer.reserve(now: transport.clock.now()) { try await transport.clock.sleep(for: wait) }
        calls += 1
        // a write whose answer was lost may have landed: the flow looks it up, never resends blind
        let reply = try await transport.send(method, url, headers: headers, body: data, idempotent: method == "GET")
        let decoded = try? JSONValue(parsing: reply.body)
        let exception = (decoded?.arrayValue?.first ?? decoded)?["Exception"]?.stringValue
        switch reply.status {
        case 200:
            guard let decoded else { throw SyncError(.unexpectedResponse, "Cin7 answered \(endpoint) with a body that is not JSON: \(reply.excerpt)") }
            return decoded
        case 403:
            throw SyncError(.authFailed, "Cin7 refused the account id / application key (403\(exception.map { ": \($0)" } ?? "")). Check both values under Integrations → API in Cin7 Core, and that the application is enabled.")
        case 429, 503:
            throw SyncError(.rateLimited, "Cin7's 60 calls per minute limit (\(reply.status))")
        case 404:
            throw SyncError(.rejected, "Cin7 has no endpoint \(endpoint) at \(connection.baseURL) (404); the base URL ends with /ExternalApi/v2")
        default:
            throw SyncError(.rejected, "Cin7 answered \(reply.status) to \(method) \(endpoint): \(exception ?? reply.excerpt)")
        }
    }

    /// The company profile (`GET /me`): the documented credential check.
    public func me() async throws -> JSONValue { try await get("me") }

    /// One page of suppliers: `{"Total","Page","SupplierList":[…]}`, those changed after
    /// `modifiedSince` when given (deprecated ones too, with `includeDeprecated`).
    public func suppliers(page: Int = 1, limit: Int = 100, modifiedSince: Date? = nil, includeDeprecated: Bool = false) async throws -> (total: Int, suppliers: [JSONValue]) {
        var query = [("Page", String(page)), ("Limit", String(limit))]
        if let modifiedSince { query.append(("ModifiedSince", Self.stamp(modifiedSince))) }
        if includeDeprecated { query.append(("IncludeDeprecated", "true")) }
        let body = try await get("supplier", query: query)
        return (Int(body["Total"]?.doubleValue ?? 0), try Self.list(body, "SupplierList"))
    }

    /// Every record of a paged list endpoint (`supplier`, `ref/account`, `product`), 1,000 a page:
    /// one call per thousand records.
    public func all(_ endpoint: String, key: String, query: [(String, String)] = []) async throws -> [JSONValue] {
        var rows: [JSONValue] = []
        var page = 1
        while true {
            let body = try await get(endpoint, query: query + [("Page", String(page)), ("Limit", "1000")])
            let list = try Self.list(body, key)
            rows += list
            let total = Int(body["Total"]?.doubleValue ?? 0)
            if list.count < 1000 || rows.count >= total || page >= 10_000 { return rows }
            page += 1
        }
    }

    /// The list of a Cin7 envelope, or a clear error naming what came instead.
    public static func list(_ body: JSONValue, _ key: String) throws -> [JSONValue] {
        guard let list = body[key]?.arrayValue else {
            throw SyncError(.unexpectedResponse, "Cin7's answer has no \(key): \(body.canonicalJSON().prefix(120))")
        }
        return list
    }

    /// A date as Cin7's filters take it: `yyyy-MM-ddTHH:mm:ss`, UTC, no offset.
    public static func stamp(_ date: Date) -> String {
        String(date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon)).prefix(19))
    }
}
