import Foundation
import SimulatorKit
import SyncEngine

/// Infor CloudSuite (M3 behind the ION API gateway) state for the credential check and the
/// supplier reads: one tenant, its authorized apps (client id/secret + service-account key pair,
/// the companies each may use), the token server, and CRS620MI supplier records per company.
/// See `../shared/apis/cloudsuite.md` and COVERAGE.md.
public actor CloudSuiteBackend {
    /// A Backend Service app with its service account, as the `.ionapi` file carries it.
    public struct App: Sendable, Codable, Equatable {
        public var clientId: String
        public var clientSecret: String
        public var accessKey: String
        public var secretKey: String
        /// M3 companies (`CONO`) the service user may run in; the first is its default.
        public var companies: [Int]
        public init(clientId: String, clientSecret: String, accessKey: String, secretKey: String, companies: [Int]) {
            self.clientId = clientId
            self.clientSecret = clientSecret
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.companies = companies
        }
    }

    public struct Settings: Sendable, Codable, Equatable {
        public var tenant = "ACME_TST"
        /// `expires_in` of access tokens (the app's setting; default 2 h).
        public var tokenLifetimeSeconds = 7_200
        /// Whether the app has "Issue Refresh Tokens" on.
        public var issueRefreshTokens = true
        /// Gateway quota per client id per minute (seed: 100–500; ≤ 0 = unlimited).
        public var callsPerMinute = 300
        /// Records returned when the caller sends no `maxrecs`.
        public var defaultMaxRecords = 100
        /// Alphanumeric output values come padded with blanks to their M3 field length unless
        /// the caller sends `righttrim=true` (generated M3 clients default to asking for the trim,
        /// which only makes sense if the server pads without it); `true` trims by default.
        public var rightTrimByDefault = false
        public init() {}
    }

    public var settings = Settings()
    var apps: [App] = []
    /// `CONO` → supplier records (flat string fields, as M3 returns them).
    var suppliers: [Int: [[String: String]]] = [:]
    /// PPS370MI entries not yet finished, by message number.
    var entries: [String: StagedEntry] = [:]
    /// `CONO` → `PUNO` → the purchase order's head fields and lines.
    var purchaseOrders: [Int: [String: (head: [String: String], lines: [[String: String]])]] = [:]
    /// `CONO` → `INBN` → the supplier invoice batch's head and lines.
    var invoices: [Int: [String: (head: [String: String], lines: [[String: String]])]] = [:]
    /// `CONO` → supplier ledger rows (`FPLEDG`, `EP`-prefixed columns): payments registered by
    /// ``recordPayment(company:division:supplier:invoice:amount:currency:paidOn:)``.
    var ledger: [Int: [[String: String]]] = [:]
    /// `CONO` → the supplier template: the defaults a new supplier takes for every field
    /// `AddSupplier` leaves out (a real tenant's template supplier / settings; without one, every
    /// field M3 flags mandatory must be sent).
    var supplierTemplates: [Int: [String: String]] = [:]
    /// `CONO` → facilities (`FACI`), warehouses (`WHLO` with their `FACI`) and items (`ITNO`).
    var facilities: [Int: [[String: String]]] = [:]
    var warehouses: [Int: [[String: String]]] = [:]
    var items: [Int: [[String: String]]] = [:]
    /// `CONO` → accounting dimension (1…7) → its accounting identities (the chart: accounts for
    /// dimension 1, cost centres and the rest after it). A dimension without a chart takes any value.
    var accountingIdentities: [Int: [Int: Set<String>]] = [:]
    /// Numbers handed out (message, PO, invoice batch), one counter as M3's number series.
    var nextNumber = 0
    let tokens = TokenIssuer(prefix: "eyJhbGciOiJSUzI1NiIsImtpZCI6InNpbSJ9.")
    let limiter = WindowLimiter()
    let clock: any SyncClock

    public init(clock: any SyncClock) { self.clock = clock }

    public func setSettings(_ settings: Settings) { self.settings = settings }

    /// What a company holds (tests, scenarios): suppliers, finished purchase orders with their
    /// lines, supplier invoice batches with theirs, and PPS370MI entries not finished.
    public func allSuppliers(company: Int) -> [[String: String]] { suppliers[company] ?? [] }
    public func allPurchaseOrders(company: Int) -> [(number: String, head: [String: String], lines: [[String: String]])] {
        (purchaseOrders[company] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value.head, $0.value.lines) }
    }
    public func allInvoices(company: Int) -> [(batch: String, head: [String: String], lines: [[String: String]])] {
        (invoices[company] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value.head, $0.value.lines) }
    }
    public var stagedEntries: Int { entries.count }

    public func reset() {
        apps = []
        suppliers = [:]
        entries = [:]
        purchaseOrders = [:]
        invoices = [:]
        ledger = [:]
        supplierTemplates = [:]
        facilities = [:]
        warehouses = [:]
        items = [:]
        accountingIdentities = [:]
        nextNumber = 0
        settings = Settings()
        tokens.expireAll()
        limiter.reset()
    }

    /// Adds an accounting identity (scenarios: an account created in M3 after a line was refused).
    public func addAccountingIdentity(company: Int, dimension: Int, _ value: String) {
        accountingIdentities[company, default: [:]][dimension, default: []].insert(value)
    }

    /// `{"apps":[…], "suppliers":{"100":[{"SUNO":…,"SUNM":…}]}, "supplierTemplates":{"100":{…}},
    /// "accountingIdentities":{"100":{"1":["4010"],"2":["CC10"]}},
    /// "facilities":{"100":[{"FACI":…}]}, "warehouses":{…}, "items":{…}, "settings":{…}}`.
    public func seed(_ data: JSONValue) throws {
        if let raw = data["apps"] {
            apps += try JSONDecoder().decode([App].self, from: JSONEncoder().encode(raw))
        }
        func record(_ row: JSONValue) -> [String: String] {
            var record: [String: String] = [:]
            for (key, value) in row.objectValue ?? [:] { record[key] = value.stringValue ?? value.canonicalJSON() }
            return record
        }
        func perCompany(_ key: String, _ each: (Int, JSONValue) -> Void) throws {
            for (company, rows) in data[key]?.objectValue ?? [:] {
                guard let cono = Int(company) else { throw SyncError(.invalidConfig, "\(key): company '\(company)' is not a number") }
                each(cono, rows)
            }
        }
        try perCompany("suppliers") { cono, rows in suppliers[cono, default: []] += (rows.arrayValue ?? []).map(record) }
        try perCompany("facilities") { cono, rows in facilities[cono, default: []] += (rows.arrayValue ?? []).map(record) }
        try perCompany("warehouses") { cono, rows in warehouses[cono, default: []] += (rows.arrayValue ?? []).map(record) }
        try perCompany("items") { cono, rows in items[cono, default: []] += (rows.arrayValue ?? []).map(record) }
        try perCompany("supplierTemplates") { cono, fields in supplierTemplates[cono] = record(fields) }
        try perCompany("accountingIdentities") { cono, dimensions in
            for (dimension, values) in dimensions.objectValue ?? [:] {
                guard let number = Int(dimension), (1...7).contains(number) else { continue }
                accountingIdentities[cono, default: [:]][number, default: []].formUnion((values.arrayValue ?? []).compactMap(\.stringValue))
            }
        }
        if let raw = data["settings"] { settings = try raw.applied(to: settings) }
    }

    func app(clientId: String?, secret: String?) -> App? { apps.first { $0.clientId == clientId && $0.clientSecret == secret } }
    func app(clientId: String) -> App? { apps.first { $0.clientId == clientId } }
    func supplierList(_ company: Int) -> [[String: String]] { (suppliers[company] ?? []).sorted { $0["SUNO", default: ""] < $1["SUNO", default: ""] } }
}
