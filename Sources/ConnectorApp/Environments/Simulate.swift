import CloudSuiteSimulator
import Foundation
import Logging
import ProcoreSimulator
import ProcurifySimulator
import SAPB1Simulator
import SimulatorKit
import SyncEngine
import SysproSimulator
import Cin7Simulator

/// `ml-connector simulate`: the simulators served standalone for clients in any language, seeded
/// with the demo data set, on the wall clock.
public enum Simulate {
    /// What a client needs to reach the simulators.
    public struct Endpoints: Codable, Sendable {
        public var syspro: String?
        public var procore: String?
        public var cin7: String?
        public var procurify: String?
        public var sapb1: String?
        public var cloudsuite: String?
        /// The config file written for these endpoints (`--write-config`).
        public var config: String?
    }

    public static let systems = BusinessSystem.names

    /// Serves until the task is cancelled or the process is stopped.
    /// - Parameters:
    ///   - purchaseOrders: size of the generated data set.
    ///   - unlimited: lift the request budgets (Procore's hourly one, Cin7's per minute) for
    ///     benchmarks, where the budget would otherwise be what is measured.
    ///   - announce: receives the endpoints once every listener is bound.
    ///   - systems: which simulators to serve.
    ///   - dataFile: a JSON file `{"syspro": {…}, "procore": {…}, …}` in each simulator's seed
    ///     format, instead of the generated demo data.
    ///   - simulatedClock: run on a manual clock (moved with `POST /_sim/clock/advance`) instead of
    ///     the wall clock.
    ///   - configDirectory: write a ready config there (see ``writeConfig(for:into:)``).
    public static func serve(
        host: String = "127.0.0.1", firstPort: Int = 0, systems: [String] = Simulate.systems, purchaseOrders: Int,
        dataFile: String? = nil, simulatedClock: Bool = false, unlimited: Bool, configDirectory: String? = nil, logger: Logger,
        announce: @Sendable (Endpoints) -> Void
    ) async throws {
        try await withRunning(
            host: host, firstPort: firstPort, systems: systems, purchaseOrders: purchaseOrders, dataFile: dataFile,
            simulatedClock: simulatedClock, unlimited: unlimited, logger: logger
        ) { endpoints in
            var endpoints = endpoints
            if let configDirectory { endpoints.config = try writeConfig(for: endpoints, into: configDirectory) }
            announce(endpoints)
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
        }
    }

    /// Runs the chosen simulators on loopback for the duration of `body`.
    /// - Parameter clock: the clock the simulators run on, for a caller whose clients must share
    ///   it (tests); `nil` = a manual clock starting now when `simulatedClock`, else the wall clock.
    public static func withRunning<R: Sendable>(
        host: String = "127.0.0.1", firstPort: Int = 0, systems: [String] = Simulate.systems, purchaseOrders: Int,
        dataFile: String? = nil, simulatedClock: Bool = false, clock: (any SyncClock)? = nil, unlimited: Bool = false, logger: Logger,
        _ body: @Sendable (Endpoints) async throws -> R
    ) async throws -> R {
        let clock: any SyncClock = clock ?? (simulatedClock ? ManualClock(start: Date()) : SystemClock())
        var seeds: [String: JSONValue]
        if let dataFile {
            guard let data = FileManager.default.contents(atPath: dataFile),
                let json = try? JSONValue(parsing: data)
            else { throw SyncError(.invalidConfig, "cannot read \(dataFile) as JSON") }
            seeds = json.objectValue ?? [:]
        } else {
            let data = DemoData.generate(purchaseOrders: purchaseOrders, today: clock.now())
            seeds = ["syspro": data.syspro, "procore": data.procore, "cin7": data.cin7, "procurify": data.procurify, "sapb1": data.sapb1,
                     "cloudsuite": data.cloudsuite]
        }
        let (sysproCore, _) = SysproSimulator.makeCore(clock: clock)
        let (procoreCore, procore) = ProcoreSimulator.makeCore(clock: clock)
        let (cin7Core, cin7) = Cin7Simulator.makeCore(clock: clock)
        let (procurifyCore, procurify) = ProcurifySimulator.makeCore(clock: clock)
        let (sapCore, _) = SAPB1Simulator.makeCore(clock: clock)
        let (cloudCore, _) = CloudSuiteSimulator.makeCore(clock: clock)
        let cores = [sysproCore, procoreCore, cin7Core, procurifyCore, sapCore, cloudCore].filter { systems.contains($0.name) }
        for core in cores {
            do {
                try await core.system.seed(seeds[core.name] ?? [:])
            } catch {
                throw SyncError(.invalidConfig, "the data set does not fit the \(core.name) simulator: \(error)")
            }
        }
        if unlimited {
            var settings = await procore.settings
            settings.hourlyLimit = 1_000_000_000
            settings.spikeLimit = nil
            await procore.setSettings(settings)
            var cin7Settings = await cin7.settings
            cin7Settings.callsPerMinute = 1_000_000_000
            await cin7.setSettings(cin7Settings)
            var procurifySettings = await procurify.settings
            procurifySettings.callsPerMinute = 0
            await procurify.setSettings(procurifySettings)
        }
        return try await SimulatorHost.withRunning(cores, host: host, firstPort: firstPort, logger: logger) { urls in
            try await body(Endpoints(
                syspro: urls["syspro"], procore: urls["procore"], cin7: urls["cin7"], procurify: urls["procurify"], sapb1: urls["sapb1"],
                cloudsuite: urls["cloudsuite"]))
        }
    }

