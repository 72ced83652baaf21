import AsyncHTTPClient
import ClientKit
import CloudSuiteClient
import ConnectorApp
import Foundation
import ProcurifyClient
import SAPB1Client
import SyncEngine
import Testing

/// Token and session lifecycles of the Procurify, SAP B1 and CloudSuite clients against their
/// simulators over loopback HTTP: a token that dies mid-use, a session killed or timed out, the
/// proactive renewal before expiry. The clients run on the simulators' own clock: one clock per test.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ReferenceClientTests {
    func withSimulators(_ body: @Sendable (RunningSimulators) async throws -> Void) async throws {
        try await FlowTests.withSimulators(["procurify", "sapb1", "cloudsuite"], body)
    }

    /// Moves the clock the simulators and the clients share, through a simulator's `/_sim/`
    /// control API as a script would (the simulators share one clock, so one call moves them all).
    func advance(_ running: RunningSimulators, seconds: Double) async throws {
        let before = running.clock.now()
        try await simControl(running.endpoints.procurify, "/_sim/clock/advance", ["seconds": .number(seconds)], http: running.http)
        #expect(running.clock.now().timeIntervalSince(before) == seconds)
    }

    func transport(_ running: RunningSimulators, _ system: String) -> HTTPTransport {
        HTTPTransport(http: running.http, system: system, clock: running.clock, logger: quiet)
    }

    @Test func procurifyRenewsADeadTokenOnceAndCachesTheGoodOne() async throws {
        try await withSimulators { running in
            let client = ProcurifyClient(
                connection: ProcurifyConnection(baseURL: try #require(running.endpoints.procurify), clientID: DemoData.procurifyClientID, clientSecret: DemoData.procurifyClientSecret),
                transport: transport(running, "procurify"))
            _ = try await client.me()
            _ = try await client.page("/api/v3/vendors/")
            #expect(await client.tokensFetched == 1)  // cached, as Procurify asks
            try await simControl(running.endpoints.procurify, "/_sim/expire-tokens", [:], http: running.http)
            let vendors = try await client.page("/api/v3/vendors/", query: [("page_size", "3")])
            #expect(vendors.count == 8)
            #expect(await client.tokensFetched == 2)  // one 401, one new token, the call replayed
            // following next links verbatim reads every vendor once
            var seen: [String] = vendors.items.compactMap { $0["external_id"]?.stringValue }
            var next = vendors.next
            while let link = next {
                let page = try await client.page(link)
                seen += page.items.compactMap { $0["external_id"]?.stringValue }
                next = page.next
            }
            #expect(seen.count == 8 && Set(seen).count == 8)
            // 24 h later (less the renewal margin) the client asks for a new token before the old one runs out
            try await advance(running, seconds: 86_400 - 300)
            _ = try await client.me()
            #expect(await client.tokensFetched == 3)
        }
    }

    @Test func sapSessionsAreRenewedAfter401And301AndLoggedOut() async throws {
        try await withSimulators { running in
            let base = try #require(running.endpoints.sapb1)
            for root in ["/b1s/v1", "/b1s/v2"] {
                let client = SAPB1Client(
                    connection: SAPB1Connection(serviceRoot: base + root, companyDB: DemoData.sapCompanyDB, userName: DemoData.sapUser, password: DemoData.sapPassword),
                    transport: transport(running, "sapb1"))
                var codes: [String] = []
                try await client.forEachPage("BusinessPartners?$select=CardCode&$filter=CardType eq 'cSupplier'", pageSize: 3) { rows in
                    codes += rows.compactMap { $0["CardCode"]?.stringValue }
                }
                #expect(codes.count == 8, "\(root)")
                #expect(await client.logins == 1)
                try await simControl(base, "/_sim/kill-sessions", [:], http: running.http)
                #expect(try await client.adminInfo()["CompanyName"] == "Acme Builders (demo)")
                #expect(await client.logins == 2, "\(root): a killed session costs one login")
                try await advance(running, seconds: 31 * 60)  // past the idle timeout
                _ = try await client.adminInfo()
                #expect(await client.logins == 3, "\(root): a timed-out session costs one login")
                await client.logout()
                #expect(await client.isLoggedIn == false)
            }
            // a -5002 business error is not a session problem: no re-login, a clear rejection
            let client = SAPB1Client(
                connection: SAPB1Connection(serviceRoot: base + "/b1s/v1", companyDB: DemoData.sapCompanyDB, userName: DemoData.sapUser, password: DemoData.sapPassword),
                transport: transport(running, "sapb1"))
            try await simControl(base, "/_sim/faults", ["path": "*/CompanyService_GetAdminInfo", "nth": 1, "effect": [
                "status": 400, "body": #"{"error":{"code":-5002,"message":{"lang":"en-us","value":"Internal error (-5002) occurred"}}}"#]], http: running.http)
            await #expect {
                try await client.adminInfo()
            } throws: { error in
                (error as? SyncError)?.code == .rejected && "\(error)".contains("-5002")
            }
            #expect(await client.logins == 1)
            // a failed page is one request and a clear error, not a silent stop
            await #expect {
                try await client.forEachPage("NoSuchSet?$top=1") { _ in }
            } throws: { error in
                (error as? SyncError)?.code == .rejected && "\(error)".contains("404")
            }
            await client.logout()
        }
    }

    @Test func cloudSuiteRenewsWithTheRefreshTokenAndRevokes() async throws {
        try await withSimulators { running in
            let base = try #require(running.endpoints.cloudsuite)
            let file = try IonAPIFile(text: DemoData.ionapiFile(base: base).canonicalJSON())
            #expect(file.apiBase == base + "/ACME_TST")
            let client = CloudSuiteClient(connection: CloudSuiteConnection(ionapi: file, company: DemoData.m3Company), transport: transport(running, "cloudsuite"))
            let first = try await client.execute("CRS620MI", "LstSuppliers", maxRecords: 0)
            #expect(first.error == nil)
            #expect(first.records.count == 8)
            #expect(first.records.allSatisfy { $0["CONO"] == "100" })
            #expect(await client.hasRefreshToken)
            try await simControl(base, "/_sim/expire-tokens", [:], http: running.http)
            let again = try await client.execute("CRS620MI", "GetBasicData", fields: [("SUNO", "V1001")])
            #expect(again.records.first?["SUNM"] == "Pacific Rebar Supply")
            #expect(await client.tokensFetched == 2)
            try await advance(running, seconds: 7200 - 200)  // inside the renewal margin: renewed before it dies
            _ = try await client.execute("CRS620MI", "LstSuppliers", maxRecords: 1)
            #expect(await client.tokensFetched == 3)
            let missing = try await client.execute("CRS620MI", "GetBasicData", fields: [("SUNO", "NOSUCH")])
            #expect(missing.error?.code == "WSU0103")
            await client.revoke()
            // after a revoke the refresh token is gone; the next call logs in with the service account again
            _ = try await client.execute("CRS620MI", "LstSuppliers", maxRecords: 1)
            #expect(await client.tokensFetched == 4)
        }
    }
}
