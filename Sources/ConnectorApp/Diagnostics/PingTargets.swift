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
        let owners = config.integrations.map { ($0.name, $0.sections) } + extras.map { ($0.name, $0.sections) }
        for (owner, sections) in owners where connection == nil || owner == connection {
            let makers: [(String, () throws -> Endpoint?)] = [
                ("syspro", { try sections.sysproConnection(owner: owner, vault: vault).map(Endpoint.syspro) }),
                ("procore", { try sections.procoreConnection(owner: owner, vault: vault).map(Endpoint.procore) }),
                ("cin7", { try sections.cin7Connection(owner: owner, vault: vault).map(Endpoint.cin7) }),
                ("procurify", { try sections.procurifyConnection(owner: owner, vault: vault).map(Endpoint.procurify) }),
                ("sapb1", { try sections.sapb1Connection(owner: owner, vault: vault).map(Endpoint.sapb1) }),
                ("cloudsuite", { try sections.cloudSuiteConnection(owner: owner, vault: vault).map(Endpoint.cloudsuite) }),
            ]
            for (system, make) in makers where systems.contains(system) {
                guard let endpoint = attempt(make) else { continue }
                targets.append(PingTarget(system: system, connection: owner, endpoint: endpoint,
                                          references: (sections.references[system] ?? []).map(\.reference)))
            }
        }
        guard !targets.isEmpty else {
            let scope = connection.map { "connection \($0) has" } ?? "the config has"
            throw SyncError(.invalidConfig, "\(scope) no \(systems.joined(separator: "/")) settings; add them, or name a connection that has")
        }
        return targets.sorted { (systems.firstIndex(of: $0.system) ?? 0) < (systems.firstIndex(of: $1.system) ?? 0) }
    }
}
