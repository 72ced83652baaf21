import ClientKit
import Foundation
import SyncEngine

/// The `.ionapi` credentials file Infor OS hands out for an authorized app (API Gateway →
/// Authorized Apps → Download Credentials). Only a *Backend Service* app downloaded with *Create
/// Service Account* carries the service-account key pair (`saak`/`sask`) a headless client needs.
///
/// The whole file is a secret (client secret and key pair): it is stored sealed in the vault or
/// read from an owner-only file, and neither `description` nor any error shows a secret value.
public struct IonAPIFile: Sendable, CustomStringConvertible {
    /// `ti`: tenant id, the first path segment of every gateway URL.
    public var tenant: String
    /// `ci` / `cs`: the OAuth client.
    public var clientID: String
    public var clientSecret: String
    /// `iu`: the ION API gateway base URL.
    public var gatewayBase: String
    /// `pu` + `ot` / `pu` + `or`: the token and revocation endpoints.
    public var tokenURL: String
    public var revokeURL: String?
    /// `saak` / `sask`: the service account, used as the password grant's username/password.
    public var serviceAccountAccessKey: String
    public var serviceAccountSecretKey: String
    /// `cn`: the app's display name.
    public var appName: String?

    /// The keys a headless client cannot do without.
    public static let requiredKeys = ["ti", "ci", "cs", "iu", "pu", "ot", "saak", "sask"]

    /// Parses the file's JSON text.
    /// - Throws: ``SyncError`` `.invalidConfig` naming the missing keys (never their values), and
    ///   for a file without `saak`/`sask` the app type it must be downloaded from.
    public init(text: String, source: String = ".ionapi file") throws {
        guard let json = try? JSONValue(parsing: Data(text.utf8)), let object = json.objectValue else {
            throw SyncError(.invalidConfig, "\(source) is not a JSON object; download it again from Infor OS Portal → API Gateway → Authorized Apps → (app) → Download Credentials")
        }
        var values: [String: String] = [:]
        for (key, value) in object { if let text = value.stringValue, !text.isEmpty { values[key] = text } }
        let missing = Self.requiredKeys.filter { values[$0] == nil }
        guard missing.isEmpty else {
            var message = "\(source) lacks \(missing.joined(separator: ", "))"
            if missing.contains("saak") || missing.contains("sask") {
                message += "; only an authorized app of type Backend Service, downloaded with Create Service Account ticked, carries the service-account keys (saak/sask)"
            } else {
                message += "; download the credentials file again"
            }
            throw SyncError(.invalidConfig, message)
        }
        let portal = values["pu"]!.hasSuffix("/") ? values["pu"]! : values["pu"]! + "/"
        tenant = values["ti"]!
        clientID = values["ci"]!
        clientSecret = values["cs"]!
        gatewayBase = values["iu"]!.hasSuffix("/") ? String(values["iu"]!.dropLast()) : values["iu"]!
        tokenURL = portal + values["ot"]!
        revokeURL = values["or"].map { portal + $0 }
        serviceAccountAccessKey = values["saak"]!
        serviceAccountSecretKey = values["sask"]!
        appName = values["cn"]
    }

    /// `iu/ti`: where M3 calls go.
    public var apiBase: String { "\(gatewayBase)/\(tenant)" }

    /// `Authorization: Basic base64(ci:cs)`: how the token server authenticates the app.
    public var clientAuthorization: String { "Basic " + Data("\(clientID):\(clientSecret)".utf8).base64EncodedString() }

    public var description: String { "IonAPIFile(tenant: \(tenant), app: \(appName ?? "?"), gateway: \(gatewayBase))" }
}

/// Where and how to reach one CloudSuite (M3) tenant.
public struct CloudSuiteConnection: Sendable {
    public var ionapi: IonAPIFile
    /// The M3 company (`CONO`) to run in; `nil` = the service user's default company.
    public var company: Int?
    /// The gateway's quota for this client, in calls per minute (Infor's policies are per tenant;
    /// the seed plans 100–500). When set, calls are spaced evenly so a burst never meets a 429;
    /// `nil` sends at once and backs off only when told.
    public var callsPerMinute: Int?

    public init(ionapi: IonAPIFile, company: Int? = nil, callsPerMinute: Int? = nil) {
        self.ionapi = ionapi
        self.company = company
        self.callsPerMinute = callsPerMinute
    }
}

