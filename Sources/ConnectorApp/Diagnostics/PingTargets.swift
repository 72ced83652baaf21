import Cin7Client
import CloudSuiteClient
import Foundation
import ProcoreClient
import ProcurifyClient
import SAPB1Client
import SyncEngine
import SysproClient

/// One system of one configured connection, ready to ping or verify.
public struct PingTarget: Sendable {
    public enum Endpoint: Sendable {
        case syspro(SysproConnection)
        case procore(ProcoreConnection)
        case cin7(Cin7Connection)
        case procurify(ProcurifyConnection)
        case sapb1(SAPB1Connection)
        case cloudsuite(CloudSuiteConnection)
    }

    public var system: String
    /// The integration or connection name.
    public var connection: String
    /// The resolved endpoint, or why it could not be resolved (a missing environment variable,
    /// an `.ionapi` file without its keys): reported for this system alone, the others still run.
    public var endpoint: Result<Endpoint, SyncError>
    /// The credential references behind it (to stamp vault entries as checked).
    public var references: [String]

    /// Every system in the order `ping --all` reports them.
    public static let systems = BusinessSystem.names

    /// The targets a `ping` or `contract verify` reaches.
    /// - Parameters:
    ///   - connection: an integration or `connections` entry name; `nil` = all of them.
    ///   - systems: the systems wanted.
    /// - Throws: ``SyncError`` `.invalidConfig` when the named connection does not exist or none
    ///   of the connections has any of the systems.
    public static func resolve(config: ConnectorConfig, connection: String?, systems: [String], vault: ((String) throws -> String)?) throws -> [PingTarget] {
        let extras = config.connections ?? []
        if let connection, !config.integrations.contains(where: { $0.name == connection }), !extras.contains(where: { $0.name == connection }) {
            let known = config.integrations.map(\.name) + extras.map(\.name)
            throw SyncError(.invalidConfig, "no integration or connection named \(connection); the config has \(known.joined(separator: ", "))")
        }
        func attempt(_ make: () throws -> Endpoint?) -> Result<Endpoint, SyncError>? {
            do {
                guard let endpoint = try make() else { return nil }
                return .success(endpoint)
            } catch let error as SyncError {
                return .failure(error)
            } catch {
                return .failure(SyncError(.invalidConfig, "\(error)"))
            }
        }
        var targets: [PingTarget] = []
        for integration in config.integrations where connection == nil || integration.name == connection {
            if systems.contains("syspro"), let endpoint = attempt({ .syspro(try integration.sysproConnection(vault: vault)) }) {
                let refs = [integration.syspro.operatorPassword, integration.syspro.odataPassword] + (integration.syspro.companyPassword.map { [$0] } ?? [])
                targets.append(PingTarget(system: "syspro", connection: integration.name, endpoint: endpoint, references: refs))
            }
            if systems.contains("procore"), let endpoint = attempt({ .procore(try integration.procoreConnection(vault: vault)) }) {
                targets.append(PingTarget(system: "procore", connection: integration.name, endpoint: endpoint,
                                          references: [integration.procore.clientSecret]))
            }
        }
        for extra in extras where connection == nil || extra.name == connection {
            let makers: [(String, () throws -> Endpoint?)] = [
                ("cin7", { try extra.cin7Connection(vault: vault).map(Endpoint.cin7) }),
                ("procurify", { try extra.procurifyConnection(vault: vault).map(Endpoint.procurify) }),
                ("sapb1", { try extra.sapb1Connection(vault: vault).map(Endpoint.sapb1) }),
                ("cloudsuite", { try extra.cloudSuiteConnection(vault: vault).map(Endpoint.cloudsuite) }),
            ]
            for (system, make) in makers where systems.contains(system) {
                guard let endpoint = attempt(make) else { continue }
                targets.append(PingTarget(system: system, connection: extra.name, endpoint: endpoint,
                                          references: (extra.references[system] ?? []).map(\.reference)))
            }
        }
        guard !targets.isEmpty else {
            let scope = connection.map { "connection \($0) has" } ?? "the config has"
            throw SyncError(.invalidConfig, "\(scope) no \(systems.joined(separator: "/")) settings; add them, or name a connection that has")
        }
        return targets.sorted { (systems.firstIndex(of: $0.system) ?? 0) < (systems.firstIndex(of: $1.system) ?? 0) }
    }
}
