import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import Foundation
import SyncEngine
import SyncStore
import Vault

struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Check credentials against the configured systems: real authentication and one cheap read each.",
        discussion: "Exit status 0 when every pinged system answered and accepted the credentials, 1 when one did not, 2 when the config cannot be read.")
    @Argument(help: "The system to ping: \(PingTarget.systems.joined(separator: ", ")) (or use --all).") var system: String?
    @Flag(help: "Ping every system of every connection (or of --connection).") var all = false
    @Option(help: "Config file with the connections.") var config: String
    @Option(help: "Which connection to use: an integration, or an entry under connections (default: every one that has the system).") var connection: String?
    @Option(help: "State database (for vault: references).") var database: String?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var log: LogOptions

    func validate() throws {
        if all == (system != nil) { throw ValidationError("name one system (\(PingTarget.systems.joined(separator: ", "))) or pass --all") }
        if let system, !PingTarget.systems.contains(system) {
            throw ValidationError("unknown system '\(system)'; this build pings: \(PingTarget.systems.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let logger = log.bootstrap()
        let results: [ConnectorApp.Ping.Result]
        let targets: [PingTarget]
        let store: SQLiteSyncStore
        do {
            let file = try ConnectorConfig.load(path: config)
            store = try SQLiteSyncStore.open(path: database ?? file.database ?? "ml-connector.sqlite")
            targets = try PingTarget.resolve(
                config: file, connection: connection, systems: all ? PingTarget.systems : [system!], vault: CredentialVault.resolver(store: store))
            // A ping should say "unreachable" in seconds, not after AsyncHTTPClient's default 10 s per connect attempt.
            let quick = HTTPClient.Configuration(timeout: .init(connect: .seconds(4)))
            results = try await HTTPClient.withHTTPClient(configuration: quick) { http in await ConnectorApp.Ping.all(targets, http: http, logger: logger) }
        } catch let error as SyncError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        // Stamp the vault credentials the ping used with when and how they were last checked.
        for (target, result) in zip(targets, results) {
            for text in target.references {
                guard let reference = try? CredentialReference(parsing: text, field: ""), reference.kind == .vault else { continue }
                try await store.markChecked(reference.name, at: Date(), result: result.ok ? "ok" : (result.failure?.category.rawValue ?? "failed"))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            for result in results { print(ConnectorApp.Ping.describe(result)) }
            print("\(results.filter(\.ok).count) of \(results.count) system(s) OK")
        }
        if !results.allSatisfy(\.ok) { throw ExitCode(1) }
    }
}
