import AsyncHTTPClient
import ClientKit
import CloudSuiteClient
import Foundation
import Logging
import ProcoreClient
import ProcurifyClient
import SAPB1Client
import SimulatorKit
import SyncEngine
import Testing

/// A server that answers every request with `status` and a body full of credentials: what a
/// broken token endpoint or proxy might send back.
struct LeakyServer: SimulatedSystem {
    static let secrets = ["LEAKED-ACCESS-TOKEN-4711", "LEAKED-REFRESH-9000", "LEAKED-SESSION-C0FFEE"]
    let status: Int
    var name: String { "leaky" }
    func handle(_ request: SimRequest) async -> SimResponse {
        let body: JSONValue = [
            "access_token": .string(Self.secrets[0]), "refresh_token": .string(Self.secrets[1]), "SessionId": .string(Self.secrets[2]),
            "token_type": "bearer", "error": "server_error", "error_description": "upstream failure",
        ]
        var response = SimResponse.json(status, body)
        if status == 200 {  // a 200 whose token is unusable (no expiry, no session timeout)
            response = .json(200, ["access_token": .string(Self.secrets[0]), "refresh_token": .string(Self.secrets[1]), "Session": .string(Self.secrets[2])])
        }
        return response
    }
    func apply(_ action: FaultAction) async {}
    func reset() async {}
    func seed(_ data: JSONValue) async throws {}
}

/// No token or login answer reaches an error message: every bearer-token and session client,
/// against a server that puts secrets in a failed (or unusable) token answer.
@Suite(.serialized, .timeLimit(.minutes(2))) struct TokenBodyTests {
    @Test(arguments: [500, 502, 418, 200])
    func noTokenResponseBodyInAnyErrorMessage(_ status: Int) async throws {
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))
        let core = SimulatorCore(system: LeakyServer(status: status), clock: clock)
        try await SimulatorHost.withRunning([core], logger: quiet) { urls in
            let base = try #require(urls["leaky"])
            try await HTTPClient.withHTTPClient { http in
                func transport(_ system: String) -> HTTPTransport {
                    HTTPTransport(http: http, system: system, clock: clock, policy: BackoffPolicy(maxAttempts: 1), logger: quiet)
                }
                var messages: [String] = []
                func capture(_ call: () async throws -> Void) async {
                    do {
                        try await call()
                        messages.append("no error")
                    } catch {
                        messages.append("\(error)")
                    }
                }
                let procore = ProcoreClient(
                    connection: ProcoreConnection(loginBase: base, apiBase: base, clientID: "id", clientSecret: "secret", companyID: 8),
                    transport: transport("procore"))
                await capture { try await procore.refreshToken() }
                let procurify = ProcurifyClient(
                    connection: ProcurifyConnection(baseURL: base, clientID: "id", clientSecret: "secret"), transport: transport("procurify"))
                await capture { try await procurify.refreshToken() }
                let sap = SAPB1Client(
                    connection: SAPB1Connection(serviceRoot: base + "/b1s/v1", companyDB: "SBODEMO", userName: "manager", password: "pw"),
                    transport: transport("sapb1"))
                await capture { try await sap.login() }
                let ionapi = try IonAPIFile(text: """
                    {"ti":"T","ci":"ci","cs":"cs","iu":"\(base)","pu":"\(base)/","ot":"token.oauth2","saak":"a","sask":"b"}
                    """)
                let cloudsuite = CloudSuiteClient(connection: CloudSuiteConnection(ionapi: ionapi, company: nil), transport: transport("cloudsuite"))
                await capture { try await cloudsuite.logIn() }
                #expect(messages.count == 4)
                for message in messages {
                    #expect(message != "no error")
                    for secret in LeakyServer.secrets {
                        #expect(!message.contains(secret), "\(message)")
                    }
                }
            }
        }
    }
}
