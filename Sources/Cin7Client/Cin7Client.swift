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

    public init(connection: Cin7Connection, transport: HTTPTransport) {
        self.connection = connection
        self.transport = transport
    }

    /// One GET, decoded.
    /// - Throws: `.authFailed` on 403, `.rateLimited` past the retries, `.rejected` on 400/404,
    ///   `.unexpectedResponse` for a body that is not JSON.
    public func get(_ endpoint: String, query: [(String, String)] = []) async throws -> JSONValue {
        var url = "\(connection.baseURL)/\(endpoint)"
        if !query.isEmpty { url += "?" + query.map { "\($0.0)=\($0.1.percentEncoded())" }.joined(separator: "&") }
        let reply = try await transport.send(
            "GET", url,
            headers: [("api-auth-accountid", connection.accountID), ("api-auth-applicationkey", connection.applicationKey),
                      ("Content-Type", "application/json")])
        let body = try? JSONDecoder().decode(JSONValue.self, from: reply.body)
        let exception = (body?.arrayValue?.first ?? body)?["Exception"]?.stringValue
        switch reply.status {
        case 200:
            guard let body else { throw SyncError(.unexpectedResponse, "Cin7 answered \(endpoint) with a body that is not JSON: \(reply.excerpt)") }
            return body
        case 403:
            throw SyncError(.authFailed, "Cin7 refused the account id / application key (403\(exception.map { ": \($0)" } ?? "")). Check both values under Integrations → API in Cin7 Core, and that the application is enabled.")
        case 429, 503:
            throw SyncError(.rateLimited, "Cin7's 60 calls per minute limit (\(reply.status))")
        case 404:
            throw SyncError(.rejected, "Cin7 has no endpoint \(endpoint) at \(connection.baseURL) (404); the base URL ends with /ExternalApi/v2")
        default:
            throw SyncError(.rejected, "Cin7 answered \(reply.status) to \(endpoint): \(exception ?? reply.excerpt)")
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
