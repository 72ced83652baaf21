import Foundation
import SimulatorKit
import SyncEngine

/// SYSPRO's state and rules, with no HTTP types: operators, e.net sessions and the company tables
/// that OData and COMFND read.
public actor SysproBackend {
    public struct Operator: Sendable, Codable, Equatable {
        public var code: String
        public var password: String
        public var companyPassword: String
        /// The separate OData password generated in Operator Maintenance (HTTP Basic on OData).
        public var odataPassword: String
        public var primaryRole: String?

        public init(code: String, password: String, companyPassword: String = "", odataPassword: String, primaryRole: String? = nil) {
            self.code = code
            self.password = password
            self.companyPassword = companyPassword
            self.odataPassword = odataPassword
            self.primaryRole = primaryRole
        }
    }

    struct Session {
        var operatorCode: String
        var lastUsed: Date
    }

    /// Behaviour switches a test or scenario can set.
    public struct Settings: Sendable, Codable, Equatable {
        /// e.net idle timeout: a session unused this long is dead (site configuration, not
        /// published; 20 minutes by default here).
        public var idleTimeoutSeconds: Double = 1200
        /// A second logon by the same operator evicts the first session (reported by one
        /// integrator; off by default).
        public var evictOnRelogon = false
        /// OData rows per answer at most (SYSPRO caps at 5000).
        public var maxPageSize = 5000
        /// Whether a capped OData answer carries `@odata.nextLink`.
        public var emitNextLinks = false
        /// e.net licence seats: each open session holds one (syspro.md §4); a logon past the
        /// last free seat is refused in-band. `nil`: as many as asked.
        public var licenceSeats: Int? = nil
        /// Longest query string the web host takes (syspro.md §2: the URL carries the XML,
        /// ≈16 KB, inferred); longer → HTTP 414, so big documents must use `Transaction/PostLD`.
        public var maxQueryBytes = 16_384
        public init() {}
    }

    public var settings = Settings()
    private(set) var company = "EDU1"
    private(set) var companyName = "Outdoors Construction Group"
    private var operators: [String: Operator] = [:]
    private var sessions: [String: Session] = [:]
    var tables: [String: [[String: JSONValue]]] = [:]
    private var tableVersions: [String: Int] = [:]
    private var queryCache: [String: (version: Int, rows: [Int])] = [:]
    private var indexes: [String: (version: Int, index: [String: [Int]])] = [:]
    private var random: SplitMix64
    private let clock: any SyncClock
    /// The simulated clock's moment (SYSPRO's company date comes from it, never the wall clock).
    public nonisolated var now: Date { clock.now() }
    private(set) var logonCount = 0

    /// Tables the simulator knows even when empty, with their columns (so `$select` and `$filter`
    /// on an empty table still validate property names).
    static let knownColumns: [String: [String]] = [
        "TblCurrency": ["Currency", "Description", "BuyExchangeRate", "SellExchangeRate"],
        "PorMasterHdr": [
            "PurchaseOrder", "Supplier", "OrderStatus", "CancelledFlag", "OrderType", "OrderEntryDate", "OrderDueDate",
            "DatePoCompleted", "Currency", "ExchangeRate", "Buyer", "Warehouse", "Customer", "CustomerPoNumber",
            "PaymentTerms", "ShippingInstrs", "DeliveryName", "DeliveryAddr1",
        ],
        "PorMasterDetail": [
            "PurchaseOrder", "Line", "LineType", "MStockCode", "MStockDes", "MWarehouse", "MOrderUom", "MOrderQty",
            "MReceivedQty", "MPrice", "MForeignPrice", "MLatestDueDate", "MGlCode", "MCompleteFlag", "MJob", "NComment",
        ],
        "ApInvoice": [
            "Supplier", "Invoice", "InvoiceDate", "DueDate", "JournalDate", "InvoiceYear", "InvoiceMonth", "Journal",
            "EntryNumber", "OrigInvValue", "OrigDiscValue", "MthInvBal1", "Currency", "PostCurrency", "ConvRate",
            "PaymentNumber", "Bank", "PurchaseOrder", "Reference",
        ],
        "ApSupplier": [
            "Supplier", "SupplierName", "SupShortName", "Currency", "Branch", "TermsCode", "Email", "OnHold", "Telephone", "Contact",
            "SupplierClass", "PurchOrdAllowed", "TaxRegnNum", "SupAddr1", "SupAddr2", "SupAddr3", "SupPostalCode",
        ],
        "GenMaster": ["Company", "GlCode", "Description", "AccountType"],
    ]

    public init(clock: any SyncClock, seed: UInt64 = 7) {
        self.clock = clock
        self.random = SplitMix64(seed: seed)
    }

    // MARK: set-up

    public func setCompany(_ id: String, name: String) {
        company = id
        companyName = name
    }

    public func addOperator(_ op: Operator) { operators[op.code.uppercased()] = op }

    public func setSettings(_ settings: Settings) { self.settings = settings }

    /// Appends rows to a table (creating it).
    public func insert(_ table: String, rows: [[String: JSONValue]]) {
        tables[table, default: []].append(contentsOf: rows)
        bump(table)
    }

    /// Changes the rows of `table` whose `column` equals `value`; returns how many changed.
    @discardableResult
    public func update(_ table: String, where column: String, equals value: JSONValue, set changes: [String: JSONValue]) -> Int {
        guard var rows = tables[table] else { return 0 }
        var changed = 0
        for index in rows.indices where rows[index][column] == value {
            rows[index].merge(changes) { _, new in new }
            changed += 1
        }
        tables[table] = rows
        bump(table)
        return changed
    }

    /// Deletes the rows of `table` whose `column` equals `value`.
    @discardableResult
    public func delete(_ table: String, where column: String, equals value: JSONValue) -> Int {
        let before = tables[table]?.count ?? 0
        tables[table]?.removeAll { $0[column] == value }
        bump(table)
        return before - (tables[table]?.count ?? 0)
    }

    public func rows(_ table: String) -> [[String: JSONValue]] { tables[table] ?? [] }

    func bump(_ table: String) {
        tableVersions[table, default: 0] += 1
    }

    public func reset() {
        operators = [:]
        sessions = [:]
        tables = [:]
        tableVersions = [:]
        queryCache = [:]
        logonCount = 0
        settings = Settings()
    }

    /// Loads a data set: `{"company": "EDU1", "companyName": "...", "operators": [...],
    /// "settings": {...}, "tables": {"PorMasterHdr": [...], ...}}`.
    public func seed(_ data: JSONValue) throws {
        if let id = data["company"]?.stringValue { company = id }
        if let name = data["companyName"]?.stringValue { companyName = name }
        if let ops = data["operators"] {
            let decoded = try JSONDecoder().decode([Operator].self, from: JSONEncoder().encode(ops))
            for op in decoded { addOperator(op) }
        }
        if let raw = data["settings"] { settings = try raw.applied(to: settings) }
        for (table, rows) in data["tables"]?.objectValue ?? [:] {
            guard let list = rows.arrayValue else { throw SysproSeedError(message: "tables.\(table) must be an array") }
            insert(table, rows: list.compactMap(\.objectValue))
        }
    }

    // MARK: e.net sessions

    public enum LogonResult: Equatable, Sendable { case session(String), error(String) }

    func logon(operatorCode: String, password: String, companyID: String, companyPassword: String) -> LogonResult {
        guard let op = operators[operatorCode.uppercased()] else { return .error("ERROR: Invalid operator code") }
        guard op.password == password else { return .error("ERROR: Invalid operator password") }
        guard companyID.uppercased() == company.uppercased() else { return .error("ERROR: Invalid company '\(companyID)'") }
        guard op.companyPassword.isEmpty || op.companyPassword == companyPassword else {
            return .error("ERROR: Invalid company password")
        }
        if settings.evictOnRelogon {
            sessions = sessions.filter { $0.value.operatorCode != op.code.uppercased() }
        }
        if let seats = settings.licenceSeats {
            let now = clock.now()
            sessions = sessions.filter { now.timeIntervalSince($0.value.lastUsed) < settings.idleTimeoutSeconds }  // idle ones free their seat
            if sessions.count >= seats {
                // wording inferred: SYSPRO refuses the logon in-band when no e.net licence is free
                return .error("ERROR: e.net exception raised: 100036 All \(seats) e.net licence(s) are in use; log off idle sessions and try again")
            }
        }
        // 32 random upper-case hex digits, then "00" as recorded ids end.
        let high = random.next()
        let low = random.next()
        let id = String(format: "%016llX%016llX00", high, low)
        sessions[id] = Session(operatorCode: op.code.uppercased(), lastUsed: clock.now())
        logonCount += 1
        return .session(id)
    }

    /// Resolves a session id (with or without SYSPRO's two trailing spaces) and marks it used.
    /// - Returns: the operator code, or `nil` when the session is unknown, logged off or idle too long.
    func useSession(_ raw: String) -> String? {
        let id = raw.trimmingCharacters(in: .whitespaces)
        guard let session = sessions[id] else { return nil }
        let now = clock.now()
        if now.timeIntervalSince(session.lastUsed) > settings.idleTimeoutSeconds {
            sessions[id] = nil
            return nil
        }
        sessions[id]?.lastUsed = now
        return session.operatorCode
    }

    func logoff(_ raw: String) -> Bool {
        guard useSession(raw) != nil else { return false }
        sessions[raw.trimmingCharacters(in: .whitespaces)] = nil
        return true
    }

    /// Kills every open session now (the `kill-sessions` fault).
    public func killSessions() { sessions = [:] }

    public var openSessions: Int { sessions.count }
    public var logons: Int { logonCount }

    func operatorInfo(_ code: String) -> Operator? { operators[code.uppercased()] }

    // MARK: OData

    func odataAuthorized(user: String, password: String) -> Bool {
        guard let op = operators[user.uppercased()] else { return false }
        return op.odataPassword == password
    }

    func columns(of table: String) -> Set<String>? {
        if let known = Self.knownColumns[table] {
            var set = Set(known)
            for row in (tables[table] ?? []).prefix(50) { set.formUnion(row.keys) }
            return set
        }
        guard let rows = tables[table] else { return nil }
        return rows.prefix(50).reduce(into: Set<String>()) { $0.formUnion($1.keys) }
    }

    /// Runs an OData query on a table.
    /// - Returns: the page of rows (already `$select`ed) and whether the answer was capped.
    func query(_ table: String, _ query: ODataQuery, cacheKey: String) -> (rows: [[String: JSONValue]], capped: Bool, total: Int) {
        let all = tables[table] ?? []
        let version = tableVersions[table, default: 0]
        let key = "\(table)|\(cacheKey)"
        let matching: [Int]
        if let cached = queryCache[key], cached.version == version {
            matching = cached.rows
        } else {
            var indices: [Int]
            if let (column, values) = query.equalitySet {
                let index = hashIndex(table, column: column, rows: all, version: version)
                indices = Set(values).flatMap { index[$0] ?? [] }.sorted()
            } else {
                indices = all.indices.filter { query.matches(all[$0]) }
            }
            if !query.orderBy.isEmpty {
                indices.sort { a, b in
                    for (column, descending) in query.orderBy {
                        let order = ODataQuery.order(all[a][column] ?? .null, all[b][column] ?? .null)
                        if order == .orderedSame { continue }
                        return descending ? order == .orderedDescending : order == .orderedAscending
                    }
                    return a < b
                }
            }
            matching = indices
            if query.equalitySet == nil {
                if queryCache.count > 64 { queryCache.removeAll() }
                queryCache[key] = (version, indices)
            }
        }
        let start = min(query.skip, matching.count)
        let wanted = query.top ?? Int.max
        let limit = min(wanted, settings.maxPageSize)
        let end = min(matching.count, start + limit)
        let capped = end - start == settings.maxPageSize && wanted > settings.maxPageSize && end < matching.count
        let page = matching[start..<end].map { index -> [String: JSONValue] in
            let row = all[index]
            guard let select = query.select else { return row }
            return row.filter { select.contains($0.key) }
        }
        return (page, capped, matching.count)
    }
}

extension SysproBackend {
    fileprivate func hashIndex(_ table: String, column: String, rows: [[String: JSONValue]], version: Int) -> [String: [Int]] {
        let key = "\(table).\(column)"
        if let cached = indexes[key], cached.version == version { return cached.index }
        var index: [String: [Int]] = [:]
        for (position, row) in rows.enumerated() {
            if let value = row[column]?.stringValue { index[value, default: []].append(position) }
        }
        indexes[key] = (version, index)
        return index
    }
}

struct SysproSeedError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
