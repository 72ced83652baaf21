import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import Foundation
import SyncEngine
import SyncStore
import Vault

struct Contract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The API contract our clients rely on, checked against a simulator or a real sandbox.",
        subcommands: [ContractVerify.self])
}

struct ContractVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Run the contract checks for a system against a configured connection; non-zero exit on a failure.")
    @Argument(help: "\(PingTarget.systems.joined(separator: ", ")).") var system: String
    @Option(help: "Config file with the connections.") var config: String
    @Option(help: "Which connection to use (default: the first that has the system).") var connection: String?
    @Option(help: "State database (for vault: references).") var database: String?
    @Flag(help: "Also run the checks that write test data or make a deliberately failed logon.") var allowWrites = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard PingTarget.systems.contains(system) else {
            throw ValidationError("unknown system '\(system)'; this build verifies: \(PingTarget.systems.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let logger = log.bootstrap()
        let outcomes: [ContractSuite.Outcome]
        do {
            let file = try ConnectorConfig.load(path: config)
            let store = try SQLiteSyncStore.open(path: database ?? file.database ?? "ml-connector.sqlite")
            let targets = try PingTarget.resolve(config: file, connection: connection, systems: [system], vault: CredentialVault.resolver(store: store))
            let endpoint = try targets[0].endpoint.get()
            let allowWrites = self.allowWrites
            outcomes = try await HTTPClient.withHTTPClient { http in
                await ContractSuite.verify(endpoint, http: http, logger: logger, allowWrites: allowWrites)
            }
        } catch let error as SyncError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(outcomes), as: UTF8.self))
        } else {
            print(ContractSuite.describe(outcomes))
        }
        let failed = outcomes.filter { $0.status == .failed }.count
        let skipped = outcomes.filter { $0.status == .skipped }.count
        print("\(outcomes.count - failed - skipped) passed, \(failed) failed, \(skipped) skipped")
        if failed > 0 { throw ExitCode(1) }
    }
}
