import Foundation
import SimulatorKit
import SyncEngine

/// Cin7 Core's state for the credential check and the reads that come first: API applications
/// (account id + application key), the company profile, suppliers and the chart of accounts.
/// See `../shared/apis/cin7.md` and COVERAGE.md.
public actor Cin7Backend {
    public struct Application: Sendable, Codable, Equatable {
        public var accountId: String
        public var applicationKey: String
        public init(accountId: String, applicationKey: String) {
            self.accountId = accountId
            self.applicationKey = applicationKey
        }
    }

    public struct Settings: Sendable, Codable, Equatable {
        /// Calls per minute per API application (Cin7: 60).
        public var callsPerMinute = 60
        /// The status answered past the limit: Cin7's own table says 503, several clients see 429.
        public var throttleStatus = 503
        public init() {}
    }

    public var settings = Settings()
    var applications: [Application] = []
    var company: [String: JSONValue] = ["Company": "Acme Builders Supply", "Currency": "USD", "TimeZone": "Pacific Standard Time"]
    var suppliers: [JSONValue] = []
    var accounts: [JSONValue] = []
    private var windows: [String: (start: Date, count: Int)] = [:]
    private let clock: any SyncClock

    public init(clock: any SyncClock) { self.clock = clock }

    public func setSettings(_ settings: Settings) { self.settings = settings }

    public func reset() {
        applications = []
        suppliers = []
        accounts = []
        windows = [:]
        settings = Settings()
    }

    /// `{"applications":[{"accountId","applicationKey"}], "company":{…}, "suppliers":[…],
    /// "chartOfAccounts":[…], "settings":{…}}`.
    public func seed(_ data: JSONValue) throws {
        if let raw = data["applications"] {
            applications += try JSONDecoder().decode([Application].self, from: JSONEncoder().encode(raw))
        }
        if let profile = data["company"]?.objectValue { company.merge(profile) { _, new in new } }
        suppliers += data["suppliers"]?.arrayValue ?? []
        accounts += data["chartOfAccounts"]?.arrayValue ?? []
        if let raw = data["settings"] { settings = try raw.applied(to: settings) }
    }

    enum Verdict { case ok, forbidden, throttled }

    /// Checks the two auth headers and counts the call against the application's minute.
    func admit(accountID: String?, key: String?) -> Verdict {
        guard let accountID, let key,
            applications.contains(where: { $0.accountId.lowercased() == accountID.lowercased() && $0.applicationKey.lowercased() == key.lowercased() })
        else { return .forbidden }
        let now = clock.now()
        var window = windows[key.lowercased()] ?? (now, 0)
        if now.timeIntervalSince(window.start) >= 60 { window = (now, 0) }
        window.count += 1
        windows[key.lowercased()] = window
        return window.count > settings.callsPerMinute ? .throttled : .ok
    }

    func page(_ items: [JSONValue], key: String, page: Int, limit: Int) -> JSONValue {
        let start = min(items.count, (page - 1) * limit)
        let fields: [String: JSONValue] = [
            "Total": .number(Double(items.count)), "Page": .number(Double(page)),
            key: .array(Array(items[start..<min(items.count, start + limit)])),
        ]
        return .object(fields)
    }

    var profile: JSONValue { .object(company) }
    var supplierList: [JSONValue] { suppliers }
    var accountList: [JSONValue] { accounts }
}

/// The Cin7 Core simulator: `/ExternalApi/v2/…` matched case-insensitively (query names too),
/// `api-auth-accountid` + `api-auth-applicationkey` on every call, errors as
/// `[{"ErrorCode":…,"Exception":…}]`, 60 calls per minute per application.
public struct Cin7Simulator: BackedSimulator {
    public let name = "cin7"
    public let backend: Cin7Backend
    public static let root = "/ExternalApi/v2"

    public init(clock: any SyncClock) { backend = Cin7Backend(clock: clock) }


    static func error(_ status: Int, _ text: String) -> SimResponse {
        .json(status, [["ErrorCode": .number(Double(status)), "Exception": .string(text)]])
    }

    public func handle(_ request: SimRequest) async -> SimResponse {
        let lower = request.path.lowercased()
        let prefix = Self.root.lowercased() + "/"
        guard lower.hasPrefix(prefix) else { return SimResponse(status: 404, headers: [("Content-Type", "text/html")], body: Data("<h1>Not Found</h1>".utf8)) }
        switch await backend.admit(accountID: request.header("api-auth-accountid"), key: request.header("api-auth-applicationkey")) {
        case .forbidden: return Self.error(403, "Incorrect credentials!")
        case .throttled:
            let status = await backend.settings.throttleStatus
            return Self.error(status, "You reached 60 calls per minute API limit")
        case .ok: break
        }
        let endpoint = String(lower.dropFirst(prefix.count))
        let page = max(1, Int(request.queryValueIgnoringCase("Page") ?? "") ?? 1)
        let limit = min(1000, max(1, Int(request.queryValueIgnoringCase("Limit") ?? "") ?? 100))
        guard request.method == "GET" else { return Self.error(405, "Method not allowed") }
        switch endpoint {
        case "me": return .json(200, await backend.profile)
        case "supplier":
            var list = await backend.supplierList
            if let name = request.queryValueIgnoringCase("Name") {
                list = list.filter { $0["Name"]?.stringValue?.lowercased().contains(name.lowercased()) == true }
            }
            return .json(200, await backend.page(list, key: "SupplierList", page: page, limit: limit))
        case "ref/account": return .json(200, await backend.page(await backend.accountList, key: "AccountsList", page: page, limit: limit))
        default: return SimResponse(status: 404, headers: [("Content-Type", "text/html")], body: Data("<h1>Not Found</h1>".utf8))
        }
    }

    public func apply(_ action: FaultAction) async {}
    public func reset() async { await backend.reset() }
    public func seed(_ data: JSONValue) async throws { try await backend.seed(data) }
}
