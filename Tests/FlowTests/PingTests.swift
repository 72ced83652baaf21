import AsyncHTTPClient
import ConnectorApp
import Foundation
import Logging
import ProcoreClient
import SimulatorKit
import SysproClient
import Testing

/// `ml-connector ping` against the simulators: success, and the right category for each kind of
/// wrong credential or broken answer.
@Suite(.serialized, .timeLimit(.minutes(3))) struct PingTests {
    @Test func bothSystemsAnswerWithTheirFigures() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, _ in
            let syspro = await Ping.syspro(env.sysproConnection, name: "demo", http: env.http, logger: quiet, clock: env.clock)
            #expect(syspro.ok, "\(Ping.describe(syspro))")
            #expect(syspro.read?.contains("PorMasterHdr") == true)
            #expect(syspro.looksLikeSandbox == true)  // EDU1 is SYSPRO's education company
            #expect(await env.syspro.openSessions == 0)  // logged off again
            let procore = await Ping.procore(env.procoreConnection, name: "demo", http: env.http, logger: quiet, clock: env.clock)
            #expect(procore.ok, "\(Ping.describe(procore))")
            #expect(procore.tokenLifetimeSeconds == 5400)
            #expect(procore.read == "company 8: 3 project(s) visible")
            #expect(procore.rateLimit?.contains("/25 requests left in the 10-second spike window") == true)  // the spike window, on by default
        }
    }

    @Test func wrongCredentialsAreCategorised() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, _ in
            var procore = env.procoreConnection
            procore.clientSecret = "wrong"
            #expect(await Ping.procore(procore, name: "x", http: env.http, logger: quiet, clock: env.clock).failure?.category == .badCredentials)
            procore = env.procoreConnection
            procore.companyID = 9
            let tenant = await Ping.procore(procore, name: "x", http: env.http, logger: quiet, clock: env.clock)
            #expect(tenant.failure?.category == .wrongTenant)
            #expect(tenant.failure?.message.contains("(8)") == true)

            var syspro = env.sysproConnection
            syspro.operatorPassword = "wrong"
            let password = await Ping.syspro(syspro, name: "x", http: env.http, logger: quiet, clock: env.clock)
            #expect(password.failure?.category == .badCredentials)
            #expect(password.failure?.message.contains("Invalid operator password") == true)
            syspro = env.sysproConnection
            syspro.companyID = "NOPE"
            #expect(await Ping.syspro(syspro, name: "x", http: env.http, logger: quiet, clock: env.clock).failure?.category == .wrongTenant)
            syspro = env.sysproConnection
            syspro.odataPassword = "wrong"
            let odata = await Ping.syspro(syspro, name: "x", http: env.http, logger: quiet, clock: env.clock)
            #expect(odata.failure?.category == .badCredentials)
            #expect(odata.failure?.nextStep.contains("OData password") == true)
            #expect(!odata.failure!.message.contains("wrong"))  // the secret never appears
        }
    }

    @Test func unreachableHostsAndBrokenAnswersAreCategorised() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, _ in
            var procore = env.procoreConnection
            procore.loginBase = "http://127.0.0.1:9"
            procore.apiBase = "http://127.0.0.1:9"
            // a short connect deadline: a refused connection is retried until it runs out
            let config = HTTPClient.Configuration(timeout: .init(connect: .milliseconds(300)))
            let down = try await HTTPClient.withHTTPClient(configuration: config) { http in
                await Ping.procore(procore, name: "x", http: http, logger: quiet, clock: env.clock)
            }
            #expect(down.failure?.category == .connect)
            #expect(!down.reachable)

            env.sysproCore.faults.add(FaultRule(
                path: "*/PorMasterHdr", nth: 1, effect: FaultEffect(status: 200, body: "<html><body>Sign in to continue</body></html>")))
            #expect(await Ping.syspro(env.sysproConnection, name: "x", http: env.http, logger: quiet, clock: env.clock).failure?.category == .unexpectedResponse)

            env.procoreCore.faults.add(FaultRule(path: "/rest/v1.0/projects", nth: 1, effect: FaultEffect(status: 403, body: #"{"errors":"Forbidden"}"#)))
            #expect(await Ping.procore(env.procoreConnection, name: "x", http: env.http, logger: quiet, clock: env.clock).failure?.category == .missingPermission)
            env.procoreCore.faults.add(FaultRule(path: "/rest/v1.0/companies", nth: 1, effect: FaultEffect(status: 429, headers: ["Retry-After": "30"])))
            #expect(await Ping.procore(env.procoreConnection, name: "x", http: env.http, logger: quiet, clock: env.clock).failure?.category == .rateLimited)
        }
    }
}
