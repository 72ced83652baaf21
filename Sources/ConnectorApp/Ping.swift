import AsyncHTTPClient
import Cin7Client
import ClientKit
import Foundation
import Logging
import ProcoreClient
import SyncEngine
import SysproClient

/// "Ping your real systems": each system's real authentication and one cheap read, with a
/// verdict a customer can act on.
public enum Ping {
    public enum Category: String, Codable, Sendable {
        case connect = "dns/connect/tls"
        case badCredentials = "bad credentials"
        case wrongTenant = "wrong company/tenant id"
        case missingPermission = "missing permission"
        case rateLimited = "rate limited"
        case unexpectedResponse = "unexpected response"
    }

    public struct Failure: Codable, Sendable, Equatable {
        public var category: Category
        public var message: String
        public var nextStep: String
    }

    public struct Result: Codable, Sendable {
        public var system: String
        public var connection: String
        public var reachable = false
        public var authenticated = false
        public var read: String?
        public var latencyMilliseconds: Int = 0
        public var tokenLifetimeSeconds: Int?
        public var session: String?
        public var rateLimit: String?
        public var looksLikeSandbox: Bool?
        public var failure: Failure?
        /// Reachable, authenticated and the read worked.
        public var ok = false
    }

    /// Times a check and settles its verdict.
    static func timed(_ check: () async -> Result) async -> Result {
        let started = ContinuousClock.now
        var result = await check()
        result.latencyMilliseconds = Int((ContinuousClock.now - started).timeInterval * 1000)
        result.ok = result.failure == nil && result.authenticated
        return result
    }

    /// A transport that tries once: a ping reports a 429 instead of waiting it out.
    static func transport(_ http: HTTPClient, system: String, logger: Logger) -> HTTPTransport {
        HTTPTransport(
            http: http, system: system, clock: SystemClock(), policy: BackoffPolicy(maxAttempts: 1), timeout: .seconds(15), logger: logger)
    }

    /// SYSPRO: e.net logon, a one-row OData read, logoff.
    public static func syspro(_ connection: SysproConnection, name: String, http: HTTPClient, logger: Logger) async -> Result {
        await timed { await sysproCheck(connection, name: name, http: http, logger: logger) }
    }

    static func sysproCheck(_ connection: SysproConnection, name: String, http: HTTPClient, logger: Logger) async -> Result {
        var result = Result(system: "syspro", connection: name)
        let client = SysproClient(connection: connection, transport: transport(http, system: "syspro", logger: logger))
        do {
            try await client.logon()
            result.reachable = true
            let page = try await client.odata("PorMasterHdr", select: ["PurchaseOrder"], top: 1)
            result.authenticated = true
            result.read = "OData PorMasterHdr: \(page.rows.count) row(s) (top 1)"
            result.session = "e.net session until logoff or the site's idle timeout; logged off"
            let company = connection.companyID.uppercased()
            result.looksLikeSandbox = ["EDU", "TEST", "DEMO", "SANDBOX", "TRAIN"].contains { company.contains($0) }
        } catch let error as SyncError {
            result.reachable = result.reachable || error.code != .transient
            result.failure = classifySyspro(error, connection: connection)
        } catch {
            result.failure = Failure(category: .unexpectedResponse, message: "\(error)", nextStep: "Check the e.net and OData URLs")
        }
        await client.logoff()
        return result
    }

    static func classifySyspro(_ error: SyncError, connection: SysproConnection) -> Failure {
        let text = error.message
        switch error.code {
        case .transient:
            return Failure(category: .connect, message: text, nextStep: "Check that \(connection.enetBase) and \(connection.odataRoot) are reachable from here (host, port, firewall, TLS certificate)")
        case .authFailed where text.contains("OData"):
            return Failure(category: .badCredentials, message: text, nextStep: "Regenerate the operator's OData password in SYSPRO Operator Maintenance and update the credential")
        case .authFailed where text.contains("ERROR: Invalid company"):
            return Failure(category: .wrongTenant, message: text, nextStep: "Check the company id (and company password) of the connection")
        case .authFailed:
            return Failure(category: .badCredentials, message: text, nextStep: "Check the operator code and password; the operator needs an e.net licence")
        case .invalidConfig:
            return Failure(category: .wrongTenant, message: text, nextStep: "Check the OData root URL: it ends with the company id, e.g. …/SYSPROOData/\(connection.companyID)")
        case .rateLimited:
            return Failure(category: .rateLimited, message: text, nextStep: "Try again in a few minutes")
        default:
            return Failure(category: .unexpectedResponse, message: text, nextStep: "Check that the URLs point at SYSPRO's e.net REST service and OData service, not a proxy or login page")
        }
    }

    /// Procore: client-credentials token, the company among those that installed the app, one
    /// page of its projects.
    public static func procore(_ connection: ProcoreConnection, name: String, http: HTTPClient, logger: Logger) async -> Result {
        await timed { await procoreCheck(connection, name: name, http: http, logger: logger) }
    }

