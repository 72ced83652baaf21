import AsyncHTTPClient
import Cin7Client
import ClientKit
import CloudSuiteClient
import Foundation
import Logging
import ProcoreClient
import ProcurifyClient
import SAPB1Client
import SyncEngine
import SysproClient

/// "Ping your real systems": each system's real authentication and one cheap read, with a
/// verdict a customer can act on.
///
/// The clients throw ``SyncError``s; one table (``category(of:)``) turns their code into the
/// category the customer sees, and each system brings only its own advice per category.
public enum Ping {
    public enum Category: String, Codable, Sendable, CaseIterable {
        case connect = "dns/connect/tls"
        case badCredentials = "bad credentials"
        case wrongTenant = "wrong company/tenant id"
        case missingPermission = "missing permission"
        case rateLimited = "rate limited"
        case unexpectedResponse = "unexpected response"
        /// The connection could not even be built: a missing environment variable, an `.ionapi`
        /// file without its keys.
        case configuration = "configuration"
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
        /// What works but deserves attention (a server clock far from this machine's).
        public var warnings: [String] = []
        /// Reachable, authenticated and the read worked.
        public var ok = false
    }

    /// The next step per category, written by each system.
    struct Advice {
        var connect: String
        var badCredentials: String
        var wrongTenant: String
        var missingPermission: String
        var rateLimited: String
        var unexpectedResponse: String

        func text(for category: Category, _ error: SyncError) -> String {
            switch category {
            case .connect: connect
            case .badCredentials: badCredentials
            case .wrongTenant: wrongTenant
            case .missingPermission: missingPermission
            case .rateLimited: rateLimited
            case .unexpectedResponse: unexpectedResponse
            case .configuration: Ping.configurationAdvice
            }
        }
    }

    /// The next step for a connection that could not be built (the message names what is missing).
    static let configurationAdvice = "Fix the connection in the config file (or the vault entry / environment variable it names)"

    /// The one table from error code to category.
    public static func category(of code: SyncError.Code) -> Category {
        switch code {
        case .transient: .connect
        case .authFailed: .badCredentials
        case .wrongTenant: .wrongTenant
        case .forbidden: .missingPermission
        case .rateLimited: .rateLimited
        case .invalidConfig: .configuration
        case .missingCostCode, .missingMapping, .missingAccount, .unknownSupplier, .unknownProject, .invalidRecord, .waitingForDependency, .overBudget, .rejected,
            .unexpectedResponse, .busy:
            .unexpectedResponse
        }
    }

    /// Runs one system's check: times it, and turns whatever it throws into a failure with the
    /// system's advice. Anything but a transport failure proves the host answered.
    /// - Parameter stats: the check's transport counters; rate-limit headers the system sent are
    ///   reported as they came, beside what the documentation says.
    static func check(
        _ system: String, _ connection: String, advice: Advice, stats: TransportStats, _ body: (inout Result) async throws -> Void
    ) async -> Result {
        let started = ContinuousClock.now
        var result = Result(system: system, connection: connection)
        do {
            try await body(&result)
        } catch let error as SyncError {
            let category = category(of: error.code)
            result.reachable = result.reachable || (category != .connect && category != .configuration)
            result.failure = Failure(category: category, message: error.message, nextStep: advice.text(for: category, error))
        } catch {
            result.failure = Failure(category: .unexpectedResponse, message: "\(error)", nextStep: advice.unexpectedResponse)
        }
        result.latencyMilliseconds = Int((ContinuousClock.now - started).timeInterval * 1000)
        result.ok = result.failure == nil && result.authenticated
        let reported = stats.rateLimitHeaders.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        if !reported.isEmpty {
            let headers = "headers: " + reported.joined(separator: ", ")
            result.rateLimit = result.rateLimit.map { "\($0); \(headers)" } ?? headers
        }
        return result
    }

    /// A transport that tries once: a ping reports a 429 instead of waiting it out.
    static func transport(_ http: HTTPClient, system: String, logger: Logger, clock: any SyncClock) -> HTTPTransport {
        HTTPTransport(
            http: http, system: system, clock: clock, policy: BackoffPolicy(maxAttempts: 1), timeout: .seconds(15), logger: logger,
            stats: TransportStats(recordsRateLimitHeaders: true))
    }

