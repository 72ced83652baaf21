import AsyncHTTPClient
import Cin7Client
import CloudSuiteClient
import ClientKit
import Flows
import Foundation
import Logging
import ProcoreClient
import ProcurifyClient
import SAPB1Client
import SyncEngine
import SyncStore
import SysproClient
import Vault
import Yams

/// The configuration file (`Fixtures/config/sample.yaml` shows every key):
///
/// | key | type | default |
/// |---|---|---|
/// | `database` | path of the SQLite state file | `ml-connector.sqlite` |
/// | `integrations[].name` | text | required |
/// | `integrations[].flow` | `syspro-procore` | required |
/// | `integrations[].sandbox` | whether these are sandbox systems (`scenario run --against real` refuses others) | `false` |
/// | `integrations[].intervalMinutes` | polling interval for `sync --watch` | `10` |
/// | `integrations[].syspro` | enetBase, odataRoot, operator, operatorPassword*, companyId, companyPassword*, odataUser, odataPassword* | required |
/// | `integrations[].procore` | loginBase, apiBase, clientId, clientSecret*, companyId | required |
/// | `integrations[].settings` | ``SysproProcoreSettings`` | defaults per key |
/// | `connections[].name` | text, for systems no flow uses yet (`ping`, `contract verify`) | — |
/// | `connections[].cin7` | baseURL, accountId, applicationKey* | — |
/// | `connections[].procurify` | baseURL, tokenURL (default `{baseURL}/oauth/token`), clientId, clientSecret* | — |
/// | `connections[].sapb1` | serviceRoot (…/b1s/v1), companyDB, userName, password* | — |
/// | `connections[].cloudsuite` | ionapi* (the whole `.ionapi` file), company (M3 `CONO`, optional) | — |
///
/// Fields marked * are credential references (`vault:NAME`, `env:NAME`, `file:PATH`), never the secret itself.
public struct ConnectorConfig: Codable, Sendable {
    public struct SysproSection: Codable, Sendable {
        public var enetBase: String
        public var odataRoot: String
        public var `operator`: String
        public var operatorPassword: String
        public var companyId: String
        public var companyPassword: String?
        public var odataUser: String?
        public var odataPassword: String
    }
    public struct ProcoreSection: Codable, Sendable {
        public var loginBase: String
        public var apiBase: String
        public var clientId: String
        public var clientSecret: String
        public var companyId: Int64
    }
    public struct Integration: Codable, Sendable {
        public var name: String
        public var flow: String
        /// Whether the systems behind this integration are sandboxes (scenarios refuse others).
        public var sandbox: Bool?
        public var intervalMinutes: Int?
        public var syspro: SysproSection
        public var procore: ProcoreSection
        public var settings: SysproProcoreSettings?
    }
    /// Connections to systems no flow uses yet, for `ping` and `contract verify`: each names one
    /// or more of `cin7`, `procurify`, `sapb1`, `cloudsuite`.
    public struct Connection: Codable, Sendable {
        public struct Cin7Section: Codable, Sendable {
            public var baseURL: String
            public var accountId: String
            public var applicationKey: String
        }
        public struct ProcurifySection: Codable, Sendable {
            /// `https://{domain}.procurify.com`
            public var baseURL: String
            /// Default `{baseURL}/oauth/token`.
            public var tokenURL: String?
            public var clientId: String
            public var clientSecret: String
        }
        public struct SAPB1Section: Codable, Sendable {
            /// `https://host:50000/b1s/v1` (or `/b1s/v2`).
            public var serviceRoot: String
            public var companyDB: String
            public var userName: String
            public var password: String
        }
        public struct CloudSuiteSection: Codable, Sendable {
            /// A reference to the whole `.ionapi` file: `file:/path/to/app.ionapi` or `vault:NAME`.
            public var ionapi: String
            /// The M3 company (`CONO`); default: the service user's own.
            public var company: Int?
        }
        public var name: String
        public var sandbox: Bool?
        public var cin7: Cin7Section?
        public var procurify: ProcurifySection?
        public var sapb1: SAPB1Section?
        public var cloudsuite: CloudSuiteSection?

        /// The systems this connection names.
        public var systems: [String] {
            [("cin7", cin7 != nil), ("procurify", procurify != nil), ("sapb1", sapb1 != nil), ("cloudsuite", cloudsuite != nil)]
                .filter(\.1).map(\.0)
        }

        /// The credential references per system, as `(field, reference)`.
        public var references: [String: [(field: String, reference: String)]] {
            var found: [String: [(field: String, reference: String)]] = [:]
            if let cin7 { found["cin7"] = [("cin7.applicationKey", cin7.applicationKey)] }
            if let procurify { found["procurify"] = [("procurify.clientSecret", procurify.clientSecret)] }
            if let sapb1 { found["sapb1"] = [("sapb1.password", sapb1.password)] }
            if let cloudsuite { found["cloudsuite"] = [("cloudsuite.ionapi", cloudsuite.ionapi)] }
            return found
        }

