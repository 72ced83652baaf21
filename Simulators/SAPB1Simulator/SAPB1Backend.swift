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

    /// A refused write: SAP's code and text.
    struct Refusal: Error {
        var code: Int
        var text: String
    }

    /// Adds a purchase invoice or journal entry the way the Service Layer validates it: the
    /// business partner must be a supplier, GL accounts active, projects and profit centers known,
    /// `U_` fields created, a journal entry balanced. Assigns the keys and rounds computed totals to
    /// the company's `TotalsAccuracy` (half away from zero).
    func add(_ set: String, company db: String, body: [String: JSONValue]) -> Result<JSONValue, Refusal> {
        let accuracy = company(db)?.totalsAccuracy ?? 2
        func round(_ value: Double) -> Double {
            let scale = pow(10.0, Double(accuracy))
            return (abs(value) * scale).rounded(.toNearestOrAwayFromZero) / scale * (value < 0 ? -1 : 1)
        }
        func exists(_ table: String, _ field: String, _ value: String) -> Bool { (sets[db]?[table] ?? []).contains { $0[field]?.stringValue == value } }
        func checkAccount(_ code: String, table: String) -> Refusal? {
            guard let account = (sets[db]?["ChartOfAccounts"] ?? []).first(where: { $0["Code"]?.stringValue == code }) else {
                return Refusal(code: -5002, text: "Invalid account code [\(table).AcctCode] , '\(code)'")
            }
            guard account["ActiveAccount"]?.stringValue != "tNO" else {
                return Refusal(code: -5002, text: "Account \(code) is a title account or inactive; choose an active account [\(table).AcctCode]")
            }
            return nil
        }
        for key in body.keys where key.hasPrefix("U_") && !settings.userFields.contains(key) {
            return .failure(Refusal(code: -1, text: "Property '\(key)' of 'Document' is invalid"))
        }
        var entity = body
        let now = clock.now()
        let today = ISO8601DateFormatter.string(from: now, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        switch set {
        case "PurchaseInvoices":
            guard let card = body["CardCode"]?.stringValue else { return .failure(Refusal(code: -5002, text: "Enter a business partner code [OPCH.CardCode]")) }
            guard let partner = (sets[db]?["BusinessPartners"] ?? []).first(where: { $0["CardCode"]?.stringValue == card }),
                partner["CardType"]?.stringValue == "cSupplier"
            else { return .failure(Refusal(code: -5002, text: "Invalid BP code [OPCH.CardCode] , '\(card)'")) }
            if let project = body["Project"]?.stringValue, !exists("Projects", "Code", project) {
                return .failure(Refusal(code: -5002, text: "Invalid project code [OPCH.Project] , '\(project)'"))
            }
            let service = body["DocType"]?.stringValue == "dDocument_Service" || body["DocType"]?.stringValue == "S"
            var lines: [JSONValue] = []
            var total = 0.0
            for (index, line) in (body["DocumentLines"]?.arrayValue ?? []).enumerated() {
                var fields = line.objectValue ?? [:]
                if service {
                    guard let account = line["AccountCode"]?.stringValue else {
                        return .failure(Refusal(code: -5002, text: "Enter a G/L account [PCH1.AcctCode][line: \(index + 1)]"))
                    }
                    if let refusal = checkAccount(account, table: "PCH1") { return .failure(Refusal(code: refusal.code, text: refusal.text + "[line: \(index + 1)]")) }
                }
                if let project = line["ProjectCode"]?.stringValue, !exists("Projects", "Code", project) {
                    return .failure(Refusal(code: -5002, text: "Invalid project code [PCH1.Project][line: \(index + 1)] , '\(project)'"))
                }
                if let center = line["CostingCode"]?.stringValue, !exists("ProfitCenters", "CenterCode", center) {
                    return .failure(Refusal(code: -5002, text: "Invalid distribution rule [PCH1.OcrCode][line: \(index + 1)] , '\(center)'"))
                }
                let amount = line["LineTotal"]?.doubleValue ?? (line["Quantity"]?.doubleValue ?? 0) * (line["UnitPrice"]?.doubleValue ?? line["Price"]?.doubleValue ?? 0)
                fields["LineNum"] = .number(Double(index))
                fields["LineTotal"] = .number(round(amount))
                total += round(amount)
                lines.append(.object(fields))
            }
            guard !lines.isEmpty else { return .failure(Refusal(code: -5002, text: "Document has no lines [PCH1]")) }
            let entry = (sets[db]?[set]?.count ?? 0) + 1
            entity["DocEntry"] = .number(Double(entry))
            entity["DocNum"] = .number(Double(6000 + entry))
            entity["CardName"] = partner["CardName"] ?? .null
            entity["DocTotal"] = .number(round(total))
            entity["DocumentStatus"] = "bost_Open"
            entity["Cancelled"] = "tNO"
            entity["DocumentLines"] = .array(lines)
            entity["DocDate"] = body["DocDate"] ?? .string(today)
            entity["CreationDate"] = .string(today)
        case "JournalEntries":
            var lines: [JSONValue] = []
            var debit = 0.0
            var credit = 0.0
            for (index, line) in (body["JournalEntryLines"]?.arrayValue ?? []).enumerated() {
                if let account = line["AccountCode"]?.stringValue {
                    if let refusal = checkAccount(account, table: "JDT1") { return .failure(Refusal(code: refusal.code, text: refusal.text + "[line: \(index + 1)]")) }
                } else if let partner = line["ShortName"]?.stringValue {
                    guard exists("BusinessPartners", "CardCode", partner) else {
                        return .failure(Refusal(code: -5002, text: "Invalid BP code [JDT1.ShortName][line: \(index + 1)] , '\(partner)'"))
                    }
                } else {
                    return .failure(Refusal(code: -5002, text: "Enter a G/L account or business partner [JDT1.Account][line: \(index + 1)]"))
                }
                if let center = line["CostingCode"]?.stringValue, !exists("ProfitCenters", "CenterCode", center) {
                    return .failure(Refusal(code: -5002, text: "Invalid distribution rule [JDT1.ProfitCode][line: \(index + 1)] , '\(center)'"))
                }
                var fields = line.objectValue ?? [:]
                let (d, c) = (round(line["Debit"]?.doubleValue ?? 0), round(line["Credit"]?.doubleValue ?? 0))
                fields["Line_ID"] = .number(Double(index))
                fields["Debit"] = .number(d)
                fields["Credit"] = .number(c)
                debit += d
                credit += c
                lines.append(.object(fields))
            }
            guard lines.count >= 2 else { return .failure(Refusal(code: -5002, text: "A journal entry needs at least two lines [JDT1]")) }
            guard round(debit) == round(credit) else {
                return .failure(Refusal(code: -5002, text: "Unbalanced transaction: debit \(round(debit)) and credit \(round(credit)) differ [OJDT]"))
            }
            let number = (sets[db]?[set]?.count ?? 0) + 30_001
            entity["JdtNum"] = .number(Double(number))
            entity["Number"] = .number(Double(number))
            entity["ReferenceDate"] = body["ReferenceDate"] ?? .string(today)
            entity["JournalEntryLines"] = .array(lines)
        default:
            return .failure(Refusal(code: -5006, text: "The requested action is not supported for this object."))
        }
        let stored = JSONValue.object(entity)
        sets[db, default: [:]][set, default: []].append(stored)
        return .success(stored)
    }
}
