import ClientKit
import Foundation
import SyncEngine

/// Where and how to reach one Cin7 Core account.
public struct Cin7Connection: Sendable {
    /// e.g. `https://inventory.dearsystems.com/ExternalApi/v2`.
    public var baseURL: String
    public var accountID: String
    public var applicationKey: String

    public init(baseURL: String, accountID: String, applicationKey: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.accountID = accountID
        self.applicationKey = applicationKey
    }
}

/// Typed reads from Cin7 Core. Every call carries `api-auth-accountid` and
/// `api-auth-applicationkey` (no token, no expiry); errors come as `[{"ErrorCode","Exception"}]`;
/// 403 means the account id or key is wrong or the application is disabled; 503 (and 429) mean
/// the 60-calls-a-minute limit, which the transport waits out.
public actor Cin7Client {
    public nonisolated let connection: Cin7Connection
    private let transport: HTTPTransport

    /// The statuses Cin7 answers its limit with: its own table says 503, several clients see 429.
    public static let throttleStatuses: Set<Int> = [429, 503]

    /// - Parameter transport: used as given, except that it treats ``throttleStatuses`` as "throttled".
    public init(connection: Cin7Connection, transport: HTTPTransport) {
        self.connection = connection
        var transport = transport
        transport.throttleStatuses.formUnion(Self.throttleStatuses)
        self.transport = transport
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
        let reply = try await transport.send(method, url, headers: headers, body: try body.map { try JSONEncoder().encode($0) })
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

    /// One page of suppliers: `{"Total","Page","SupplierList":[…]}`.
    public func suppliers(page: Int = 1, limit: Int = 100) async throws -> (total: Int, suppliers: [JSONValue]) {
        let body = try await get("supplier", query: [("Page", String(page)), ("Limit", String(limit))])
        guard let list = body["SupplierList"]?.arrayValue else {
            throw SyncError(.unexpectedResponse, "Cin7's supplier list has no SupplierList")
        }
        return (Int(body["Total"]?.doubleValue ?? 0), list)
    }
}