        func secret(_ reference: String, _ field: String, vault: ((String) throws -> String)?) throws -> String {
            do {
                return try CredentialReference(parsing: reference, field: "\(name).\(field)").resolve(vault: vault)
            } catch let error as CredentialError {
                throw SyncError(.invalidConfig, error.message)
            }
        }

        /// The Cin7 connection, the application key resolved from its reference.
        public func cin7Connection(vault: ((String) throws -> String)? = nil) throws -> Cin7Connection? {
            guard let cin7 else { return nil }
            return Cin7Connection(baseURL: cin7.baseURL, accountID: cin7.accountId, applicationKey: try secret(cin7.applicationKey, "cin7.applicationKey", vault: vault))
        }

        public func procurifyConnection(vault: ((String) throws -> String)? = nil) throws -> ProcurifyConnection? {
            guard let procurify else { return nil }
            return ProcurifyConnection(
                baseURL: procurify.baseURL, tokenURL: procurify.tokenURL, clientID: procurify.clientId,
                clientSecret: try secret(procurify.clientSecret, "procurify.clientSecret", vault: vault))
        }

        public func sapb1Connection(vault: ((String) throws -> String)? = nil) throws -> SAPB1Connection? {
            guard let sapb1 else { return nil }
            return SAPB1Connection(
                serviceRoot: sapb1.serviceRoot, companyDB: sapb1.companyDB, userName: sapb1.userName,
                password: try secret(sapb1.password, "sapb1.password", vault: vault))
        }

        /// The CloudSuite connection: the `.ionapi` file read from its reference and checked.
        public func cloudSuiteConnection(vault: ((String) throws -> String)? = nil) throws -> CloudSuiteConnection? {
            guard let cloudsuite else { return nil }
            let text = try secret(cloudsuite.ionapi, "cloudsuite.ionapi", vault: vault)
            let file = try IonAPIFile(text: text, source: "the .ionapi file of \(name) (\(cloudsuite.ionapi))")
            return CloudSuiteConnection(ionapi: file, company: cloudsuite.company)
        }
    }

    public var database: String?
    public var integrations: [Integration]
    public var connections: [Connection]?