    static func procoreCheck(_ connection: ProcoreConnection, name: String, http: HTTPClient, logger: Logger) async -> Result {
        var result = Result(system: "procore", connection: name)
        let client = ProcoreClient(connection: connection, transport: transport(http, system: "procore", logger: logger))
        result.looksLikeSandbox = connection.apiBase.contains("sandbox") || connection.apiBase.contains("monthly")
            || connection.loginBase.contains("sandbox") || connection.apiBase.contains("127.0.0.1") || connection.apiBase.contains("localhost")
        do {
            try await client.refreshToken()
            result.reachable = true
            result.authenticated = true
            result.tokenLifetimeSeconds = await client.tokenLifetime.map { Int($0) }
            let companies = try await client.list("/rest/v1.0/companies", query: [], what: "companies")
            let ids = companies.compactMap { $0["id"]?.doubleValue.map { Int64($0) } }
            guard ids.contains(connection.companyID) else {
                result.failure = Failure(
                    category: .wrongTenant,
                    message: "company \(connection.companyID) is not among the companies that installed this app (\(ids.map(String.init).joined(separator: ", ")))",
                    nextStep: "Use one of those company ids, or install the app in company \(connection.companyID) through the Procore App Marketplace")
                return result
            }
            let reply = try await client.call("GET", "/rest/v1.0/projects", query: [("company_id", String(connection.companyID)), ("per_page", "1")])
            if let rate = await client.rateLimit { result.rateLimit = "\(rate.remaining)/\(rate.limit) requests left, window resets at \(rate.reset)" }
            switch reply.status {
            case 200:
                let total = reply.header("Total") ?? "?"
                result.read = "company \(connection.companyID): \(total) project(s) visible"
            case 403:
                result.failure = Failure(category: .missingPermission, message: "Procore answered 403 to the project list: \(reply.excerpt)",
                                         nextStep: "Give the service account access to the projects (and tools) it must sync")
            case 429:
                result.failure = Failure(category: .rateLimited, message: "Procore answered 429", nextStep: "Wait until the rate-limit window resets, then ping again")
            default:
                result.failure = Failure(category: .unexpectedResponse, message: "Procore answered \(reply.status): \(reply.excerpt)",
                                         nextStep: "Check the API base URL (production https://api.procore.com, sandbox https://sandbox.procore.com)")
            }
        } catch let error as SyncError {
            switch error.code {
            case .transient:
                result.failure = Failure(category: .connect, message: error.message, nextStep: "Check that \(connection.loginBase) and \(connection.apiBase) are reachable from here")
            case .authFailed where !result.authenticated:
                result.reachable = true
                result.failure = Failure(category: .badCredentials, message: error.message,
                                         nextStep: "Check the client id and secret; sandbox and production credentials differ, and so do their login hosts")
            case .authFailed:
                result.failure = Failure(category: .missingPermission, message: error.message, nextStep: "Grant the service account the permissions the flow needs")
            case .rateLimited:
                result.failure = Failure(category: .rateLimited, message: error.message, nextStep: "Wait until the rate-limit window resets, then ping again")
            default:
                result.reachable = true
                result.failure = Failure(category: .unexpectedResponse, message: error.message,
                                         nextStep: "Check that the URLs point at Procore's login and API hosts, not a proxy or an HTML page")
            }
        } catch {
            result.failure = Failure(category: .unexpectedResponse, message: "\(error)", nextStep: "Check the login and API base URLs")
        }
        return result
    }

    /// Cin7 Core: the two API headers against `GET /me`, then one page of suppliers.
    public static func cin7(_ connection: Cin7Connection, name: String, http: HTTPClient, logger: Logger) async -> Result {
        await timed {
            var result = Result(system: "cin7", connection: name)
            var cin7Transport = transport(http, system: "cin7", logger: logger)
            cin7Transport.throttleStatuses = [429, 503]  // Cin7's own table answers its limit with 503
            let client = Cin7Client(connection: connection, transport: cin7Transport)
            result.looksLikeSandbox = connection.baseURL.contains("127.0.0.1") || connection.baseURL.contains("localhost")
            do {
                let me = try await client.me()
                result.reachable = true
                result.authenticated = true
                let page = try await client.suppliers(page: 1, limit: 1)
                result.read = "\(me["Company"]?.stringValue ?? "company profile"); \(page.total) supplier(s)"
                result.session = "API keys do not expire; revoked in Cin7 Core under Integrations → API"
                result.rateLimit = "60 calls per minute per API application (documented; no headers sent)"
            } catch let error as SyncError {
                switch error.code {
                case .transient:
                    result.failure = Failure(category: .connect, message: error.message, nextStep: "Check that \(connection.baseURL) is reachable from here")
                case .authFailed:
                    result.reachable = true
                    result.failure = Failure(category: .badCredentials, message: error.message,
                                             nextStep: "Copy the Account ID and the Application Key again from Integrations → API in Cin7 Core")
                case .rateLimited:
                    result.reachable = true
                    result.failure = Failure(category: .rateLimited, message: error.message, nextStep: "Another integration may share this API application; wait a minute and ping again")
                default:
                    result.reachable = true
                    result.failure = Failure(category: .unexpectedResponse, message: error.message,
                                             nextStep: "Check the base URL: https://inventory.dearsystems.com/ExternalApi/v2")
                }
            } catch {
                result.failure = Failure(category: .unexpectedResponse, message: "\(error)", nextStep: "Check the base URL")
            }
            return result
        }
    }

    public static func describe(_ result: Result) -> String {
        var lines = ["\(result.ok ? "OK  " : "FAIL") \(result.system) (\(result.connection)) in \(result.latencyMilliseconds) ms"]
        lines.append("     reachable \(result.reachable ? "yes" : "no"), authenticated \(result.authenticated ? "yes" : "no")"
            + (result.looksLikeSandbox.map { ", looks like a \($0 ? "sandbox" : "production system")" } ?? ""))
        if let read = result.read { lines.append("     read: \(read)") }
        if let lifetime = result.tokenLifetimeSeconds { lines.append("     token lifetime: \(lifetime) s") }
        if let session = result.session { lines.append("     session: \(session)") }
        if let rate = result.rateLimit { lines.append("     rate limit: \(rate)") }
        if let failure = result.failure {
            lines.append("     problem (\(failure.category.rawValue)): \(failure.message)")
            lines.append("     next step: \(failure.nextStep)")
        }
        return lines.joined(separator: "\n")
    }
}
