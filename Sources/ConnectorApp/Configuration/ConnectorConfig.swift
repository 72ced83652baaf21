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
/// | `integrations[].webhook` | `serve`'s webhooks: secret* (checked against `header`, default `Authorization: Bearer …`), publicURL and resources (the Procore hook `serve` registers) | none |
/// | `serve` | host (`127.0.0.1`), port (`8080`), maxBodyBytes (1 MiB) of `serve`'s listener | — |
/// | `…cloudsuite.callsPerMinute` | the ION gateway quota the CloudSuite client paces its calls to | no pacing (back off on 429) |
/// | `integrations[].intervalMinutes` | polling interval for `sync --watch` | `10`; `1440` (daily) for `procore-sapb1` |
/// | `integrations[].syspro` | enetBase, odataRoot, operator, operatorPassword*, companyId, companyPassword*, odataUser, odataPassword* | required |
/// | `integrations[].procore` | loginBase, apiBase, clientId, clientSecret*, companyId | required |
/// | `integrations[].settings` | ``SysproProcoreSettings`` (flow `syspro-procore`), ``ProcurifySysproSettings`` (flow `procurify-syspro`), ``ProcoreSAPB1Settings`` (flow `procore-sapb1`), ``ProcoreCloudSuiteSettings`` (flow `procore-cloudsuite`) or ``SysproCin7Settings`` (flow `syspro-cin7`) | defaults per key |
/// | `connections[].name` | text, for systems no flow uses yet (`ping`, `contract verify`) | — |
/// | `connections[].cin7`, `integrations[].cin7` | baseURL, accountId, applicationKey*, callsPerMinute (the client's pace; Cin7 allows 60) | callsPerMinute 57 |
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
        static let keys = ["enetBase", "odataRoot", "operator", "operatorPassword", "companyId", "companyPassword", "odataUser", "odataPassword"]
    }
    public struct ProcoreSection: Codable, Sendable {
        public var loginBase: String
        public var apiBase: String
        public var clientId: String
        public var clientSecret: String
        public var companyId: Int64
        static let keys = ["loginBase", "apiBase", "clientId", "clientSecret", "companyId"]
    }
    public struct Cin7Section: Codable, Sendable {
        public var baseURL: String
        public var accountId: String
        public var applicationKey: String
        /// The calls a minute the client spaces itself to (Cin7 allows 60 per application).
        public var callsPerMinute: Int?
        static let keys = ["baseURL", "accountId", "applicationKey", "callsPerMinute"]
        /// A little under Cin7's 60, for a person's tools on the same application key.
        public static let defaultCallsPerMinute = 57
    }
    public struct ProcurifySection: Codable, Sendable {
        /// `https://{domain}.procurify.com`
        public var baseURL: String
        /// Default `{baseURL}/oauth/token`.
        public var tokenURL: String?
        public var clientId: String
        public var clientSecret: String
        static let keys = ["baseURL", "tokenURL", "clientId", "clientSecret"]
    }
    public struct SAPB1Section: Codable, Sendable {
        /// `https://host:50000/b1s/v1` (or `/b1s/v2`).
        public var serviceRoot: String
        public var companyDB: String
        public var userName: String
        public var password: String
        static let keys = ["serviceRoot", "companyDB", "userName", "password"]
    }
    public struct CloudSuiteSection: Codable, Sendable {
        /// A reference to the whole `.ionapi` file: `file:/path/to/app.ionapi` or `vault:NAME`.
        public var ionapi: String
        /// The M3 company (`CONO`); default: the service user's own.
        public var company: Int?
        /// The gateway quota to pace calls to (per minute); default: no pacing, back off on 429.
        public var callsPerMinute: Int?
        static let keys = ["ionapi", "company", "callsPerMinute"]
    }

    /// How to reach each system, in the same shape wherever it appears: an integration carries
    /// one section for each system its flow touches, a connection any of them.
    public struct Systems: Codable, Sendable {
        public var syspro: SysproSection?
        public var procore: ProcoreSection?
        public var cin7: Cin7Section?
        public var procurify: ProcurifySection?
        public var sapb1: SAPB1Section?
        public var cloudsuite: CloudSuiteSection?

        /// The keys each section allows (unknown keys are refused with file:line).
        static let sectionKeys: [String: [String]] = [
            "syspro": SysproSection.keys, "procore": ProcoreSection.keys, "cin7": Cin7Section.keys, "procurify": ProcurifySection.keys,
            "sapb1": SAPB1Section.keys, "cloudsuite": CloudSuiteSection.keys,
        ]

        /// The systems named, in ``BusinessSystem`` order.
        public var names: [String] {
            [("syspro", syspro != nil), ("procore", procore != nil), ("cin7", cin7 != nil), ("procurify", procurify != nil),
             ("sapb1", sapb1 != nil), ("cloudsuite", cloudsuite != nil)].filter(\.1).map(\.0)
        }

        /// The credential references per system, as `(field, reference)`.
        public var references: [String: [(field: String, reference: String)]] {
            var found: [String: [(field: String, reference: String)]] = [:]
            if let syspro {
                found["syspro"] = [("syspro.operatorPassword", syspro.operatorPassword), ("syspro.odataPassword", syspro.odataPassword)]
                    + (syspro.companyPassword.map { [("syspro.companyPassword", $0)] } ?? [])
            }
            if let procore { found["procore"] = [("procore.clientSecret", procore.clientSecret)] }
            if let cin7 { found["cin7"] = [("cin7.applicationKey", cin7.applicationKey)] }
            if let procurify { found["procurify"] = [("procurify.clientSecret", procurify.clientSecret)] }
            if let sapb1 { found["sapb1"] = [("sapb1.password", sapb1.password)] }
            if let cloudsuite { found["cloudsuite"] = [("cloudsuite.ionapi", cloudsuite.ionapi)] }
            return found
        }

        func secret(_ reference: String, _ field: String, owner: String, vault: ((String) throws -> String)?) throws -> String {
            do {
                return try CredentialReference(parsing: reference, field: "\(owner).\(field)").resolve(vault: vault)
            } catch let error as CredentialError {
                throw SyncError(.invalidConfig, error.message)
            }
        }

        /// The SYSPRO connection, secrets resolved from their references.
        public func sysproConnection(owner: String, vault: ((String) throws -> String)? = nil) throws -> SysproConnection? {
            guard let syspro else { return nil }
            return SysproConnection(
                enetBase: syspro.enetBase, odataRoot: syspro.odataRoot, operatorCode: syspro.operator,
                operatorPassword: try secret(syspro.operatorPassword, "syspro.operatorPassword", owner: owner, vault: vault),
                companyID: syspro.companyId,
                companyPassword: try syspro.companyPassword.map { try secret($0, "syspro.companyPassword", owner: owner, vault: vault) } ?? "",
                odataUser: syspro.odataUser, odataPassword: try secret(syspro.odataPassword, "syspro.odataPassword", owner: owner, vault: vault))
        }

        /// The Procore connection, the client secret resolved from its reference.
        public func procoreConnection(owner: String, vault: ((String) throws -> String)? = nil) throws -> ProcoreConnection? {
            guard let procore else { return nil }
            return ProcoreConnection(
                loginBase: procore.loginBase, apiBase: procore.apiBase, clientID: procore.clientId,
                clientSecret: try secret(procore.clientSecret, "procore.clientSecret", owner: owner, vault: vault), companyID: procore.companyId)
        }

        /// The Cin7 connection, the application key resolved from its reference.
        public func cin7Connection(owner: String, vault: ((String) throws -> String)? = nil) throws -> Cin7Connection? {
            guard let cin7 else { return nil }
            return Cin7Connection(
                baseURL: cin7.baseURL, accountID: cin7.accountId,
                applicationKey: try secret(cin7.applicationKey, "cin7.applicationKey", owner: owner, vault: vault),
                callsPerMinute: cin7.callsPerMinute ?? Cin7Section.defaultCallsPerMinute)
        }

        public func procurifyConnection(owner: String, vault: ((String) throws -> String)? = nil) throws -> ProcurifyConnection? {
            guard let procurify else { return nil }
            return ProcurifyConnection(
                baseURL: procurify.baseURL, tokenURL: procurify.tokenURL, clientID: procurify.clientId,
                clientSecret: try secret(procurify.clientSecret, "procurify.clientSecret", owner: owner, vault: vault))
        }

        public func sapb1Connection(owner: String, vault: ((String) throws -> String)? = nil) throws -> SAPB1Connection? {
            guard let sapb1 else { return nil }
            return SAPB1Connection(
                serviceRoot: sapb1.serviceRoot, companyDB: sapb1.companyDB, userName: sapb1.userName,
                password: try secret(sapb1.password, "sapb1.password", owner: owner, vault: vault))
        }

        /// The CloudSuite connection: the `.ionapi` file read from its reference and checked.
        public func cloudSuiteConnection(owner: String, vault: ((String) throws -> String)? = nil) throws -> CloudSuiteConnection? {
            guard let cloudsuite else { return nil }
            let text = try secret(cloudsuite.ionapi, "cloudsuite.ionapi", owner: owner, vault: vault)
            let file = try IonAPIFile(text: text, source: "the .ionapi file of \(owner) (\(cloudsuite.ionapi))")
            return CloudSuiteConnection(ionapi: file, company: cloudsuite.company, callsPerMinute: cloudsuite.callsPerMinute)
        }

        /// Every credential reference parses (the secret itself is resolved only when used).
        func checkReferences(owner: String, path: String) throws {
            for (field, reference) in references.values.flatMap({ $0 }) {
                do {
                    _ = try CredentialReference(parsing: reference, field: "\(owner).\(field)")
                } catch let error as CredentialError {
                    throw SyncError(.invalidConfig, "\(path): \(error.message)")
                }
            }
        }
    }

    /// One integration: a registered flow between the systems its sections name, with its own
    /// state (kept under its name) and settings.
    @dynamicMemberLookup
    public struct Integration: Codable, Sendable {
        public var name: String
        public var flow: String
        /// Whether the systems behind this integration are sandboxes (scenarios refuse others).
        public var sandbox: Bool?
        public var intervalMinutes: Int?
        /// Flow 000's settings (when `flow` is `syspro-procore`).
        public var settings: SysproProcoreSettings?
        /// Flow 001's settings (when `flow` is `procurify-syspro`): the same `settings` key, read
        /// as the flow's own type.
        public var procurifySysproSettings: ProcurifySysproSettings?
        /// Flow 002's settings (when `flow` is `procore-sapb1`).
        public var procoreSAPB1Settings: ProcoreSAPB1Settings?
        /// Flow 003's settings (when `flow` is `procore-cloudsuite`).
        public var procoreCloudSuiteSettings: ProcoreCloudSuiteSettings?
        /// Flow 004's settings (when `flow` is `syspro-cin7`).
        public var sysproCin7Settings: SysproCin7Settings?
        /// Webhooks `serve` receives for this integration.
        public var webhook: WebhookSection?
        public var sections: Systems
        /// The systems its sections name.
        public var systems: [String] { sections.names }

        static let keys = ["name", "flow", "sandbox", "intervalMinutes", "settings", "webhook"]
        enum CodingKeys: String, CodingKey { case name, flow, sandbox, intervalMinutes, settings, webhook }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            flow = try c.decode(String.self, forKey: .flow)
            sandbox = try c.decodeIfPresent(Bool.self, forKey: .sandbox)
            intervalMinutes = try c.decodeIfPresent(Int.self, forKey: .intervalMinutes)
            webhook = try c.decodeIfPresent(WebhookSection.self, forKey: .webhook)
            if flow == ProcurifySyspro.name {
                procurifySysproSettings = try c.decodeIfPresent(ProcurifySysproSettings.self, forKey: .settings)
            } else if flow == ProcoreSAPB1.name {
                procoreSAPB1Settings = try c.decodeIfPresent(ProcoreSAPB1Settings.self, forKey: .settings)
            } else if flow == ProcoreCloudSuite.name {
                procoreCloudSuiteSettings = try c.decodeIfPresent(ProcoreCloudSuiteSettings.self, forKey: .settings)
            } else if flow == SysproCin7.name {
                sysproCin7Settings = try c.decodeIfPresent(SysproCin7Settings.self, forKey: .settings)
            } else {
                settings = try c.decodeIfPresent(SysproProcoreSettings.self, forKey: .settings)
            }
            sections = try Systems(from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(flow, forKey: .flow)
            try c.encodeIfPresent(sandbox, forKey: .sandbox)
            try c.encodeIfPresent(intervalMinutes, forKey: .intervalMinutes)
            try c.encodeIfPresent(webhook, forKey: .webhook)
            if let procurifySysproSettings {
                try c.encode(procurifySysproSettings, forKey: .settings)
            } else if let procoreSAPB1Settings {
                try c.encode(procoreSAPB1Settings, forKey: .settings)
            } else if let procoreCloudSuiteSettings {
                try c.encode(procoreCloudSuiteSettings, forKey: .settings)
            } else if let sysproCin7Settings {
                try c.encode(sysproCin7Settings, forKey: .settings)
            } else {
                try c.encodeIfPresent(settings, forKey: .settings)
            }
            try sections.encode(to: encoder)
        }

        public subscript<T>(dynamicMember path: KeyPath<Systems, T>) -> T { sections[keyPath: path] }
    }

    /// Connections to systems for `ping` and `contract verify` outside any integration.
    @dynamicMemberLookup
    public struct Connection: Codable, Sendable {
        public var name: String
        public var sandbox: Bool?
        public var sections: Systems
        /// The systems its sections name.
        public var systems: [String] { sections.names }

        static let keys = ["name", "sandbox"]
        enum CodingKeys: String, CodingKey { case name, sandbox }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            sandbox = try c.decodeIfPresent(Bool.self, forKey: .sandbox)
            sections = try Systems(from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encodeIfPresent(sandbox, forKey: .sandbox)
            try sections.encode(to: encoder)
        }

        public subscript<T>(dynamicMember path: KeyPath<Systems, T>) -> T { sections[keyPath: path] }
    }

    /// Where `serve` receives webhooks (and a Procore hook's custom header to check).
    public struct WebhookSection: Codable, Sendable {
        /// The shared secret Procore sends in `header` with every delivery (a reference:
        /// `vault:NAME`, `env:NAME`, `file:PATH`), set as the hook's `destination_headers`.
        public var secret: String
        /// The header that carries it (`Authorization` by default, as `Bearer <secret>`).
        public var header: String?
        /// Where Procore reaches this `serve` (`https://hooks.acme.example`): with it, `serve`
        /// registers (or verifies) the hook at `<publicURL>/webhooks/<integration>` at start.
        public var publicURL: String?
        /// The Procore resources whose create/update events the hook subscribes to.
        public var resources: [String]?
        static let keys = ["secret", "header", "publicURL", "resources"]
    }

    /// `serve`'s listener: the webhook receiver, `/healthz` and `/metrics`.
    public struct ServeSection: Codable, Sendable {
        public var host: String?
        public var port: Int?
        /// Larger webhook bodies are refused with 413 (Procore's events are a few hundred bytes).
        public var maxBodyBytes: Int?
        static let keys = ["host", "port", "maxBodyBytes"]
    }

    public var database: String?
    public var integrations: [Integration]
    public var connections: [Connection]?
    public var serve: ServeSection?

    /// Reads and checks a config file.
    /// - Throws: ``SyncError`` `.invalidConfig` with the file and what is wrong.
    public static func load(path: String) throws -> ConnectorConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SyncError(.invalidConfig, "cannot read config file \(path)")
        }
        return try parse(text, path: path)
    }

    /// Checks and decodes config text (`path` names it in errors); what ``load(path:)`` does
    /// after reading the file, and what the fuzz target feeds.
    public static func parse(_ text: String, path: String) throws -> ConnectorConfig {
        try checkKeys(text, path: path)
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
                throw SyncError(.invalidConfig, "\(path): connection \(connection.name) names no system; give it a section for one of \(BusinessSystem.names.joined(separator: ", "))")
            }
            try connection.sections.checkReferences(owner: connection.name, path: path)
        }
        for integration in config.integrations {
            let flow: RegisteredFlow
            do {
                flow = try FlowRegistry.named(integration.flow)
            } catch let error as SyncError {
                throw SyncError(.invalidConfig, "\(path): integration \(integration.name): \(error.message)")
            }
            let needed = flow.systems.map(\.rawValue)
            if let missing = needed.first(where: { !integration.systems.contains($0) }) {
                throw SyncError(.invalidConfig, "\(path): integration \(integration.name) (flow \(flow.name)) needs a \(missing) section: the flow moves \(flow.summary)")
            }
            if let extra = integration.systems.first(where: { !needed.contains($0) }) {
                throw SyncError(.invalidConfig, "\(path): integration \(integration.name) has a \(extra) section, but flow \(flow.name) touches only \(needed.joined(separator: " and ")); move it to a connection")
            }
            if integration.flow == SysproProcore.name { try (integration.settings ?? SysproProcoreSettings()).validate() }
            try integration.sections.checkReferences(owner: integration.name, path: path)
            if let webhook = integration.webhook {
                do {
                    _ = try CredentialReference(parsing: webhook.secret, field: "\(integration.name).webhook.secret")
                } catch let error as CredentialError {
                    throw SyncError(.invalidConfig, "\(path): \(error.message)")
                }
            }
        }
        try checkIntegrationsStayApart(config.integrations, path: path)
        return config
    }

    /// Refuses a key the config does not know, naming the file and line: a misspelt key
    /// (`pagesize`) would otherwise be ignored and its default used without a word.
    static func checkKeys(_ text: String, path: String) throws {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SyncError(.invalidConfig, "\(path): not YAML: \(error)")
        }
        guard let root else { return }
        do {
            try YAMLLimits.check(root)
        } catch {
            throw SyncError(.invalidConfig, "\(path): \(error)")
        }
        func check(_ node: Node, _ allowed: [String], _ context: String, flow: String = SysproProcore.name) throws {
            guard let mapping = node.mapping else { return }  // a wrong type is the decoder's to report
            for (key, value) in mapping {
                guard let name = key.string, allowed.contains(name) else {
                    throw SyncError(.invalidConfig, "\(path):\(key.mark?.line ?? 0): unknown key '\(key.string ?? "?")' in \(context); expected one of: \(allowed.joined(separator: ", "))")
                }
                switch name {
                case _ where Systems.sectionKeys[name] != nil && context != "the config":
                    try check(value, Systems.sectionKeys[name]!, "\(context).\(name)")
                case "webhook" where context == "an integration":
                    try check(value, WebhookSection.keys, "\(context).webhook")
                case "serve" where context == "the config":
                    try check(value, ServeSection.keys, "serve")
                case "integrations":
                    for item in value.sequence ?? [] {
                        try check(item, Integration.keys + BusinessSystem.names, "an integration", flow: item.mapping?["flow"]?.string ?? SysproProcore.name)
                    }
                case "connections":
                    for item in value.sequence ?? [] { try check(item, Connection.keys + BusinessSystem.names, "a connection") }
                case "settings":
                    let keys = [
                        ProcurifySyspro.name: ProcurifySysproSettings.keys, ProcoreSAPB1.name: ProcoreSAPB1Settings.keys,
                        ProcoreCloudSuite.name: ProcoreCloudSuiteSettings.keys, SysproCin7.name: SysproCin7Settings.keys,
                    ][flow] ?? SysproProcoreSettings.keys
                    try check(value, keys, "\(context).settings", flow: flow)
                case "ledgerCodes":
                    for row in value.sequence ?? [] { try check(row, LedgerMapping.keys, "a ledgerCodes row") }
                case "costCodes":
                    let keys = flow == ProcoreSAPB1.name ? CostCodeAccount.keys : CostCodeMapping.keys
                    for row in value.sequence ?? [] { try check(row, keys, "a costCodes row") }
                default:
                    break
                }
            }
        }
        try check(root, ["database", "integrations", "connections", "serve"], "the config")
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
            guard let procore = integration.procore else { continue }
            let settings = integration.settings ?? SysproProcoreSettings()
            let sysproCompany = integration.syspro?.companyId ?? integration.name
            let company = "\(procore.apiBase.lowercased())|\(procore.companyId)"
            if let other = origins[company + "|" + settings.originPrefix] {
                throw SyncError(.invalidConfig, "\(path): integrations \(other) and \(integration.name) both write into Procore company \(procore.companyId) with originPrefix \(settings.originPrefix), so their PO numbers would meet in one origin_id. Give each its own settings.originPrefix (e.g. SYSPRO-\(sysproCompany)) before either has written.")
            }
            if let other = numbers[company + "|" + settings.numberPrefix] {
                throw SyncError(.invalidConfig, "\(path): integrations \(other) and \(integration.name) both write commitments into Procore company \(procore.companyId) with numberPrefix '\(settings.numberPrefix)'; Procore refuses a commitment number used twice in a project. Give each its own settings.numberPrefix (e.g. \(sysproCompany)-).")
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
        case .dataCorrupted(let context):
            // Yams wraps an error thrown inside a decoder (a settings check's SyncError, with
            // the fix in its message) as "not valid YAML"; the check's own words are the useful ones.
            if let inner = context.underlyingError as? SyncError { return "\(path(context).isEmpty ? "" : path(context) + ": ")\(inner.message)" }
            if let inner = context.underlyingError as? DecodingError { return describe(inner) }
            return "\(path(context)): \(context.debugDescription)"
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
    /// The SYSPRO connection, secrets resolved from their references.
    public func sysproConnection(vault: ((String) throws -> String)? = nil) throws -> SysproConnection {
        guard let connection = try sections.sysproConnection(owner: name, vault: vault) else {
            throw SyncError(.invalidConfig, "integration \(name) has no syspro section")
        }
        return connection
    }

    /// The Procore connection, the client secret resolved from its reference.
    public func procoreConnection(vault: ((String) throws -> String)? = nil) throws -> ProcoreConnection {
        guard let connection = try sections.procoreConnection(owner: name, vault: vault) else {
            throw SyncError(.invalidConfig, "integration \(name) has no procore section")
        }
        return connection
    }

    /// Flow 000 with its clients, secrets resolved from their references. Its state is kept
    /// under the integration's name.
    /// - Parameter vault: opens `vault:NAME` references (secrets sealed in the state database).
    public func makeFlow(
        http: HTTPClient, store: any SyncStateStore, clock: any SyncClock, logger: Logger, vault: ((String) throws -> String)? = nil,
        stats: TransportStats = TransportStats()
    ) throws -> SysproProcoreFlow {
        SysproProcoreFlow(
            settings: settings ?? SysproProcoreSettings(),
            syspro: SysproClient(
                connection: try sysproConnection(vault: vault), transport: HTTPTransport(http: http, system: "syspro", clock: clock, logger: logger, stats: stats)),
            procore: ProcoreClient(
                connection: try procoreConnection(vault: vault), transport: HTTPTransport(http: http, system: "procore", clock: clock, logger: logger, stats: stats)),
            store: store, clock: clock, logger: logger, scope: name)
    }

    /// The integration's flow, whichever it is, ready to run: what `sync`, `replay` and
    /// `scenario --against real` use.
    /// - Throws: `.invalidConfig` for a flow this build does not know (naming those it does).
    public func makeRunner(
        http: HTTPClient, store: any SyncStateStore, clock: any SyncClock, logger: Logger, vault: ((String) throws -> String)? = nil,
        stats: TransportStats = TransportStats()
    ) throws -> any SyncRunner {
        switch try FlowRegistry.named(flow).name {
        case SysproProcore.name: try makeFlow(http: http, store: store, clock: clock, logger: logger, vault: vault, stats: stats)
        case ProcurifySyspro.name:
            try makeProcurifySyspro(http: http, store: store, clock: clock, logger: logger, vault: vault, stats: stats)
        case ProcoreSAPB1.name:
            try makeProcoreSAPB1(http: http, store: store, clock: clock, logger: logger, vault: vault, stats: stats)
        case ProcoreCloudSuite.name:
            try makeProcoreCloudSuite(http: http, store: store, clock: clock, logger: logger, vault: vault, stats: stats)
        case SysproCin7.name:
            try makeSysproCin7(http: http, store: store, clock: clock, logger: logger, vault: vault, stats: stats)
        default: throw SyncError(.invalidConfig, "flow \(flow) is registered but has no wiring in ConnectorConfig.makeRunner")
        }
    }

    /// Flow 001 with its clients, secrets resolved from their references.
    public func makeProcurifySyspro(
        http: HTTPClient, store: any SyncStateStore, clock: any SyncClock, logger: Logger, vault: ((String) throws -> String)? = nil,
        stats: TransportStats = TransportStats()
    ) throws -> ProcurifySysproFlow {
        guard let procurify = try sections.procurifyConnection(owner: name, vault: vault) else {
            throw SyncError(.invalidConfig, "integration \(name) has no procurify section")
        }
        return ProcurifySysproFlow(
            settings: procurifySysproSettings ?? ProcurifySysproSettings(),
            procurify: ProcurifyClient(connection: procurify, transport: HTTPTransport(http: http, system: "procurify", clock: clock, logger: logger, stats: stats)),
            syspro: SysproClient(connection: try sysproConnection(vault: vault), transport: HTTPTransport(http: http, system: "syspro", clock: clock, logger: logger, stats: stats)),
            store: store, clock: clock, logger: logger, scope: name)
    }

    /// Flow 003 with its clients, secrets resolved from their references.
    public func makeProcoreCloudSuite(
        http: HTTPClient, store: any SyncStateStore, clock: any SyncClock, logger: Logger, vault: ((String) throws -> String)? = nil,
        stats: TransportStats = TransportStats()
    ) throws -> ProcoreCloudSuiteFlow {
        guard let m3 = try sections.cloudSuiteConnection(owner: name, vault: vault) else {
            throw SyncError(.invalidConfig, "integration \(name) has no cloudsuite section")
        }
        return ProcoreCloudSuiteFlow(
            settings: procoreCloudSuiteSettings ?? ProcoreCloudSuiteSettings(),
            procore: ProcoreClient(connection: try procoreConnection(vault: vault), transport: HTTPTransport(http: http, system: "procore", clock: clock, logger: logger, stats: stats)),
            m3: CloudSuiteClient(connection: m3, transport: HTTPTransport(http: http, system: "cloudsuite", clock: clock, logger: logger, stats: stats)),
            store: store, clock: clock, logger: logger, scope: name)
    }

    /// Flow 004 with its clients, secrets resolved from their references.
    public func makeSysproCin7(
        http: HTTPClient, store: any SyncStateStore, clock: any SyncClock, logger: Logger, vault: ((String) throws -> String)? = nil,
        stats: TransportStats = TransportStats()
    ) throws -> SysproCin7Flow {
        guard let cin7 = try sections.cin7Connection(owner: name, vault: vault) else {
            throw SyncError(.invalidConfig, "integration \(name) has no cin7 section")
        }
        return SysproCin7Flow(
            settings: sysproCin7Settings ?? SysproCin7Settings(),
            syspro: SysproClient(connection: try sysproConnection(vault: vault), transport: HTTPTransport(http: http, system: "syspro", clock: clock, logger: logger, stats: stats)),
            cin7: Cin7Client(connection: cin7, transport: HTTPTransport(http: http, system: "cin7", clock: clock, logger: logger, stats: stats)),
            store: store, clock: clock, logger: logger, scope: name)
    }

    /// The webhook secret `serve` checks deliveries against, resolved from its reference.
    public func webhookSecret(vault: ((String) throws -> String)? = nil) throws -> String? {
        guard let webhook else { return nil }
        return try sections.secret(webhook.secret, "webhook.secret", owner: name, vault: vault)
    }

    /// Flow 002 with its clients, secrets resolved from their references.
    public func makeProcoreSAPB1(
        http: HTTPClient, store: any SyncStateStore, clock: any SyncClock, logger: Logger, vault: ((String) throws -> String)? = nil,
        stats: TransportStats = TransportStats()
    ) throws -> ProcoreSAPB1Flow {
        guard let sap = try sections.sapb1Connection(owner: name, vault: vault) else {
            throw SyncError(.invalidConfig, "integration \(name) has no sapb1 section")
        }
        return ProcoreSAPB1Flow(
            settings: procoreSAPB1Settings ?? ProcoreSAPB1Settings(),
            procore: ProcoreClient(connection: try procoreConnection(vault: vault), transport: HTTPTransport(http: http, system: "procore", clock: clock, logger: logger, stats: stats)),
            sap: SAPB1Client(connection: sap, transport: HTTPTransport(http: http, system: "sapb1", clock: clock, logger: logger, stats: stats)),
            store: store, clock: clock, logger: logger, scope: name)
    }
}
