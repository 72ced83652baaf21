import ClientKit
import CloudSuiteClient
import ConnectorApp
import Foundation
import ProcoreClient
import ProcurifyClient
import SyncEngine
import Testing

/// The test's one clock as a machine whose clock is `offset` seconds off would read it: the
/// client runs on this, the simulators on the base clock, so the two stay exactly that far apart.
struct OffsetClock: SyncClock {
    let base: ManualClock
    let offset: TimeInterval
    func now() -> Date { base.now().addingTimeInterval(offset) }
    func sleep(for duration: Duration) async throws { try await base.sleep(for: duration) }
}

/// A server whose clock is days away from the client's costs exactly one token request per
/// token lifetime, for every bearer-token client (the bug that hung `swift test` once the
/// calendar passed the simulators' fixed date), and `ping` names the skew.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ClockSkewTests {
    static let threeDays: [TimeInterval] = [-3 * 86_400, 3 * 86_400]

    @Test(arguments: threeDays)
    func procoreTokenFromAServerDaysOffCostsOneRequest(_ serverAhead: TimeInterval) async throws {
        try await withEnvironment(purchaseOrders: 2) { env, _ in
            let clientClock = OffsetClock(base: env.clock, offset: -serverAhead)
            let client = ProcoreClient(connection: env.procoreConnection, transport: HTTPTransport(http: env.http, system: "procore", clock: clientClock, logger: quiet))
            for _ in 0..<5 {
                let companies = try await client.list("/rest/v1.0/companies", query: [], what: "companies")
                #expect(!companies.isEmpty)
            }
            #expect(await client.tokensFetched == 1)
            let skew = try #require(await client.clockSkew)
            #expect(abs(skew - serverAhead) < 1)  // created_at is whole seconds
            // a full lifetime on the client's clock later (less the margin) it renews once
            await env.advance(by: .seconds(5400 - 200))
            _ = try await client.list("/rest/v1.0/companies", query: [], what: "companies")
            #expect(await client.tokensFetched == 2)

            let ping = await Ping.procore(env.procoreConnection, name: "skewed", http: env.http, logger: quiet, clock: clientClock)
            #expect(ping.ok, "\(Ping.describe(ping))")
            let warning = try #require(ping.warnings.first)
            #expect(warning.contains("3 d 0 h \(serverAhead > 0 ? "ahead of" : "behind") this machine's"), "\(warning)")
            #expect(Ping.describe(ping).contains("warning: Procore says it issued the token at"))
        }
    }

    @Test func procoreTokensShorterThanTheRenewalMarginFailWithTheFigures() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, _ in
            var settings = await env.procore.settings
            settings.tokenLifetimeSeconds = 200
            await env.procore.setSettings(settings)
            let client = env.makeProcoreClient()
            await #expect {
                try await client.list("/rest/v1.0/companies", query: [], what: "companies")
            } throws: { error in
                (error as? SyncError)?.code == .authFailed && "\(error)".contains("lives 200 s") && "\(error)".contains("renewal margin of 300 s")
            }
            #expect(await client.tokensFetched == 1)
            let ping = await Ping.procore(env.procoreConnection, name: "short", http: env.http, logger: quiet, clock: env.clock)
            #expect(ping.failure?.category == .badCredentials)
            #expect(ping.failure?.message.contains("lives 200 s") == true)
        }
    }

    @Test(arguments: threeDays)
    func procurifyAndCloudSuiteTokensFromServersDaysOffCostOneRequest(_ serverAhead: TimeInterval) async throws {
        try await withSimulators(["procurify", "cloudsuite"]) { running in
            let clientClock = OffsetClock(base: running.clock, offset: -serverAhead)
            func transport(_ system: String) -> HTTPTransport { HTTPTransport(http: running.http, system: system, clock: clientClock, logger: quiet) }
            let procurify = ProcurifyClient(
                connection: ProcurifyConnection(baseURL: try #require(running.endpoints.procurify), clientID: DemoData.procurifyClientID, clientSecret: DemoData.procurifyClientSecret),
                transport: transport("procurify"))
            for _ in 0..<5 { _ = try await procurify.me() }
            #expect(await procurify.tokensFetched == 1)

            let file = try IonAPIFile(text: DemoData.ionapiFile(base: try #require(running.endpoints.cloudsuite)).canonicalJSON())
            let cloudsuite = CloudSuiteClient(connection: CloudSuiteConnection(ionapi: file, company: DemoData.m3Company), transport: transport("cloudsuite"))
            for _ in 0..<5 {
                let answer = try await cloudsuite.execute("CRS620MI", "LstSuppliers", maxRecords: 1)
                #expect(answer.error == nil)
            }
            #expect(await cloudsuite.tokensFetched == 1)
        }
    }
}
