import Foundation
import SimulatorKit
import SyncEngine

/// Procurify's state for the credential check and the reference reads that come first: API
/// applications (client credentials, the user behind each), the reference lists (currencies,
/// vendors, account codes, departments). See `../shared/apis/procurify.md` and COVERAGE.md.
public actor ProcurifyBackend {
    /// An API application: client credentials and the Procurify user it acts as.
    public struct Application: Sendable, Codable, Equatable {
        public var clientId: String
        public var clientSecret: String
        public var email: String
        /// `false` = the user behind the app lacks permissions: every API call answers 403.
        public var permitted: Bool?
        public init(clientId: String, clientSecret: String, email: String, permitted: Bool? = nil) {
            self.clientId = clientId
            self.clientSecret = clientSecret
            self.email = email
            self.permitted = permitted
        }
    }

    public struct Settings: Sendable, Codable, Equatable {
        /// `expires_in` of issued tokens (Procurify: 24 h).
        public var tokenLifetimeSeconds = 86_400
        /// The customer's sub-domain, named in the token's scope.
        public var domain = "acme"
        /// Page size when the client sends none (examples show 10) and the largest one served.
        public var defaultPageSize = 10
        public var maxPageSize = 100
        /// Calls per minute per application before 429 (undocumented; ≤ 0 = unlimited).
        public var callsPerMinute = 600
        public init() {}
    }

    public var settings = Settings()
    var applications: [Application] = []
    /// Reference lists by resource path (`/api/v2/currencies`, `/api/v3/vendors`, …).
    var lists: [String: [JSONValue]] = [:]
    /// Purchase orders with their `order_items` (detail shape), in `procurify_PO` order.
    var purchaseOrders: [JSONValue] = []
    /// Bills with their full `items` (detail shape).
    var bills: [JSONValue] = []
    let tokens = TokenIssuer(prefix: "eyJhbGciOiJSUzI1NiJ9.")
    let limiter = WindowLimiter()
    let clock: any SyncClock

    public init(clock: any SyncClock) { self.clock = clock }

    public func setSettings(_ settings: Settings) { self.settings = settings }

    public func reset() {
        applications = []
        lists = [:]
        purchaseOrders = []
        bills = []
        settings = Settings()
        tokens.expireAll()
        limiter.reset()
    }

    /// `{"applications":[…], "currencies":[…], "vendors":[…], "accountCodes":[…], "departments":[…],
    /// "purchaseOrders":[PO with order_items…], "bills":[bill with items…], "settings":{…}}` — records in
    /// the shapes of procurify.md §4 and §6 (detail shape; lists are derived from it).
    public func seed(_ data: JSONValue) throws {
        if let raw = data["applications"] {
            applications += try JSONDecoder().decode([Application].self, from: JSONEncoder().encode(raw))
        }
        for (key, path) in Self.listPaths { lists[path, default: []] += data[key]?.arrayValue ?? [] }
        purchaseOrders += data["purchaseOrders"]?.arrayValue ?? []
        purchaseOrders.sort { ($0["procurify_PO"]?.doubleValue ?? 0) < ($1["procurify_PO"]?.doubleValue ?? 0) }
        bills += data["bills"]?.arrayValue ?? []
        if let raw = data["settings"] { settings = try raw.applied(to: settings) }
    }

    static let listPaths = [
        ("currencies", "/api/v2/currencies"), ("vendors", "/api/v3/vendors"), ("accountCodes", "/api/v3/account-codes"),
        ("departments", "/api/v3/departments"), ("payments", "/api/public/v1/payments"),
    ]

    func application(id: String?, secret: String?) -> Application? {
        applications.first { $0.clientId == id && $0.clientSecret == secret }
    }

    func application(id: String) -> Application? { applications.first { $0.clientId == id } }

    public func list(_ path: String) -> [JSONValue]? { lists[path] }
}
