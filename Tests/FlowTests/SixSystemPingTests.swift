import AsyncHTTPClient
import CloudSuiteClient
import ConnectorApp
import Foundation
import Logging
import ProcurifyClient
import SAPB1Client
import SyncEngine
import Testing

/// `simulate` + `ping --all` for six systems, through the config `simulate --write-config`
/// writes, and every kind of wrong credential landing in its category. Faults and settings go
/// through each simulator's `/_sim/` control API, as a script would send them.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SixSystemPingTests {
    static let secrets = [
        DemoData.clientSecret, DemoData.operatorPassword, DemoData.odataPassword, DemoData.cin7ApplicationKey, DemoData.procurifyClientSecret,
        DemoData.sapPassword, DemoData.ionClientSecret, DemoData.ionSecretKey,
    ]

    @Test func pingAllThroughTheWrittenConfigSucceedsForSixSystems() async throws {
        try await withSimulators { running in
            let config = try ConnectorConfig.load(path: running.configPath)
            let targets = try PingTarget.resolve(config: config, connection: nil, systems: PingTarget.systems, vault: nil)
            #expect(targets.map(\.system) == PingTarget.systems)
            let logs = CapturedLogs()
            let results = await Ping.all(targets, http: running.http, logger: logs.logger(), clock: running.clock)
            var contracts: [ContractSuite.Outcome] = []
            for target in targets { contracts += await ContractSuite.verify(try target.endpoint.get(), http: running.http, logger: logs.logger(), allowWrites: true, clock: running.clock) }
            #expect(contracts.allSatisfy { $0.status == .passed }, "\(ContractSuite.describe(contracts))")
            #expect(logs.count > 50)  // every request is logged at trace level…
            for secret in Self.secrets { #expect(!logs.text.contains(secret), "a secret reached a log line") }  // …and no secret with it
            #expect(results.map(\.system) == PingTarget.systems)
            for result in results {
                #expect(result.ok, "\(Ping.describe(result))")
                #expect(result.reachable && result.authenticated && result.read != nil)
                #expect(result.looksLikeSandbox == true)
            }
            #expect(results.first { $0.system == "cloudsuite" }?.tokenLifetimeSeconds == 7200)
            #expect(results.first { $0.system == "procurify" }?.tokenLifetimeSeconds == 86_400)
            #expect(results.first { $0.system == "sapb1" }?.session?.contains("30 min idle timeout") == true)
            // the config holds references only; the secret files are owner-only
            let text = try String(contentsOfFile: running.configPath, encoding: .utf8)
            for secret in Self.secrets { #expect(!text.contains(secret)) }
            let ionapi = (running.configPath as NSString).deletingLastPathComponent + "/secrets/cloudsuite.ionapi"
            let mode = try FileManager.default.attributesOfItem(atPath: ionapi)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let output = String(decoding: try JSONEncoder().encode(results), as: UTF8.self) + results.map(Ping.describe).joined()
            for secret in Self.secrets { #expect(!output.contains(secret)) }
        }
    }

    @Test func eachKindOfWrongCredentialGetsItsCategory() async throws {
        try await withSimulators { running in
            let (http, endpoints) = (running.http, running.endpoints)
            let procurifyBase = try #require(endpoints.procurify)
            let sapBase = try #require(endpoints.sapb1)
            let cloudBase = try #require(endpoints.cloudsuite)
            var results: [Ping.Result] = []
            func ping(_ result: Ping.Result, is category: Ping.Category, reachable: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(result.failure?.category == category, "\(Ping.describe(result))", sourceLocation: sourceLocation)
                #expect(result.reachable == reachable, sourceLocation: sourceLocation)
                #expect(!result.ok, sourceLocation: sourceLocation)
                results.append(result)
            }

            // Procurify: wrong secret; an application whose user lacks permissions; a closed port.
            let procurify = ProcurifyConnection(baseURL: procurifyBase, clientID: DemoData.procurifyClientID, clientSecret: "wrong-procurify-secret")
            ping(await Ping.procurify(procurify, name: "t", http: http, logger: quiet, clock: running.clock), is: .badCredentials)
            try await simControl(procurifyBase, "/_sim/seed", ["applications": [["clientId": "clerk-app", "clientSecret": "clerk-secret", "email": "clerk@acme.example", "permitted": false]]], http: http)
            let clerk = ProcurifyConnection(baseURL: procurifyBase, clientID: "clerk-app", clientSecret: "clerk-secret")
            ping(await Ping.procurify(clerk, name: "t", http: http, logger: quiet, clock: running.clock), is: .missingPermission)
            // a closed port, and https against the simulator's plain-HTTP port (the TLS handshake fails)
            let (closed, tls) = try await HTTPClient.withHTTPClient(configuration: .init(timeout: .init(connect: .milliseconds(300)))) { short in
                let closed = await Ping.procurify(ProcurifyConnection(baseURL: "http://127.0.0.1:9", clientID: "x", clientSecret: "y"), name: "t", http: short, logger: quiet, clock: running.clock)
                let tls = await Ping.procurify(
                    ProcurifyConnection(baseURL: procurifyBase.replacingOccurrences(of: "http://", with: "https://"), clientID: "x", clientSecret: "y"),
                    name: "t", http: short, logger: quiet, clock: running.clock)
                return (closed, tls)
            }
            ping(closed, is: .connect, reachable: false)
            ping(tls, is: .connect, reachable: false)
            #expect(tls.failure?.message.contains("TLS handshake failed") == true, "\(Ping.describe(tls))")

            // SAP B1: a wrong password and a wrong company database both come back as a refused login
            // (SAP does not say which); the advice names all three. An HTML page instead of the Service Layer.
            let sap = SAPB1Connection(serviceRoot: sapBase + "/b1s/v1", companyDB: DemoData.sapCompanyDB, userName: DemoData.sapUser, password: "wrong-b1-password")
            ping(await Ping.sapb1(sap, name: "t", http: http, logger: quiet, clock: running.clock), is: .badCredentials)
            let company = SAPB1Connection(serviceRoot: sapBase + "/b1s/v1", companyDB: "SBOPRODXX", userName: DemoData.sapUser, password: DemoData.sapPassword)
            let wrongCompany = await Ping.sapb1(company, name: "t", http: http, logger: quiet, clock: running.clock)
            ping(wrongCompany, is: .badCredentials)
            #expect(wrongCompany.failure?.nextStep.contains("company database (SBOPRODXX)") == true)
            try await simControl(sapBase, "/_sim/faults", ["path": "*/Login", "nth": 1, "effect": ["status": 200, "body": "<html><body>Welcome to SLD</body></html>"]], http: http)
            let good = SAPB1Connection(serviceRoot: sapBase + "/b1s/v1", companyDB: DemoData.sapCompanyDB, userName: DemoData.sapUser, password: DemoData.sapPassword)
            ping(await Ping.sapb1(good, name: "t", http: http, logger: quiet, clock: running.clock), is: .unexpectedResponse)

            // CloudSuite: wrong service-account secret, wrong client secret, a company the service
            // user may not use, and a truncated token answer.
            func ionapi(_ change: (inout [String: JSONValue]) -> Void) throws -> IonAPIFile {
                var fields = DemoData.ionapiFile(base: cloudBase).objectValue ?? [:]
                change(&fields)
                return try IonAPIFile(text: JSONValue.object(fields).canonicalJSON())
            }
            let badKey = CloudSuiteConnection(ionapi: try ionapi { $0["sask"] = "wrong-sask" })
            ping(await Ping.cloudsuite(badKey, name: "t", http: http, logger: quiet, clock: running.clock), is: .badCredentials)
            let badClient = CloudSuiteConnection(ionapi: try ionapi { $0["cs"] = "wrong-cs" })
            ping(await Ping.cloudsuite(badClient, name: "t", http: http, logger: quiet, clock: running.clock), is: .badCredentials)
            let otherCompany = CloudSuiteConnection(ionapi: try ionapi { _ in }, company: 200)
            let tenant = await Ping.cloudsuite(otherCompany, name: "t", http: http, logger: quiet, clock: running.clock)
            ping(tenant, is: .wrongTenant)
            #expect(tenant.failure?.message.contains("XAU0008") == true)
            try await simControl(cloudBase, "/_sim/faults", ["path": "*/as/token.oauth2", "nth": 1, "effect": ["truncateBody": true]], http: http)
            ping(await Ping.cloudsuite(CloudSuiteConnection(ionapi: try ionapi { _ in }), name: "t", http: http, logger: quiet, clock: running.clock), is: .unexpectedResponse)

            // Procurify throttled: one call a minute, and the ping makes two.
            try await simControl(procurifyBase, "/_sim/seed", ["settings": ["callsPerMinute": 1]], http: http)
            let throttled = ProcurifyConnection(baseURL: procurifyBase, clientID: DemoData.procurifyClientID, clientSecret: DemoData.procurifyClientSecret)
            let limited = await Ping.procurify(throttled, name: "t", http: http, logger: quiet, clock: running.clock)
            ping(limited, is: .rateLimited)
            #expect(limited.failure?.message.contains("it asks to wait 60 s") == true, "\(Ping.describe(limited))")

            let output = String(decoding: try JSONEncoder().encode(results), as: UTF8.self)
            for secret in Self.secrets + ["wrong-procurify-secret", "clerk-secret", "wrong-b1-password", "wrong-sask", "wrong-cs"] {
                #expect(!output.contains(secret), "a secret leaked into a ping result")
            }
        }
    }

    @Test func anIonapiFileWithoutItsKeysIsAClearConfigurationFailure() async throws {
        var fields = DemoData.ionapiFile(base: "http://127.0.0.1:1").objectValue ?? [:]
        fields["saak"] = nil
        fields["sask"] = nil
        fields["ot"] = nil
        let text = JSONValue.object(fields).canonicalJSON()
        #expect {
            try IonAPIFile(text: text)
        } throws: { error in
            let message = (error as? SyncError)?.message ?? ""
            return message.contains("lacks ot, saak, sask") && message.contains("Backend Service") && !message.contains(DemoData.ionClientSecret)
        }
        #expect(throws: SyncError.self) { try IonAPIFile(text: "<html>not json</html>") }

        // Through a config: the broken file fails its own system only, as a configuration problem.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-ionapi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("broken.ionapi")
        try Data(text.utf8).write(to: file)
        let configPath = directory.appendingPathComponent("config.yaml").path
        try Data("""
            integrations: []
            connections:
              - name: m3
                cloudsuite:
                  ionapi: file:\(file.path)
              - name: p2p
                procurify:
                  baseURL: http://127.0.0.1:9
                  clientId: x
                  clientSecret: env:MLC_TEST_UNSET_PROCURIFY_SECRET
            """.utf8).write(to: URL(fileURLWithPath: configPath))
        let config = try ConnectorConfig.load(path: configPath)
        let targets = try PingTarget.resolve(config: config, connection: nil, systems: PingTarget.systems, vault: nil)
        #expect(targets.map(\.system) == ["procurify", "cloudsuite"])
        let results = try await HTTPClient.withHTTPClient { http in await Ping.all(targets, http: http, logger: quiet) }
        #expect(results.allSatisfy { $0.failure?.category == .configuration && !$0.reachable })
        #expect(results.first { $0.system == "cloudsuite" }?.failure?.message.contains("lacks ot, saak, sask") == true)
        #expect(results.first { $0.system == "procurify" }?.failure?.message.contains("MLC_TEST_UNSET_PROCURIFY_SECRET") == true)
        // a config that names a connection without any system is refused when loaded
        try Data("integrations: []\nconnections:\n  - name: empty\n".utf8).write(to: URL(fileURLWithPath: configPath))
        #expect(throws: SyncError.self) { try ConnectorConfig.load(path: configPath) }
    }

    @Test func theSampleConfigLoadsAndNamesEverySystem() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/config/sample.yaml").path
        let config = try ConnectorConfig.load(path: path)
        #expect(config.integrations.map(\.flow) == ["syspro-procore"])
        #expect(config.connections?.first?.systems == ["cin7", "procurify", "sapb1", "cloudsuite"])
        // without the vault and the environment variables every system reports what is missing, none crashes
        let targets = try PingTarget.resolve(config: config, connection: nil, systems: PingTarget.systems, vault: nil)
        #expect(targets.map(\.system) == PingTarget.systems)
        for target in targets {
            guard case .failure(let error) = target.endpoint else { Issue.record("\(target.system) resolved without its secret"); continue }
            #expect(error.code == .invalidConfig)
        }
    }
}
