import Foundation
import SimulatorKit
import SyncEngine

/// SAP Business One Service Layer state for the credential check and the master-data reads:
/// company databases with their users, sessions with the idle timeout, AdminInfo, and the
/// entity sets flow 002 reads (`BusinessPartners`, `Projects`, `ChartOfAccounts`,
/// `ProfitCenters`). See `../shared/apis/sapb1.md` and COVERAGE.md.
public actor SAPB1Backend {
    public struct User: Sendable, Codable, Equatable {
        public var userName: String
        public var password: String
        public init(userName: String, password: String) {
            self.userName = userName
            self.password = password
        }
    }

    public struct Company: Sendable, Codable, Equatable {
        public var companyDB: String
        public var companyName: String
        public var localCurrency: String?
        public var totalsAccuracy: Int?
        public var users: [User]
        /// Posting periods (Administration › System Initialization › Posting Periods): a posting
        /// date outside all of them, or in a locked one, is refused. None configured: any date.
        public var postingPeriods: [PostingPeriod]?
    }

    /// One posting period: `from`…`to` (days, inclusive) and its status — `unlocked`,
    /// `unlockedExceptSales`, `closing` or `locked` (SAP's period statuses).
    public struct PostingPeriod: Sendable, Codable, Equatable {
        public var code: String
        public var from: String
        public var to: String
        public var status: String
    }

    public struct Settings: Sendable, Codable, Equatable {
        /// `SessionTimeout` in minutes, an idle timeout renewed by every request.
        public var sessionTimeoutMinutes = 30
        public var version = "1000190"
        /// Server page size (`PageSize` in b1s.conf).
        public var pageSize = 20
        /// The login-failure code: -304 ("Fail to get DB Credentials from SLD", older releases)
        /// or 100000027 ("Login failed", 10.0 hosted docs).
        public var loginFailureCode = -304
        /// Serve the 401/301 body in the v4 shape on /b1s/v1 too (seen in a production log).
        public var v4ErrorsOnV1 = false
        /// User-defined fields that exist (documents carry them as properties); any other `U_`
        /// property in a write is refused, as SAP does until the field is created.
        public var userFields = ["U_PROCORE_ID"]
        public init() {}
    }

    struct Session {
        var companyDB: String
        var userName: String
        var lastUsed: Date
    }

    public var settings = Settings()
    var companies: [Company] = []
    /// Entity set → rows, per company database.
    var sets: [String: [String: [JSONValue]]] = [:]
    var sessions: [String: Session] = [:]
    public private(set) var logins = 0
    public private(set) var logouts = 0
    let clock: any SyncClock

    public init(clock: any SyncClock) { self.clock = clock }

    public func setSettings(_ settings: Settings) { self.settings = settings }

    public var openSessions: Int { sessions.count }

    public func reset() {
        companies = []
        sets = [:]
        sessions = [:]
        settings = Settings()
    }

    public func killSessions() { sessions = [:] }

    /// `{"companies":[{"companyDB","companyName","localCurrency","totalsAccuracy","users":[…]}],
    /// "data": {"<CompanyDB>": {"BusinessPartners": […], "Projects": […], …}}, "settings": {…}}`.
    public func seed(_ data: JSONValue) throws {
        if let raw = data["companies"] {
            companies += try JSONDecoder().decode([Company].self, from: JSONEncoder().encode(raw))
        }
        for (company, entities) in data["data"]?.objectValue ?? [:] {
            for (set, rows) in entities.objectValue ?? [:] { sets[company, default: [:]][set, default: []] += rows.arrayValue ?? [] }
        }
        if let raw = data["settings"] { settings = try raw.applied(to: settings) }
    }

    enum LoginOutcome { case ok(id: String), refused }

    func login(companyDB: String, userName: String, password: String) -> LoginOutcome {
        // Company names are case-insensitive in SLD; user names and passwords are not.
        guard let company = companies.first(where: { $0.companyDB.uppercased() == companyDB.uppercased() }),
            company.users.contains(where: { $0.userName == userName && $0.password == password })
        else { return .refused }
        let id = UUID().uuidString.lowercased()
        sessions[id] = Session(companyDB: company.companyDB, userName: userName, lastUsed: clock.now())
        logins += 1
        return .ok(id: id)
    }

    /// The company of a live session, renewing its idle timer; `nil` for an unknown or timed-out one.
    func touch(_ id: String?) -> String? {
        guard let id, var session = sessions[id] else { return nil }
        let now = clock.now()
        guard now.timeIntervalSince(session.lastUsed) < TimeInterval(settings.sessionTimeoutMinutes * 60) else {
            sessions[id] = nil
            return nil
        }
        session.lastUsed = now
        sessions[id] = session
        return session.companyDB
    }

    func logout(_ id: String) {
        if sessions.removeValue(forKey: id) != nil { logouts += 1 }
    }

    func company(_ db: String) -> Company? { companies.first { $0.companyDB == db } }
    func rows(_ db: String, _ set: String) -> [JSONValue]? { sets[db]?[set] }
}
