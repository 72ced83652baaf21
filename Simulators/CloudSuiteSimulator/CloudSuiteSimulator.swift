import Foundation
import SimulatorKit
import SyncEngine

/// The CloudSuite simulator: the tenant's token server (`/{ti}/as/token.oauth2`, password and
/// refresh_token grants, client auth by Basic or form fields; `revoke_token.oauth2`) and the ION
/// API gateway in front of `M3/m3api-rest/v2/execute` (bearer required, 401 before M3 is asked,
/// 429 past the quota, every MI outcome a 200 with the results envelope).
public struct CloudSuiteSimulator: BackedSimulator {
    public let name = "cloudsuite"
    public let backend: CloudSuiteBackend

    public init(clock: any SyncClock) { backend = CloudSuiteBackend(clock: clock) }


    public func handle(_ request: SimRequest) async -> SimResponse {
        let settings = await backend.settings
        let segments = request.path.split(separator: "/").map(String.init)
        guard segments.first == settings.tenant else {
            return .text(404, "<html><body><h1>404 Not Found</h1></body></html>", contentType: "text/html")
        }
        if segments.count == 3 && segments[1] == "as" {
            guard request.method == "POST" else { return .json(405, ["error": "method_not_allowed"]) }
            switch segments[2] {
            case "token.oauth2": return await token(request, settings: settings)
            case "revoke_token.oauth2": return await revoke(request)
            default: return .text(404, "<html><body><h1>404 Not Found</h1></body></html>", contentType: "text/html")
            }
        }
        guard segments.count >= 5, segments[1] == "M3", segments[2] == "m3api-rest", segments[3] == "v2", segments[4].hasPrefix("execute") else {
            return .json(404, ["error": "not_found", "error_description": .string("No API is published at \(request.path)")])
        }
        // The gateway: token first, then the quota, then M3.
        let now = backend.clock.now()
        guard let grant = backend.tokens.check(TokenIssuer.bearer(request.header("authorization")), now: now) else {
            return SimResponse(status: 401, headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\""), ("Content-Type", "application/json")],
                               body: Data(#"{"error":"invalid_token","error_description":"The access token is missing, expired or revoked"}"#.utf8))
        }
        if let wait = backend.limiter.admit(grant.subject, limit: settings.callsPerMinute, window: 60, now: now) {
            return .json(429, ["error": "too_many_requests", "error_description": .string("Quota exceeded; retry after \(wait) seconds")],
                         headers: [("Retry-After", String(wait))])
        }
        guard let app = await backend.app(clientId: grant.subject) else { return SimResponse(status: 401) }
        // Matrix parameters on a segment (";maxrecs=1;returncols=A,B") count like query parameters.
        var matrix: [String: String] = [:]
        var path = Array(segments.dropFirst(5))
        for index in path.indices where path[index].contains(";") {
            let parts = path[index].split(separator: ";").map(String.init)
            path[index] = parts.first ?? ""
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { matrix[pair[0].lowercased()] = pair[1] }
            }
        }
        var bridge: [String: String] = matrix
        var fields: [String: String] = [:]
        for (name, value) in request.query {
            if name == name.lowercased() { bridge[name] = bridge[name] ?? value } else { fields[name] = value }
        }
        let maxrecs = Int(bridge["maxrecs"] ?? "") ?? settings.defaultMaxRecords
        let trim = bridge["righttrim"].map { $0.lowercased() == "true" } ?? settings.rightTrimByDefault
        let returncols = bridge["returncols"].map { Set($0.split(separator: ",").map(String.init)) }
        if path.count == 2 {
            let result = await execute(program: path[0], transaction: path[1], fields: fields, bridgeCompany: bridge["cono"], app: app,
                                       maxrecs: maxrecs, returncols: returncols, trim: trim)
            return envelope([result])
        }
        guard path.isEmpty, request.method == "POST", let body = request.jsonBody(), let program = body["program"]?.stringValue else {
            return .json(400, ["error": "bad_request", "error_description": "expected …/execute/{PROGRAM}/{TRANSACTION} or a bulk POST body"])
        }
        let company = bridge["cono"] ?? body["cono"].map { $0.stringValue ?? $0.scalarText }
        var results: [JSONValue] = []
        for item in body["transactions"]?.arrayValue ?? [] {
            var record: [String: String] = [:]
            for (key, value) in item["record"]?.objectValue ?? [:] { record[key] = value.stringValue ?? value.scalarText }
            results.append(await execute(program: program, transaction: item["transaction"]?.stringValue ?? "", fields: record,
                                         bridgeCompany: company, app: app, maxrecs: maxrecs, returncols: returncols, trim: trim))
        }
        return envelope(results)
    }

    func envelope(_ results: [JSONValue]) -> SimResponse {
        let failed = results.filter { $0["errorMessage"] != nil }.count
        return .json(200, [
            "results": .array(results), "wasTerminated": false,
            "nrOfSuccessfullTransactions": .number(Double(results.count - failed)),  // sic: M3's spelling
            "nrOfFailedTransactions": .number(Double(failed)),
        ])
    }

    /// One MI transaction. Company: the `CONO` field, else the bridge `cono`, else the service
    /// user's default company.
    func execute(program: String, transaction: String, fields: [String: String], bridgeCompany: String?, app: CloudSuiteBackend.App,
                 maxrecs: Int, returncols: Set<String>?, trim: Bool) async -> JSONValue {
        let companyText = fields["CONO"] ?? bridgeCompany
        let company = companyText.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? app.companies.first ?? 0
        guard app.companies.contains(company) else {
            return Self.failure(transaction, type: "ServerReturnedNOK", code: "XAU0008", field: "CONO", "Not authorized for company \(companyText ?? String(company))")
        }
        let outcome = await backend.run(program: program, transaction: transaction, fields: fields, company: company)
        switch outcome {
        case .failure(let type, let code, let field, let message):
            return Self.failure(transaction, type: type, code: code, field: field, message)
        case .records(let rows):
            let capped = maxrecs == 0 ? rows : Array(rows.prefix(maxrecs))  // silently, as M3 does
            let records: [JSONValue] = capped.map { row in
                var out = row
                out["CONO"] = String(company)
                if let returncols { out = out.filter { returncols.contains($0.key) } }
                if !trim { out = CloudSuiteBackend.padded(out) }
                return .object(out.mapValues { .string($0) })
            }
            return ["transaction": .string(transaction), "records": .array(records)]
        }
    }

    /// `POST {pu}token.oauth2`: form body; the client by Basic or by form fields; grants
    /// `password` (saak/sask) and `refresh_token`; `scope`/`redirect_uri` ignored.
    func token(_ request: SimRequest, settings: CloudSuiteBackend.Settings) async -> SimResponse {
        guard let form = request.formBody() else { return Self.oauthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded") }
        let basic = request.basicCredentials()
        let clientId = basic?.user ?? form["client_id"]
        let secret = basic?.password ?? form["client_secret"]
        guard let app = await backend.app(clientId: clientId, secret: secret) else {
            return Self.oauthError(401, "invalid_client", "Client authentication failed")
        }
        let subject: String
        switch form["grant_type"] {
        case "password":
            guard form["username"] == app.accessKey, form["password"] == app.secretKey else {
                return Self.oauthError(400, "invalid_grant", "The provided service account credentials are invalid")
            }
            subject = app.clientId
        case "refresh_token":
            guard let refresh = form["refresh_token"], backend.tokens.subject(ofRefreshToken: refresh) == app.clientId else {
                return Self.oauthError(400, "invalid_grant", "The refresh token is invalid or revoked")
            }
            subject = app.clientId
        case let other:
            return Self.oauthError(400, "unsupported_grant_type", "grant_type \(other ?? "(none)") is not supported")
        }
        let issued = backend.tokens.issue(subject: subject, lifetime: TimeInterval(settings.tokenLifetimeSeconds), now: backend.clock.now(),
                                          withRefreshToken: settings.issueRefreshTokens && form["grant_type"] == "password")
        var body: [String: JSONValue] = [
            "access_token": .string(issued.token), "token_type": "Bearer", "expires_in": .number(Double(settings.tokenLifetimeSeconds)),
        ]
        if form["grant_type"] == "refresh_token" { body["refresh_token"] = form["refresh_token"].map { .string($0) } }
        if let refresh = issued.grant.refreshToken { body["refresh_token"] = .string(refresh) }
        return .json(200, .object(body))
    }

    func revoke(_ request: SimRequest) async -> SimResponse {
        let form = request.formBody() ?? [:]
        let basic = request.basicCredentials()
        guard await backend.app(clientId: basic?.user ?? form["client_id"], secret: basic?.password ?? form["client_secret"]) != nil else {
            return Self.oauthError(401, "invalid_client", "Client authentication failed")
        }
        if let token = form["token"] { backend.tokens.revoke(token) }
        return SimResponse(status: 200)
    }

    public func apply(_ action: FaultAction) async { backend.tokens.expireAll() }
    public func reset() async { await backend.reset() }
    public func seed(_ data: JSONValue) async throws { try await backend.seed(data) }
}