    /// Whether a URL points at this machine (a simulator, a tunnel to a test system).
    static func isLocal(_ url: String) -> Bool { url.contains("://127.0.0.1") || url.contains("://localhost") || url.contains("://[::1]") }

    /// Pings one configured target.
    public static func run(_ target: PingTarget, http: HTTPClient, logger: Logger, clock: any SyncClock = SystemClock()) async -> Result {
        switch target.endpoint {
        case .failure(let error):
            var result = Result(system: target.system, connection: target.connection)
            result.failure = Failure(category: category(of: error.code), message: error.message, nextStep: configurationAdvice)
            return result
        case .success(.syspro(let connection)): return await syspro(connection, name: target.connection, http: http, logger: logger, clock: clock)
        case .success(.procore(let connection)): return await procore(connection, name: target.connection, http: http, logger: logger, clock: clock)
        case .success(.cin7(let connection)): return await cin7(connection, name: target.connection, http: http, logger: logger, clock: clock)
        case .success(.procurify(let connection)): return await procurify(connection, name: target.connection, http: http, logger: logger, clock: clock)
        case .success(.sapb1(let connection)): return await sapb1(connection, name: target.connection, http: http, logger: logger, clock: clock)
        case .success(.cloudsuite(let connection)): return await cloudsuite(connection, name: target.connection, http: http, logger: logger, clock: clock)
        }
    }