/// The outcome of one MI transaction (`results[]` of the m3api-rest v2 envelope).
public struct MIResult: Sendable {
    public var transaction: String
    public var records: [[String: String]]
    /// Set when M3 refused the transaction (`ServerReturnedNOK`, `MandatoryInputFieldNotFound`, …).
    public var error: MIError?
}

public struct MIError: Sendable, Equatable, CustomStringConvertible {
    public var type: String
    public var code: String
    public var field: String
    public var message: String
    public var description: String {
        "\(type)\(code.isEmpty ? "" : " \(code)")\(field.isEmpty ? "" : " (\(field))"): \(message)"
    }
}

/// Calls M3 MI programs through the ION API gateway.
///
/// Tokens come from the tenant's authorization server with the password grant (service-account
/// keys, client authenticated by HTTP Basic); they last `expires_in` (2 h by default) and are
/// renewed with the refresh token when one was issued, else by a new password grant. A gateway
/// 401 (expired, revoked) gets one fresh token and one replay. MI outcomes always come as HTTP 200
/// with the results envelope — an M3 refusal is data (``MIResult/error``), not an HTTP error.
public actor CloudSuiteClient {
    public nonisolated let connection: CloudSuiteConnection
    private let transport: HTTPTransport
    private let tokens: BearerTokens
    private var refreshToken: String?
    /// Token requests that succeeded.
    public var tokensFetched: Int { tokens.tokensFetched }
    /// `expires_in` of the latest token, in seconds.
    public var tokenLifetime: Double? { tokens.tokenLifetime }
    /// Whether the server issued a refresh token (the app's "Issue Refresh Tokens").
    public var hasRefreshToken: Bool { refreshToken != nil }

    public init(connection: CloudSuiteConnection, transport: HTTPTransport) {
        self.connection = connection
        self.transport = transport
        self.pacer = CallPacer(callsPerMinute: connection.callsPerMinute)
        self.tokens = BearerTokens(system: "the ION API gateway", refreshMargin: 300, clock: transport.clock)
    }

    /// Gets a fresh token now with the password grant.
    public func logIn() async throws {
        try await tokens.renew { try await self.passwordGrant() }
    }

    private func passwordGrant() async throws -> IssuedToken {
        try await token(grant: [
            ("grant_type", "password"), ("username", connection.ionapi.serviceAccountAccessKey),
            ("password", connection.ionapi.serviceAccountSecretKey),
        ])
    }

    /// The first token by the password grant; later ones by the refresh grant when a refresh
    /// token was issued, falling back to the password grant when it is refused.
    private func nextToken() async throws -> IssuedToken {
        if let refreshToken, tokens.tokensFetched > 0 {
            do {
                return try await token(grant: [("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
            } catch let error as SyncError where error.code == .authFailed {
                self.refreshToken = nil  // revoked or expired: fall back to the password grant
            }
        }
        return try await passwordGrant()
    }

    /// One token request; the answer carries no issue time, so expiry counts from its arrival
    /// on this client's clock.
    private func token(grant: [(String, String)]) async throws -> IssuedToken {
        let file = connection.ionapi
        let form = grant.map { "\($0.0)=\($0.1.percentEncoded())" }.joined(separator: "&")
        let reply = try await transport.send(
            "POST", file.tokenURL,
            headers: [("Authorization", file.clientAuthorization), ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Data(form.utf8))
        let json = try? JSONValue(parsing: reply.body)
        switch reply.status {
        case 200:
            guard let token = json?["access_token"]?.stringValue,
                let lifetime = json?["expires_in"]?.doubleValue ?? json?["expires_in"]?.stringValue.flatMap(Double.init)
            else { throw SyncError(.unexpectedResponse, "the CloudSuite token answer has no access_token/expires_in") }
            refreshToken = json?["refresh_token"]?.stringValue ?? refreshToken
            return IssuedToken(accessToken: token, lifetime: lifetime)
        case 400, 401:
            let error = json?["error"]?.stringValue ?? "HTTP \(reply.status)"
            let what = error == "invalid_client" ? "the app's client id/secret (ci/cs)" : "the service account keys (saak/sask)"
            throw SyncError(.authFailed, "the CloudSuite token server refused \(what): \(error). The app or its service account may have been deleted or regenerated; download the .ionapi file again.")
        case 404:
            throw SyncError(.invalidConfig, "the CloudSuite token endpoint \(HTTPTransport.pathOnly(file.tokenURL)) does not exist (404); check pu/ot and the tenant id in the .ionapi file")
        default:
            throw SyncError(.unexpectedResponse, "the CloudSuite token server answered \(reply.credentialSummary)")
        }
    }

    /// Revokes the refresh token (which ends its access tokens too), or the access token.
    public func revoke() async {
        guard let url = connection.ionapi.revokeURL else { return }
        let file = connection.ionapi
        let (token, hint) = refreshToken.map { ($0, "refresh_token") } ?? (tokens.currentToken.map { ($0, "access_token") } ?? ("", ""))
        guard !token.isEmpty else { return }
        _ = try? await transport.send("POST", url, headers: [("Authorization", file.clientAuthorization), ("Content-Type", "application/x-www-form-urlencoded")],
                                      body: Data("token=\(token.percentEncoded())&token_type_hint=\(hint)".utf8))
        tokens.invalidate()
        refreshToken = nil
    }

    /// Runs one MI transaction (GET with the fields as query parameters).
    /// - Parameters:
    ///   - maxRecords: M3 caps lists at 100 by default and truncates silently; `0` = all.
    /// - Throws: `.authFailed` when a fresh token is refused too, `.rateLimited` past the
    ///   retries, `.wrongTenant` for a 403 or an unknown gateway path, `.unexpectedResponse`
    ///   for anything but the results envelope.
    /// Spaces the calls under ``CloudSuiteConnection/callsPerMinute``.
    private var pacer: CallPacer

    public func execute(_ program: String, _ transaction: String, fields: [(String, String)] = [], maxRecords: Int? = nil) async throws -> MIResult {
        if let wait = pacer.reserve(now: transport.clock.now()) { try await transport.clock.sleep(for: wait) }
        var query = fields
        if let company = connection.company { query.append(("cono", String(company))) }
        if let maxRecords { query.append(("maxrecs", String(maxRecords))) }
        var url = "\(connection.ionapi.apiBase)/M3/m3api-rest/v2/execute/\(program)/\(transaction)"
        if let maxRecords { url += ";maxrecs=\(maxRecords)" }  // some servers honour only one spelling
        if !query.isEmpty { url += "?" + query.map { "\($0.0)=\($0.1.percentEncoded())" }.joined(separator: "&") }
        // MI writes travel as GETs too; only reads may be sent again after a lost answer or a 5xx
        // (AddSupplier, AddHead, AddLine are not idempotent: a blind repeat makes a second one)
        let repeatable = Self.isRead(transaction)
        let reply = try await tokens.call(fetch: { try await self.nextToken() }) { token in
            try await transport.send("GET", url, headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")], idempotent: repeatable)
        }
        return try Self.result(reply, program: program, transaction: transaction)
    }

    /// `Get…`, `Lst…`, `Search…` transactions only read.
    public static func isRead(_ transaction: String) -> Bool {
        ["Get", "Lst", "Search", "Sel"].contains { transaction.hasPrefix($0) }
    }

    static func result(_ reply: HTTPReply, program: String, transaction: String) throws -> MIResult {
        switch reply.status {
        case 200: break
        case 403: throw SyncError(.wrongTenant, "the ION API gateway refused \(program)/\(transaction) (403); check the tenant (ti) and that the app may call M3")
        case 404: throw SyncError(.wrongTenant, "the ION API gateway has no M3 API at this tenant (404); check ti and iu in the .ionapi file")
        case 429: throw SyncError(.rateLimited, "the ION API gateway quota is spent (429)")
        default: throw SyncError(.rejected, "the ION API gateway answered \(reply.status) to \(program)/\(transaction): \(reply.excerpt)")
        }
        guard let body = try? JSONValue(parsing: reply.body), let first = body["results"]?.arrayValue?.first else {
            throw SyncError(.unexpectedResponse, "M3 answered \(program)/\(transaction) without a results envelope: \(reply.excerpt)")
        }
        let records: [[String: String]] = (first["records"]?.arrayValue ?? []).map { row in
            (row.objectValue ?? [:]).mapValues { $0.scalarText.trimmingCharacters(in: .whitespaces) }
        }
        var error: MIError?
        if let message = first["errorMessage"]?.stringValue {
            error = MIError(
                type: first["errorType"]?.stringValue ?? "", code: first["errorCode"]?.stringValue ?? "",
                field: first["errorField"]?.stringValue ?? "", message: message.trimmingCharacters(in: .whitespaces))
        }
        return MIResult(transaction: first["transaction"]?.stringValue ?? transaction, records: records, error: error)
    }
}
