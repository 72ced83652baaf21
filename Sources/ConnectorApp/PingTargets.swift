import Cin7Client
import Foundation
import ProcoreClient
import SyncEngine
import SysproClient

/// Which systems a `ping` or `contract verify` reaches, resolved from a config: an integration
/// (SYSPRO and Procore) or an entry under `connections` (Cin7).
public struct PingTargets: Sendable {
    public var name: String
    public var syspro: SysproConnection?
    public var procore: ProcoreConnection?
    public var cin7: Cin7Connection?
    /// The credential references behind each system (to stamp vault entries as checked).
    public var references: [String: [String]] = [:]

    /// - Parameters:
    ///   - connection: an integration name or a `connections` entry name; `nil` = the first integration
    ///     (or the first connection when there is no integration).
    ///   - systems: the systems wanted.
    /// - Throws: ``SyncError`` `.invalidConfig` when the connection does not exist or has none of them.
    public init(config: ConnectorConfig, connection: String?, systems: [String], vault: ((String) throws -> String)?) throws {
        let extras: [ConnectorConfig.Connection] = config.connections ?? []
        var extra: ConnectorConfig.Connection?
        if let connection {
            extra = extras.first { $0.name == connection }
        } else if config.integrations.isEmpty {
            extra = extras.first
        }
        if let extra {
            name = extra.name
            if systems.contains("cin7"), let section = extra.cin7 {
                cin7 = try extra.cin7Connection(vault: vault)
                references["cin7"] = [section.applicationKey]
            }
        } else {
            let chosen = try config.integration(named: connection)
            name = chosen.name
            if systems.contains("syspro") {
                syspro = try chosen.sysproConnection(vault: vault)
                var refs = [chosen.syspro.operatorPassword, chosen.syspro.odataPassword]
                if let companyPassword = chosen.syspro.companyPassword { refs.append(companyPassword) }
                references["syspro"] = refs
            }
            if systems.contains("procore") {
                procore = try chosen.procoreConnection(vault: vault)
                references["procore"] = [chosen.procore.clientSecret]
            }
        }
        if syspro == nil && procore == nil && cin7 == nil {
            throw SyncError(.invalidConfig, "connection \(name) has no \(systems.joined(separator: "/")) settings; name a connection that has")
        }
    }
}
