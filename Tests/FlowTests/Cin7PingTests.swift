import AsyncHTTPClient
import Cin7Client
import Cin7Simulator
import ConnectorApp
import Foundation
import Logging
import SimulatorKit
import SyncEngine
import Testing

/// The Cin7 Core simulator's auth and read paths, and `ping cin7` against it.
@Suite(.serialized) struct Cin7PingTests {
    func withCin7(_ body: @Sendable (SimulatorCore, Cin7Backend, Cin7Connection, HTTPClient) async throws -> Void) async throws {
        let clock = ManualClock()
        let (core, backend) = Cin7Simulator.makeCore(clock: clock)
        try await backend.seed(DemoData.generate(purchaseOrders: 1, today: clock.now()).cin7)
        try await SimulatorHost.withRunning([core]) { urls in
            // the base segment in lower case: Cin7 matches paths case-insensitively
            let connection = Cin7Connection(
                baseURL: urls["cin7"]! + "/externalapi/v2", accountID: DemoData.cin7AccountID, applicationKey: DemoData.cin7ApplicationKey)
            try await HTTPClient.withHTTPClient { http in try await body(core, backend, connection, http) }
        }
    }

    @Test func simulatorSpeaksCin7() async throws {
        let clock = ManualClock()
        let (core, backend) = Cin7Simulator.makeCore(clock: clock)
        try await backend.seed(DemoData.generate(purchaseOrders: 1, today: clock.now()).cin7)
        let auth = ["api-auth-accountid": DemoData.cin7AccountID, "api-auth-applicationkey": DemoData.cin7ApplicationKey]
        let page = await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/Supplier", rawQuery: "page=2&limit=3", headers: auth))
        let body = try JSONDecoder().decode(JSONValue.self, from: page.body)
        #expect(body["Total"] == 8)
        #expect(body["Page"] == 2)
        #expect(body["SupplierList"]?.arrayValue?.count == 3)
        let denied = await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: ["api-auth-accountid": DemoData.cin7AccountID]))
        #expect(denied.status == 403)
        #expect(try JSONDecoder().decode(JSONValue.self, from: denied.body).arrayValue?.first?["ErrorCode"] == 403)
        #expect(await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/Products", headers: auth)).status == 404)
        var settings = Cin7Backend.Settings()
        settings.callsPerMinute = 2
        await backend.setSettings(settings)
        clock.advance(by: .seconds(60))  // a fresh minute: two calls pass, the third is throttled
        #expect(await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: auth)).status == 200)
        #expect(await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: auth)).status == 200)
        let throttled = await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: auth))
        #expect(throttled.status == 503)
        #expect(String(decoding: throttled.body, as: UTF8.self).contains("60 calls per minute"))
        clock.advance(by: .seconds(60))
        #expect(await core.respond(SimRequest(method: "GET", path: "/ExternalApi/v2/me", headers: auth)).status == 200)
    }

    @Test func pingSucceedsAndNamesBadKeysAndThrottling() async throws {
        try await withCin7 { _, backend, connection, http in
            let ok = await Ping.cin7(connection, name: "cin7", http: http, logger: quiet)
            #expect(ok.ok, "\(Ping.describe(ok))")
            #expect(ok.read == "Acme Builders Supply; 8 supplier(s)")
            var wrong = connection
            wrong.applicationKey = "00000000-0000-0000-0000-000000000000"
            let denied = await Ping.cin7(wrong, name: "cin7", http: http, logger: quiet)
            #expect(denied.failure?.category == .badCredentials)
            #expect(denied.reachable)
            var settings = Cin7Backend.Settings()
            settings.callsPerMinute = 0
            await backend.setSettings(settings)
            #expect(await Ping.cin7(connection, name: "cin7", http: http, logger: quiet).failure?.category == .rateLimited)
        }
    }
}
