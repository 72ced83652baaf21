import Foundation
import SyncEngine

/// Procore's state and rules, keyed by company, with no HTTP types.
public actor ProcoreBackend {
    /// Behaviour switches a test or scenario can set.
    public struct Settings: Sendable, Codable, Equatable {
        /// Token lifetime (`expires_in`), 1.5 h as Procore documents.
        public var tokenLifetimeSeconds: Int = 5400
        /// Requests per app and company per hour (Procore's historical default 3,600).
        public var hourlyLimit: Int = 3600
        /// Requests per app and company per 10 s spike window (procore.md §6: Procore's example
        /// spike headers read 25; the real figure is per app and undocumented); `nil` turns the
        /// spike window off.
        public var spikeLimit: Int? = 25
        /// Procore's billing-period rules for requisitions: an invoice lands in the period it
        /// names (`period_id`) or else the one open period; none open → 422; a commitment takes one
        /// invoice per period and none in a period before its latest invoice's. `true` drops all of
        /// that (any number of invoices, no period needed), as an admin-only workaround would.
        public var relaxBillingPeriods = false
        /// Refresh tokens are single use, as Procore documents; `true` lets one be used again.
        public var reusableRefreshTokens = false
        /// Reject calls without `Procore-Company-Id` (Procore's announced enforcement) instead of
        /// journalling them.
        public var strictCompanyHeader = false
        /// Default `per_page`.
        public var defaultPerPage = 100
        public init() {}
    }

    public var settings = Settings()
    private let clock: any SyncClock
    private var nextID: Int64 = 1_000
    var nextBigID: Int64 = 4_294_967_296 + 786_000  // commitments: above 2^32 to catch truncation
    var companies: [Int64: ProcoreCompany] = [:]
    var apps: [String: ProcoreApp] = [:]
    var tokens: [String: ProcoreToken] = [:]
    /// Refresh tokens (seeded or issued) → the app they belong to and whether they were used.
    var refreshTokens: [String: (clientID: String, used: Bool)] = [:]
    /// Authorization codes (seeded, as a user's consent would produce them): single use.
    var authorizationCodes: [String: (clientID: String, redirectURI: String, used: Bool)] = [:]
    var projects: [Int64: ProcoreProject] = [:]
    var vendors: [Int64: ProcoreVendor] = [:]
    var costCodes: [Int64: ProcoreCostCode] = [:]
    var lineItemTypes: [Int64: ProcoreLineItemType] = [:]
    var budgetLines: [Int64: ProcoreBudgetLine] = [:]
    var commitments: [Int64: ProcoreCommitment] = [:]
    var requisitions: [Int64: ProcoreRequisition] = [:]
    var changeOrders: [Int64: ProcoreChangeOrder] = [:]
    var billingPeriods: [Int64: ProcoreBillingPeriod] = [:]
    var directCosts: [Int64: ProcoreDirectCost] = [:]
    var contractPayments: [Int64: ProcoreContractPayment] = [:]
    /// Indexes that keep look-ups O(1) at benchmark volumes: `kind|company|origin_id` → id,
    /// `project|number` of commitments, and the requisitions of each commitment.
    var originIndex: [String: Int64] = [:]
    var commitmentNumbers: Set<String> = []
    var requisitionsByCommitment: [Int64: [Int64]] = [:]
    private var rateWindows: [String: (hourStart: Date, hourCount: Int, spikeStart: Date, spikeCount: Int)] = [:]
    var random = SplitMix64(seed: 99)
    var hooks: [Int64: ProcoreHook] = [:]
    var triggers: [Int64: ProcoreTrigger] = [:]
    var changes: [ProcoreChange] = []
    /// Calls that arrived without a `Procore-Company-Id` header (lenient mode journals them).
    public private(set) var missingCompanyHeaderCalls = 0
    public private(set) var tokensIssued = 0

    public init(clock: any SyncClock) { self.clock = clock }

    func newID() -> Int64 {
        nextID += 1
        return nextID
    }

    var now: Date { clock.now() }

    // MARK: set-up and inspection (tests, demo, control API)

    public func setSettings(_ settings: Settings) { self.settings = settings }

    public func reset() {
        companies = [:]; apps = [:]; tokens = [:]; refreshTokens = [:]; authorizationCodes = [:]; projects = [:]; vendors = [:]; costCodes = [:]
        lineItemTypes = [:]; budgetLines = [:]; commitments = [:]; requisitions = [:]; billingPeriods = [:]; directCosts = [:]; rateWindows = [:]
        originIndex = [:]; commitmentNumbers = []; requisitionsByCommitment = [:]; changeOrders = [:]; contractPayments = [:]
        hooks = [:]; triggers = [:]; changes = []
        missingCompanyHeaderCalls = 0; tokensIssued = 0; settings = Settings()
    }

    public func addCompany(id: Int64, name: String) { companies[id] = ProcoreCompany(id: id, name: name) }
    public func addApp(_ app: ProcoreApp) { apps[app.clientID] = app }
    /// A refresh token a user-level app already holds (the data set hands it to clients).
    public func addRefreshToken(_ token: String, clientID: String) { refreshTokens[token] = (clientID, false) }
    /// An authorization code as the consent screen would return it for `redirectURI`.
    public func addAuthorizationCode(_ code: String, clientID: String, redirectURI: String) {
        authorizationCodes[code] = (clientID, redirectURI, false)
    }

    @discardableResult
    public func addProject(companyID: Int64, name: String, number: String, originID: String? = nil, id: Int64? = nil) -> Int64 {
        let id = id ?? newID()
        projects[id] = ProcoreProject(id: id, companyID: companyID, name: name, projectNumber: number, originID: originID, createdAt: now)
        return id
    }

    @discardableResult
    public func addVendor(companyID: Int64, name: String, originID: String?, originCode: String? = nil) -> Int64 {
        let id = newID()
        vendors[id] = ProcoreVendor(
            id: id, companyID: companyID, name: name, originID: originID, originCode: originCode, createdAt: now, updatedAt: now)
        if let originID { originIndex["vendor|\(companyID)|\(originID)"] = id }
        return id
    }

    @discardableResult
    public func addLineItemType(name: String, code: String, baseType: String) -> Int64 {
        let id = newID()
        lineItemTypes[id] = ProcoreLineItemType(id: id, name: name, code: code, baseType: baseType)
        return id
    }

    /// Creates a cost code in a project. `fullCode` is `division-code`, e.g. `03-300`.
    @discardableResult
    public func addCostCode(projectID: Int64, fullCode: String, name: String, originID: String? = nil) throws -> Int64 {
        guard projects[projectID] != nil else { throw ProcoreError.notFound("Project \(projectID) not found") }
        if costCodes.values.contains(where: { $0.projectID == projectID && $0.fullCode == fullCode }) {
            throw ProcoreError.unprocessable(["code": ["has already been taken"]])
        }
        let id = newID()
        let code = fullCode.split(separator: "-").last.map(String.init) ?? fullCode
        costCodes[id] = ProcoreCostCode(
            id: id, projectID: projectID, code: code, fullCode: fullCode, name: name, originID: originID, createdAt: now)
        return id
    }

    /// Creates a cost code and, when `budget` is given, its budget line (first line item type).
    @discardableResult
    public func addCostCode(projectID: Int64, fullCode: String, name: String, budget: Money) throws -> Int64 {
        let id = try addCostCode(projectID: projectID, fullCode: fullCode, name: name)
        guard let type = lineItemTypes.keys.min() else { throw ProcoreError.unprocessable(["line_item_type_id": ["none exists"]]) }
        try addBudget(projectID: projectID, costCodeID: id, lineItemTypeID: type, amount: budget)
        return id
    }

    @discardableResult
    public func addBudget(projectID: Int64, costCodeID: Int64, lineItemTypeID: Int64, amount: Money) throws -> Int64 {
        guard costCodes[costCodeID]?.projectID == projectID else {
            throw ProcoreError.unprocessable(["cost_code_id": ["is invalid"]])
        }
        guard lineItemTypes[lineItemTypeID] != nil else { throw ProcoreError.unprocessable(["line_item_type_id": ["is invalid"]]) }
        let id = newID()
        budgetLines[id] = ProcoreBudgetLine(
            id: id, projectID: projectID, costCodeID: costCodeID, lineItemTypeID: lineItemTypeID, originalBudget: amount)
        return id
    }

    public func projectID(number: String) -> Int64? { projects.values.first { $0.projectNumber == number }?.id }

    /// All commitments (tests inspect them directly).
    public func allCommitments() -> [(id: Int64, projectID: Int64, originID: String?, lines: Int, total: Money)] {
        commitments.values.sorted { $0.id < $1.id }.map { ($0.id, $0.projectID, $0.originID, $0.lines.count, $0.grandTotal) }
    }

    /// Sets a commitment's status as a Procore user would in the UI (approving it locks its
    /// schedule of values). - Returns: whether a commitment with that `origin_id` exists.
    @discardableResult
    public func setCommitmentStatus(originID: String, status: String) -> Bool {
        guard let id = commitments.values.first(where: { $0.originID == originID })?.id else { return false }
        commitments[id]?.status = status
        commitments[id]?.updatedAt = now
        return true
    }

    public func allRequisitions() -> [(id: Int64, commitmentID: Int64, originID: String?, total: Money)] {
        requisitions.values.sorted { $0.id < $1.id }.map { ($0.id, $0.commitmentID, $0.originID, $0.totalClaimed) }
    }

    public var commitmentCount: Int { commitments.count }
    public var requisitionCount: Int { requisitions.count }

    // MARK: auth

    /// `POST /oauth/token`: `client_credentials` (no refresh token), `refresh_token` (single use
    /// unless the setting says otherwise; the answer carries a new one) and `authorization_code`
    /// (single use, `redirect_uri` must match the one the code was issued for). The client always
    /// authenticates; a used, unknown or foreign refresh token or code → 400 `invalid_grant`.
    func issueToken(clientID: String?, clientSecret: String?, grantType: String?, fields: [String: String] = [:]) throws -> JSONValue {
        guard let grantType else { throw ProcoreError.invalidRequest("Missing required parameter: grant_type.") }
        guard ["client_credentials", "refresh_token", "authorization_code"].contains(grantType) else { throw ProcoreError.unsupportedGrant(grantType) }
        guard let clientID, let clientSecret, let app = apps[clientID], app.clientSecret == clientSecret else {
            throw ProcoreError.invalidClient
        }
        var withRefresh = false
        switch grantType {
        case "refresh_token":
            guard let presented = fields["refresh_token"], !presented.isEmpty else {
                throw ProcoreError.invalidRequest("Missing required parameter: refresh_token.")
            }
            guard let held = refreshTokens[presented], held.clientID == app.clientID, !held.used || settings.reusableRefreshTokens else {
                throw ProcoreError.invalidGrant
            }
            refreshTokens[presented]?.used = true
            // the access tokens issued from the old refresh token stay valid until they expire
            withRefresh = true
        case "authorization_code":
            guard let code = fields["code"], !code.isEmpty else { throw ProcoreError.invalidRequest("Missing required parameter: code.") }
            guard let held = authorizationCodes[code], held.clientID == app.clientID, !held.used, fields["redirect_uri"] == held.redirectURI else {
                throw ProcoreError.invalidGrant
            }
            authorizationCodes[code]?.used = true
            withRefresh = true
        default:
            break
        }
        let issued = now
        func random64() -> String {
            var bytes = ""
            for _ in 0..<4 { bytes += String(format: "%016llx", random.next()) }
            return bytes
        }
        let token = "sim." + random64()
        tokens[token] = ProcoreToken(
            clientID: app.clientID, issuedAt: issued,
            expiresAt: issued.addingTimeInterval(TimeInterval(settings.tokenLifetimeSeconds)))
        tokensIssued += 1
        var answer: [String: JSONValue] = [
            "access_token": .string(token), "token_type": "bearer",
            "expires_in": .number(Double(settings.tokenLifetimeSeconds)),
            "created_at": .number(issued.timeIntervalSince1970.rounded(.down)),
        ]
        if withRefresh {
            let refresh = "simr." + random64()
            refreshTokens[refresh] = (app.clientID, false)
            answer["refresh_token"] = .string(refresh)
        }
        return .object(answer)
    }

    /// `POST /oauth/revoke`: an access or refresh token of the authenticated client stops
    /// working; always 200, also for an unknown token (procore.md §3).
    func revoke(_ token: String?) {
        guard let token else { return }
        tokens[token]?.revoked = true
        if refreshTokens[token] != nil { refreshTokens[token]?.used = true }
    }

    /// - Returns: the app behind a bearer token.
    /// - Throws: `tokenInvalid` for a missing, unknown, revoked or expired token.
    func authenticate(_ header: String?) throws -> ProcoreApp {
        guard let header, header.lowercased().hasPrefix("bearer ") else {
            throw ProcoreError.tokenInvalid("The access token is invalid")
        }
        let value = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard let token = tokens[value], let app = apps[token.clientID] else {
            throw ProcoreError.tokenInvalid("The access token is invalid")
        }
        if token.revoked { throw ProcoreError.tokenInvalid("The access token was revoked") }
        if now >= token.expiresAt { throw ProcoreError.tokenInvalid("The access token expired") }
        return app
    }

    /// The app a bearer header belongs to, expired or not (for headers on fault answers).
    func appID(forAuthorization header: String?) -> String? {
        guard let header, header.lowercased().hasPrefix("bearer ") else { return nil }
        return tokens[String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)]?.clientID
    }

    func tokenInfo(_ header: String?) throws -> JSONValue {
        let app = try authenticate(header)
        let value = String(header!.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let token = tokens[value]!
        return [
            "resource_owner_id": 160586, "scopes": [],
            "expires_in_seconds": .number(token.expiresAt.timeIntervalSince(now).rounded(.down)),
            "application": ["uid": .string(app.clientID)],
            "created_at": .number(token.issuedAt.timeIntervalSince1970.rounded(.down)),
        ]
    }

    /// Expires every token now (the `expire-tokens` fault).
    public func expireAllTokens() {
        let past = now.addingTimeInterval(-1)
        for key in tokens.keys { tokens[key]?.expiresAt = past }
    }

    // MARK: rate limits

    /// Counts one request for (app, company) and returns the headers to send, or throws 429.
    func countRequest(app: String, company: Int64?) throws -> [(String, String)] {
        let key = "\(app)|\(company.map(String.init) ?? "-")"
        let current = now
        var window = rateWindows[key] ?? (current, 0, current, 0)
        if current.timeIntervalSince(window.hourStart) >= 3600 { window.hourStart = current; window.hourCount = 0 }
        if current.timeIntervalSince(window.spikeStart) >= 10 { window.spikeStart = current; window.spikeCount = 0 }
        window.hourCount += 1
        window.spikeCount += 1
        rateWindows[key] = window
        let hourReset = Int(window.hourStart.addingTimeInterval(3600).timeIntervalSince1970)
        let hourRemaining = settings.hourlyLimit - window.hourCount
        if hourRemaining < 0 {
            throw ProcoreError.rateLimited(reset: hourReset, retryAfter: max(1, hourReset - Int(current.timeIntervalSince1970)))
        }
        if let spike = settings.spikeLimit {
            let spikeReset = Int(window.spikeStart.addingTimeInterval(10).timeIntervalSince1970)
            let spikeRemaining = spike - window.spikeCount
            if spikeRemaining < 0 {
                throw ProcoreError.rateLimited(reset: spikeReset, retryAfter: max(1, spikeReset - Int(current.timeIntervalSince1970)))
            }
            // The header shows the window closest to exhaustion.
            if Double(spikeRemaining) / Double(spike) < Double(hourRemaining) / Double(settings.hourlyLimit) {
                return [("X-Rate-Limit-Limit", String(spike)), ("X-Rate-Limit-Remaining", String(spikeRemaining)),
                        ("X-Rate-Limit-Reset", String(spikeReset))]
            }
        }
        return [("X-Rate-Limit-Limit", String(settings.hourlyLimit)), ("X-Rate-Limit-Remaining", String(hourRemaining)),
                ("X-Rate-Limit-Reset", String(hourReset))]
    }

    /// The headers a rejected (429) or unauthenticated answer carries without counting again.
    func currentRateHeaders(app: String?, company: Int64?) -> [(String, String)] {
        let key = "\(app ?? "-")|\(company.map(String.init) ?? "-")"
        let window = rateWindows[key] ?? (now, 0, now, 0)
        return [("X-Rate-Limit-Limit", String(settings.hourlyLimit)),
                ("X-Rate-Limit-Remaining", String(max(0, settings.hourlyLimit - window.hourCount))),
                ("X-Rate-Limit-Reset", String(Int(window.hourStart.addingTimeInterval(3600).timeIntervalSince1970)))]
    }

    // MARK: scope

    /// Resolves the company a call acts for and checks the app may act there.
    func company(header: String?, parameter: String?, app: ProcoreApp) throws -> Int64? {
        if header == nil {
            missingCompanyHeaderCalls += 1
            if settings.strictCompanyHeader { throw ProcoreError.missingCompanyHeader }
        }
        guard let text = header ?? parameter else { return nil }
        guard let id = Int64(text) else { throw ProcoreError.badRequest("company_id must be an integer") }
        guard companies[id] != nil else { throw ProcoreError.notFound("Company \(id) not found") }
        guard app.companyIDs.contains(id) else { throw ProcoreError.appNotConnected }
        if let header, let parameter, header != parameter {
            throw ProcoreError.badRequest("Procore-Company-Id header does not match company_id")
        }
        return id
    }

    /// A project visible in the company (404 otherwise, as Procore hides what the caller cannot see).
    func project(_ text: String?, company: Int64?, app: ProcoreApp) throws -> ProcoreProject {
        guard let text else { throw ProcoreError.badRequest("project_id is required") }
        guard let id = Int64(text), let project = projects[id], app.companyIDs.contains(project.companyID),
            company == nil || company == project.companyID
        else { throw ProcoreError.notFound("Project \(text) not found") }
        return project
    }
}