    /// Writes `config.yaml` for the running simulators into `directory`: the SYSPRO → Procore
    /// integration and one `simulators` connection with the other four, so that
    /// `ml-connector ping --all --config DIR/config.yaml` reaches all six. The simulators' demo
    /// secrets (they open nothing else) go into owner-only files under `DIR/secrets/`, referenced
    /// as `file:`; the CloudSuite `.ionapi` file is generated there too.
    /// - Returns: the config file's path.
    public static func writeConfig(for endpoints: Endpoints, into directory: String) throws -> String {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        let secrets = root.appendingPathComponent("secrets", isDirectory: true)
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: secrets, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SyncError(.invalidConfig, "cannot create \(secrets.path): \(error.localizedDescription)")
        }
        func secret(_ name: String, _ value: String) throws -> String {
            let file = secrets.appendingPathComponent(name)
            guard manager.createFile(atPath: file.path, contents: Data(value.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw SyncError(.invalidConfig, "cannot write \(file.path)")
            }
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            return "file:\(file.path)"
        }
        var lines = ["# Written by `ml-connector simulate --write-config` for the simulators it serves.",
                     "database: \(root.appendingPathComponent("ml-connector.sqlite").path)"]
        if let syspro = endpoints.syspro, let procore = endpoints.procore {
            lines += [
                "integrations:", "  - name: simulated-syspro-procore", "    flow: syspro-procore", "    sandbox: true", "    syspro:",
                "      enetBase: \(syspro)\(SysproSimulator.enetRoot)", "      odataRoot: \(syspro)\(SysproSimulator.odataRoot)/\(DemoData.sysproCompany)",
                "      operator: \(DemoData.operatorCode)", "      operatorPassword: \(try secret("syspro-operator", DemoData.operatorPassword))",
                "      companyId: \(DemoData.sysproCompany)", "      odataPassword: \(try secret("syspro-odata", DemoData.odataPassword))",
                "    procore:", "      loginBase: \(procore)", "      apiBase: \(procore)", "      clientId: \(DemoData.clientID)",
                "      clientSecret: \(try secret("procore-client-secret", DemoData.clientSecret))", "      companyId: \(DemoData.companyID)",
                "    settings:", "      costCodes:",
            ]
            for row in DemoData.costCodeMappings {
                lines.append("        - { glAccount: \"\(row.glAccount)\", costCenter: \"\(row.costCenter)\", costCode: \"\(row.costCode)\"\(row.project.map { ", project: \"\($0)\"" } ?? "") }")
            }
        } else {
            lines.append("integrations: []")
        }
        if endpoints.procore != nil {
            // for third-party clients that use Procore's user-level grants (ml-connector itself uses client credentials)
            let grants: JSONValue = [
                "client_id": .string(DemoData.clientID), "refresh_token": .string(DemoData.procoreRefreshToken),
                "authorization_code": .string(DemoData.procoreAuthorizationCode), "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                "note": "refresh tokens are single use: each refresh answers a new one",
            ]
            lines.append("# Procore user-level OAuth (refresh_token / authorization_code grants): \(try secret("procore-user-grants.json", grants.canonicalJSON()))")
        }
        var connection: [String] = []
        if let cin7 = endpoints.cin7 {
            connection += ["    cin7:", "      baseURL: \(cin7)\(Cin7Simulator.root)", "      accountId: \(DemoData.cin7AccountID)",
                           "      applicationKey: \(try secret("cin7-application-key", DemoData.cin7ApplicationKey))"]
        }
        if let procurify = endpoints.procurify {
            connection += ["    procurify:", "      baseURL: \(procurify)", "      clientId: \(DemoData.procurifyClientID)",
                           "      clientSecret: \(try secret("procurify-client-secret", DemoData.procurifyClientSecret))"]
        }
        if let sapb1 = endpoints.sapb1 {
            connection += ["    sapb1:", "      serviceRoot: \(sapb1)\(SAPB1Simulator.serviceRoot)", "      companyDB: \(DemoData.sapCompanyDB)",
                           "      userName: \(DemoData.sapUser)", "      password: \(try secret("sapb1-password", DemoData.sapPassword))"]
        }
        if let cloudsuite = endpoints.cloudsuite {
            let file = DemoData.ionapiFile(base: cloudsuite)
            connection += ["    cloudsuite:", "      ionapi: \(try secret("cloudsuite.ionapi", file.canonicalJSON()))", "      company: \(DemoData.m3Company)"]
        }
        if !connection.isEmpty { lines += ["connections:", "  - name: simulators", "    sandbox: true"] + connection }
        let path = root.appendingPathComponent("config.yaml").path
        guard manager.createFile(atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8)) else {
            throw SyncError(.invalidConfig, "cannot write \(path)")
        }
        return path
    }

    /// The human-readable description `simulate` prints.
    public static func describe(_ endpoints: Endpoints) -> String {
        var lines: [String] = []
        if let syspro = endpoints.syspro {
            lines += [
                "SYSPRO      \(syspro)",
                "  e.net REST  \(syspro)\(SysproSimulator.enetRoot)/Logon?Operator=\(DemoData.operatorCode)&OperatorPassword=…&CompanyId=\(DemoData.sysproCompany)",
                "  OData       \(syspro)\(SysproSimulator.odataRoot)/\(DemoData.sysproCompany)/PorMasterHdr  (Basic auth as \(DemoData.operatorCode))",
            ]
        }
        if let procore = endpoints.procore {
            lines += ["Procore     \(procore)", "  token       POST \(procore)/oauth/token  client_id=\(DemoData.clientID)  company \(DemoData.companyID)",
                      "              grants client_credentials, refresh_token, authorization_code (the written config's secrets hold a refresh token and a code)"]
        }
        if let cin7 = endpoints.cin7 {
            lines += ["Cin7 Core   \(cin7)", "  API         GET \(cin7)\(Cin7Simulator.root)/me  api-auth-accountid: \(DemoData.cin7AccountID)"]
        }
        if let procurify = endpoints.procurify {
            lines += ["Procurify   \(procurify)", "  token       POST \(procurify)/oauth/token  client_id=\(DemoData.procurifyClientID)",
                      "  API         GET \(procurify)/api/v3/users/me/"]
        }
        if let sapb1 = endpoints.sapb1 {
            lines += ["SAP B1      \(sapb1)", "  Login       POST \(sapb1)\(SAPB1Simulator.serviceRoot)/Login  CompanyDB \(DemoData.sapCompanyDB), UserName \(DemoData.sapUser)"]
        }
        if let cloudsuite = endpoints.cloudsuite {
            lines += ["CloudSuite  \(cloudsuite)", "  token       POST \(cloudsuite)/\(DemoData.ionTenant)/as/token.oauth2  (credentials in the generated .ionapi file)",
                      "  M3          GET \(cloudsuite)/\(DemoData.ionTenant)/M3/m3api-rest/v2/execute/CRS620MI/LstSuppliers"]
        }
        lines.append("  control     every simulator: /_sim/{reset,seed,clock,clock/advance,faults,expire-tokens,kill-sessions,journal}")
        lines.append("              (POST/DELETE with Content-Type: application/json; requests from a web page's Origin are refused)")
        if let config = endpoints.config {
            lines.append("Config with every credential (secrets in owner-only files): \(config)")
            lines.append("  try: ml-connector ping --all --config \(config)")
        } else {
            lines.append("(pass --write-config DIR for a ready config, secrets and .ionapi file included)")
        }
        return lines.joined(separator: "\n")
    }
}

extension DemoData {
    /// The `.ionapi` file of the demo CloudSuite app, pointing at a simulator served at `base`.
    public static func ionapiFile(base: String) -> JSONValue {
        [
            "ti": .string(ionTenant), "cn": "ml-connector", "dt": "12", "ci": .string(ionClientID), "cs": .string(ionClientSecret),
            "iu": .string(base), "pu": .string("\(base)/\(ionTenant)/as/"), "oa": "authorization.oauth2", "ot": "token.oauth2",
            "or": "revoke_token.oauth2", "ev": "U147858101", "v": "1.0", "saak": .string(ionAccessKey), "sask": .string(ionSecretKey),
        ]
    }
}