    /// Reads and checks a config file.
    /// - Throws: ``SyncError`` `.invalidConfig` with the file and what is wrong.
    public static func load(path: String) throws -> ConnectorConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SyncError(.invalidConfig, "cannot read config file \(path)")
        }
        let config: ConnectorConfig
        do {
            config = try YAMLDecoder().decode(ConnectorConfig.self, from: text)
        } catch let error as DecodingError {
            throw SyncError(.invalidConfig, "\(path): \(Self.describe(error))")
        } catch {
            throw SyncError(.invalidConfig, "\(path): \(error)")
        }
        guard !config.integrations.isEmpty || !(config.connections ?? []).isEmpty else {
            throw SyncError(.invalidConfig, "\(path): neither integrations nor connections lists anything")
        }
        for connection in config.connections ?? [] {
            guard !connection.systems.isEmpty else {
                throw SyncError(.invalidConfig, "\(path): connection \(connection.name) names no system; give it a cin7, procurify, sapb1 or cloudsuite section")
            }
            for (field, reference) in connection.references.values.flatMap({ $0 }) {
                do {
                    _ = try CredentialReference(parsing: reference, field: "\(connection.name).\(field)")
                } catch let error as CredentialError {
                    throw SyncError(.invalidConfig, "\(path): \(error.message)")
                }
            }
        }
        for integration in config.integrations {
            guard integration.flow == SysproProcoreFlow.name else {
                throw SyncError(.invalidConfig, "\(path): integration \(integration.name) has flow '\(integration.flow)'; this build knows: \(SysproProcoreFlow.name)")
            }
            try (integration.settings ?? SysproProcoreSettings()).validate()
            for (field, value) in [
                ("syspro.operatorPassword", integration.syspro.operatorPassword), ("syspro.odataPassword", integration.syspro.odataPassword),
                ("procore.clientSecret", integration.procore.clientSecret),
            ] + (integration.syspro.companyPassword.map { [("syspro.companyPassword", $0)] } ?? []) {
                do {
                    _ = try CredentialReference(parsing: value, field: "\(integration.name).\(field)")
                } catch let error as CredentialError {
                    throw SyncError(.invalidConfig, "\(path): \(error.message)")
                }
            }
        }
        try checkIntegrationsStayApart(config.integrations, path: path)
        return config
    }

    /// Integrations keep their state under their name, and write into their destination under
    /// their origin prefix: both must differ where they could meet.
    static func checkIntegrationsStayApart(_ integrations: [Integration], path: String) throws {
        var names = Set<String>()
        for integration in integrations where !names.insert(integration.name).inserted {
            throw SyncError(.invalidConfig, "\(path): two integrations are named \(integration.name); each keeps its watermarks, cross-references and quarantine under its name, so give each its own")
        }
        var origins: [String: String] = [:]  // Procore company + origin prefix → integration
        var numbers: [String: String] = [:]  // Procore company + number prefix → integration
        for integration in integrations {
            let settings = integration.settings ?? SysproProcoreSettings()
            let company = "\(integration.procore.apiBase.lowercased())|\(integration.procore.companyId)"
            if let other = origins[company + "|" + settings.originPrefix] {
                throw SyncError(.invalidConfig, "\(path): integrations \(other) and \(integration.name) both write into Procore company \(integration.procore.companyId) with originPrefix \(settings.originPrefix), so their PO numbers would meet in one origin_id. Give each its own settings.originPrefix (e.g. SYSPRO-\(integration.syspro.companyId)) before either has written.")
            }
            if let other = numbers[company + "|" + settings.numberPrefix] {
                throw SyncError(.invalidConfig, "\(path): integrations \(other) and \(integration.name) both write commitments into Procore company \(integration.procore.companyId) with numberPrefix '\(settings.numberPrefix)'; Procore refuses a commitment number used twice in a project. Give each its own settings.numberPrefix (e.g. \(integration.syspro.companyId)-).")
            }
            origins[company + "|" + settings.originPrefix] = integration.name
            numbers[company + "|" + settings.numberPrefix] = integration.name
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing key \(path(context)).\(key.stringValue)"
        case .typeMismatch(let type, let context): return "\(path(context)) should be \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context): return "\(path(context)) needs a \(type) value"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    public func integration(named name: String?) throws -> Integration {
        guard let name else {
            guard let first = integrations.first else { throw SyncError(.invalidConfig, "the config has no integrations") }
            return first
        }
        guard let found = integrations.first(where: { $0.name == name }) else {
            throw SyncError(.invalidConfig, "no integration named \(name); the config has \(integrations.map(\.name).joined(separator: ", "))")
        }
        return found
    }
}

extension ConnectorConfig.Integration {
    func secret(_ reference: String, _ field: String, vault: ((String) throws -> String)?) throws -> String {
        do {
            return try CredentialReference(parsing: reference, field: field).resolve(vault: vault)
        } catch let error as CredentialError {
            throw SyncError(.invalidConfig, "\(name).\(field): \(error.message)")
        }
    }

    /// The SYSPRO connection, secrets resolved from their references.
    public func sysproConnection(vault: ((String) throws -> String)? = nil) throws -> SysproConnection {
        SysproConnection(
            enetBase: syspro.enetBase, odataRoot: syspro.odataRoot, operatorCode: syspro.operator,
            operatorPassword: try secret(syspro.operatorPassword, "syspro.operatorPassword", vault: vault), companyID: syspro.companyId,
            companyPassword: try syspro.companyPassword.map { try secret($0, "syspro.companyPassword", vault: vault) } ?? "",
            odataUser: syspro.odataUser, odataPassword: try secret(syspro.odataPassword, "syspro.odataPassword", vault: vault))
    }

    /// The Procore connection, the client secret resolved from its reference.
    public func procoreConnection(vault: ((String) throws -> String)? = nil) throws -> ProcoreConnection {
        ProcoreConnection(
            loginBase: procore.loginBase, apiBase: procore.apiBase, clientID: procore.clientId,
            clientSecret: try secret(procore.clientSecret, "procore.clientSecret", vault: vault), companyID: procore.companyId)
    }

    /// The flow with its clients, secrets resolved from their references. Its state is kept under
    /// the integration's name.
    /// - Parameter vault: opens `vault:NAME` references (secrets sealed in the state database).
    public func makeFlow(
        http: HTTPClient, store: any SyncStateStore, clock: any SyncClock, logger: Logger, vault: ((String) throws -> String)? = nil
    ) throws -> SysproProcoreFlow {
        SysproProcoreFlow(
            settings: settings ?? SysproProcoreSettings(),
            syspro: SysproClient(
                connection: try sysproConnection(vault: vault), transport: HTTPTransport(http: http, system: "syspro", clock: clock, logger: logger)),
            procore: ProcoreClient(
                connection: try procoreConnection(vault: vault), transport: HTTPTransport(http: http, system: "procore", clock: clock, logger: logger)),
            store: store, clock: clock, logger: logger, scope: name)
    }
}