    /// Pings every target at once (each system's latency is its own), results in target order.
    public static func all(_ targets: [PingTarget], http: HTTPClient, logger: Logger, clock: any SyncClock = SystemClock()) async -> [Result] {
        await withTaskGroup(of: (Int, Result).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask { (index, await run(target, http: http, logger: logger, clock: clock)) }
            }
            var results: [(Int, Result)] = []
            for await item in group { results.append(item) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    // MARK: SYSPRO

    /// SYSPRO: e.net logon, a one-row OData read, logoff.
    public static func syspro(_ connection: SysproConnection, name: String, http: HTTPClient, logger: Logger, clock: any SyncClock = SystemClock()) async -> Result {
        let advice = Advice(
            connect: "Check that \(connection.enetBase) and \(connection.odataRoot) are reachable from here (host, port, firewall, TLS certificate)",
            badCredentials: "Check the operator code and password (the operator needs an e.net licence) and the OData password generated in SYSPRO Operator Maintenance",
            wrongTenant: "Check the company id (and company password); the OData root URL ends with it, e.g. …/SYSPROOData/\(connection.companyID)",
            missingPermission: "Give the operator access to the purchase order and AP tables in SYSPRO",
            rateLimited: "Try again in a few minutes",
            unexpectedResponse: "Check that the URLs point at SYSPRO's e.net REST service and OData service, not a proxy or login page")
        let sysproTransport = transport(http, system: "syspro", logger: logger, clock: clock)
        let client = SysproClient(connection: connection, transport: sysproTransport)
        let result = await check("syspro", name, advice: advice, stats: sysproTransport.stats) { result in
            let company = connection.companyID.uppercased()
            result.looksLikeSandbox = ["EDU", "TEST", "DEMO", "SANDBOX", "TRAIN"].contains { company.contains($0) }
            try await client.logon()
            result.reachable = true
            let page = try await client.odata("PorMasterHdr", select: ["PurchaseOrder"], top: 1)
            result.authenticated = true
            result.read = "OData PorMasterHdr: \(page.rows.count) row(s) (top 1)"
            result.session = "e.net session until logoff or the site's idle timeout; logged off"
        }
        await client.logoff()
        return result
    }

    // MARK: Procore

    /// Procore: client-credentials token, the company among those that installed the app, one
    /// page of its projects.
    public static func procore(_ connection: ProcoreConnection, name: String, http: HTTPClient, logger: Logger, clock: any SyncClock = SystemClock()) async -> Result {
        let advice = Advice(
            connect: "Check that \(connection.loginBase) and \(connection.apiBase) are reachable from here",
            badCredentials: "Check the client id and secret; sandbox and production credentials differ, and so do their login hosts",
            wrongTenant: "Use one of the listed company ids, or install the app in company \(connection.companyID) through the Procore App Marketplace",
            missingPermission: "Give the service account access to the projects (and tools) it must sync",
            rateLimited: "Wait until the rate-limit window resets, then ping again",
            unexpectedResponse: "Check that the URLs point at Procore's login and API hosts (production https://api.procore.com, sandbox https://sandbox.procore.com), not a proxy or an HTML page")
        let procoreTransport = transport(http, system: "procore", logger: logger, clock: clock)
        let client = ProcoreClient(connection: connection, transport: procoreTransport)
        // Procore's X-Rate-Limit-* figures come formatted from the client below; an empty
        // counter keeps check(…) from listing the same headers a second time.
        return await check("procore", name, advice: advice, stats: TransportStats()) { result in
            result.looksLikeSandbox = connection.apiBase.contains("sandbox") || connection.apiBase.contains("monthly")
                || connection.loginBase.contains("sandbox") || isLocal(connection.apiBase)
            try await client.refreshToken()
            result.reachable = true
            result.authenticated = true
            result.tokenLifetimeSeconds = await client.tokenLifetime.map { Int($0) }
            if let warning = await client.clockSkewWarning { result.warnings.append(warning) }
            let companies = try await client.list("/rest/v1.0/companies", query: [], what: "companies")
            let ids = companies.compactMap { $0["id"]?.doubleValue.map { Int64($0) } }
            guard ids.contains(connection.companyID) else {
                throw SyncError(.wrongTenant, "company \(connection.companyID) is not among the companies that installed this app (\(ids.map(String.init).joined(separator: ", ")))")
            }
            let reply = try await client.call("GET", "/rest/v1.0/projects", query: [("company_id", String(connection.companyID)), ("per_page", "1")])
            if let rate = await client.rateLimit {
                // Procore reports whichever window is closer to running out; a reset ≤ 10 s away is the spike window
                let window = rate.reset - Int(clock.now().timeIntervalSince1970) <= 10 ? "10-second spike window" : "hourly window"
                result.rateLimit = "\(rate.remaining)/\(rate.limit) requests left in the \(window), resets at \(rate.reset)"
            }
            switch reply.status {
            case 200: result.read = "company \(connection.companyID): \(reply.header("Total") ?? "?") project(s) visible"
            case 403: throw SyncError(.forbidden, "Procore answered 403 to the project list: \(reply.excerpt)")
            case 429: throw SyncError(.rateLimited, "Procore answered 429")
            default: throw SyncError(.unexpectedResponse, "Procore answered \(reply.status): \(reply.excerpt)")
            }
        }
    }

    // MARK: Cin7 Core

    /// Cin7 Core: the two API headers against `GET /me`, then one page of suppliers.
    public static func cin7(_ connection: Cin7Connection, name: String, http: HTTPClient, logger: Logger, clock: any SyncClock = SystemClock()) async -> Result {
        let advice = Advice(
            connect: "Check that \(connection.baseURL) is reachable from here",
            badCredentials: "Copy the Account ID and the Application Key again from Integrations → API in Cin7 Core",
            wrongTenant: "Check the Account ID: it names the Cin7 Core account",
            missingPermission: "Enable the API application in Cin7 Core (Integrations → API)",
            rateLimited: "Another integration may share this API application; wait a minute and ping again",
            unexpectedResponse: "Check the base URL: https://inventory.dearsystems.com/ExternalApi/v2")
        let cin7Transport = transport(http, system: "cin7", logger: logger, clock: clock)
        let client = Cin7Client(connection: connection, transport: cin7Transport)
        return await check("cin7", name, advice: advice, stats: cin7Transport.stats) { result in
            result.looksLikeSandbox = isLocal(connection.baseURL)
            let me = try await client.me()
            result.reachable = true
            result.authenticated = true
            let page = try await client.suppliers(page: 1, limit: 1)
            result.read = "\(me["Company"]?.stringValue ?? "company profile"); \(page.total) supplier(s)"
            result.session = "API keys do not expire; revoked in Cin7 Core under Integrations → API"
            result.rateLimit = "60 calls per minute per API application (documented)"
        }
    }

    // MARK: Procurify

    /// Procurify: client-credentials token, the API user (`users/me`), one page of currencies.
    public static func procurify(_ connection: ProcurifyConnection, name: String, http: HTTPClient, logger: Logger, clock: any SyncClock = SystemClock()) async -> Result {
        let advice = Advice(
            connect: "Check that \(connection.baseURL) (your domain's own host) and the token URL are reachable from here",
            badCredentials: "Create or copy the client id and secret in Procurify under Settings → Integrations → API; the secret is shown once",
            wrongTenant: "Check the domain in the base URL: https://{domain}.procurify.com",
            missingPermission: "The API application acts as the user who created it; give that user the permissions (or create the app as an admin)",
            rateLimited: "Procurify throttled the calls; wait and ping again (heavy loads can get API access suspended)",
            unexpectedResponse: "Check the base URL: https://{domain}.procurify.com, without /api")
        let procurifyTransport = transport(http, system: "procurify", logger: logger, clock: clock)
        let client = ProcurifyClient(connection: connection, transport: procurifyTransport)
        return await check("procurify", name, advice: advice, stats: procurifyTransport.stats) { result in
            result.looksLikeSandbox = isLocal(connection.baseURL) || ["sandbox", "demo", "test"].contains { connection.baseURL.lowercased().contains($0) }
            try await client.refreshToken()
            result.reachable = true
            result.authenticated = true
            result.tokenLifetimeSeconds = await client.tokenLifetime.map { Int($0) }
            let user = try await client.me()
            let currencies = try await client.page("/api/v2/currencies/", query: [("page_size", "1")])
            let base = currencies.items.first { $0["base"]?.boolValue == true }?["name"]?.stringValue
            result.read = "API user \(user["email"]?.stringValue ?? "?"); \(currencies.count) currenc\(currencies.count == 1 ? "y" : "ies")"
                + (base.map { ", base \($0)" } ?? "")
            result.session = "bearer token, no refresh token; a new one is requested before expiry"
            result.rateLimit = "no figures published (Procurify may suspend abusive clients)"
        }
    }

    // MARK: SAP Business One

    /// SAP B1: Service Layer login, `CompanyService_GetAdminInfo`, logout.
    public static func sapb1(_ connection: SAPB1Connection, name: String, http: HTTPClient, logger: Logger, clock: any SyncClock = SystemClock()) async -> Result {
        let advice = Advice(
            connect: "Check that \(connection.serviceRoot) is reachable from here (Service Layer port, usually 50000, firewall, TLS certificate)",
            badCredentials: "Check the company database (\(connection.companyDB)), the user name and the password: SAP answers all three alike",
            wrongTenant: "Check the company database name (\(connection.companyDB))",
            missingPermission: "Give the SAP user the authorizations the flow needs (General Authorizations in SAP B1)",
            rateLimited: "The Service Layer is overloaded; try again later",
            unexpectedResponse: "Check the service root: https://host:50000/b1s/v1 (or /b1s/v2), not the SLD or a proxy")
        let sapTransport = transport(http, system: "sapb1", logger: logger, clock: clock)
        let client = SAPB1Client(connection: connection, transport: sapTransport)
        let result = await check("sapb1", name, advice: advice, stats: sapTransport.stats) { result in
            let company = connection.companyDB.uppercased()
            result.looksLikeSandbox = ["TEST", "DEMO", "SANDBOX", "TRAIN", "QA"].contains { company.contains($0) }
            try await client.login()
            result.reachable = true
            result.authenticated = true
            let info = try await client.adminInfo()
            let currency = info["LocalCurrency"]?.stringValue.map { ", local currency \($0)" } ?? ""
            let accuracy = info["TotalsAccuracy"]?.doubleValue.map { ", totals to \(Int($0)) decimals" } ?? ""
            result.read = "company \(info["CompanyName"]?.stringValue ?? connection.companyDB)\(currency)\(accuracy)"
            let timeout = await client.sessionTimeoutMinutes.map { "\($0) min idle timeout" } ?? "idle timeout not reported"
            let version = await client.version.map { ", Service Layer version \($0)" } ?? ""
            result.session = "B1SESSION cookie, \(timeout)\(version); logged out"
        }
        await client.logout()
        return result
    }

    // MARK: Infor CloudSuite

    /// CloudSuite: a token from the `.ionapi` file's token server, one `CRS620MI/LstSuppliers`
    /// record through the gateway, then the token revoked.
    public static func cloudsuite(_ connection: CloudSuiteConnection, name: String, http: HTTPClient, logger: Logger, clock: any SyncClock = SystemClock()) async -> Result {
        let file = connection.ionapi
        let advice = Advice(
            connect: "Check that \(file.gatewayBase) and the token server in the .ionapi file are reachable from here",
            badCredentials: "Download the .ionapi file again (Backend Service app with a service account) and store it anew; the app or its service account may have been regenerated",
            wrongTenant: "Check the M3 company (CONO) of the connection and that the service user may run in it; check ti in the .ionapi file",
            missingPermission: "Give the service account's M3 user access to CRS620MI",
            rateLimited: "The ION API gateway quota is spent; wait a minute and ping again",
            unexpectedResponse: "Check iu (the ION API gateway URL) in the .ionapi file")
        let cloudTransport = transport(http, system: "cloudsuite", logger: logger, clock: clock)
        let client = CloudSuiteClient(connection: connection, transport: cloudTransport)
        let result = await check("cloudsuite", name, advice: advice, stats: cloudTransport.stats) { result in
            let tenant = file.tenant.uppercased()
            result.looksLikeSandbox = isLocal(file.gatewayBase) || ["_TST", "_DEV", "_TRN", "_DEM"].contains { tenant.hasSuffix($0) }
            try await client.logIn()
            result.reachable = true
            result.authenticated = true
            result.tokenLifetimeSeconds = await client.tokenLifetime.map { Int($0) }
            let answer = try await client.execute("CRS620MI", "LstSuppliers", maxRecords: 1)
            if let error = answer.error {
                let code: SyncError.Code = error.code == "XAU0008" ? .wrongTenant : (error.type == "TransactionNotFound" ? .forbidden : .unexpectedResponse)
                throw SyncError(code, "M3 refused CRS620MI/LstSuppliers: \(error)")
            }
            let company = answer.records.first?["CONO"] ?? connection.company.map(String.init) ?? "default"
            result.read = "tenant \(file.tenant), company \(company): CRS620MI/LstSuppliers returned \(answer.records.count) record(s) (maxrecs 1)"
            result.session = "bearer token\(await client.hasRefreshToken ? " with a refresh token" : ", no refresh token (the app does not issue them)"); revoked after the ping"
            result.rateLimit = "gateway quota per app, set by the tenant (no figures published)"
        }
        await client.revoke()
        return result
    }

    public static func describe(_ result: Result) -> String {
        var lines = ["\(result.ok ? "OK  " : "FAIL") \(result.system) (\(result.connection)) in \(result.latencyMilliseconds) ms"]
        lines.append("     reachable \(result.reachable ? "yes" : "no"), authenticated \(result.authenticated ? "yes" : "no")"
            + (result.looksLikeSandbox.map { ", looks like a \($0 ? "sandbox" : "production system")" } ?? ""))
        if let read = result.read { lines.append("     read: \(read)") }
        if let lifetime = result.tokenLifetimeSeconds { lines.append("     token lifetime: \(lifetime) s") }
        if let session = result.session { lines.append("     session: \(session)") }
        if let rate = result.rateLimit { lines.append("     rate limit: \(rate)") }
        for warning in result.warnings { lines.append("     warning: \(warning)") }
        if let failure = result.failure {
            lines.append("     problem (\(failure.category.rawValue)): \(failure.message)")
            lines.append("     next step: \(failure.nextStep)")
        }
        return lines.joined(separator: "\n")
    }
}
