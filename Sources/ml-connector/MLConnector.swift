import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import Flows
import Foundation
import Logging
import SyncEngine
import SyncStore
import Vault
#if canImport(Glibc)
import Glibc
#endif
import Scenarios
import ServiceLifecycle

@main
struct MLConnector: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ml-connector",
        abstract: "Move purchase orders and invoices between business systems, with simulators to prove it first.",
        subcommands: [Demo.self, Sync.self, Audit.self, Replay.self, Credentials.self, PingCommand.self, Contract.self, Simulate.self, Bench.self, ScenarioCommand.self])
}

struct LogOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "warning"

    func bootstrap() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "ml-connector")
    }
}

/// Loads a config, opens its state file and runs `body` with a flow wired to the configured
/// systems over one HTTP client. A configuration or credential problem exits with status 2, any
/// other failure (another process holds the integration, the systems refused the cycle) with 1,
/// each with a message that says what to do.
func withConfiguredFlow(
    config: String, integration: String?, logger: Logger,
    _ body: @Sendable (SysproProcoreFlow, ConnectorConfig.Integration) async throws -> Void
) async throws {
    do {
        let file = try ConnectorConfig.load(path: config)
        let chosen = try file.integration(named: integration)
        let store = try SQLiteSyncStore.open(path: file.database ?? "ml-connector.sqlite")
        try await adoptLegacyState(of: chosen, in: file, store: store, logger: logger)
        try await HTTPClient.withHTTPClient { http in
            let flow = try chosen.makeFlow(
                http: http, store: store, clock: SystemClock(), logger: logger, vault: CredentialVault.resolver(store: store))
            try await body(flow, chosen)
        }
    } catch let error as SyncError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(error.code == .invalidConfig ? 2 : 1)
    }
}

/// State written before integrations kept their own lives under the flow's name: it goes to the
/// integration when it is the config's only one of that flow; with several, nobody can tell whose
/// it was, and the user is asked.
func adoptLegacyState(of chosen: ConnectorConfig.Integration, in file: ConnectorConfig, store: SQLiteSyncStore, logger: Logger) async throws {
    guard chosen.name != chosen.flow, try await store.hasState(scope: chosen.flow) else { return }
    let siblings = file.integrations.filter { $0.flow == chosen.flow }
    guard siblings.count == 1 else {
        throw SyncError(.invalidConfig, "the state database holds \(chosen.flow) state from before integrations kept their own, and the config has \(siblings.count) integrations of that flow (\(siblings.map(\.name).joined(separator: ", "))). Run one cycle with a config that lists only the integration that wrote it; it then keeps that state under its name.")
    }
    let moved = try await store.adoptLegacyState(of: chosen.flow, into: chosen.name)
    if moved > 0 {
        logger.notice("State moved to its integration", metadata: ["integration": "\(chosen.name)", "flow": "\(chosen.flow)", "rows": "\(moved)"])
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run flow 000 (SYSPRO → Procore) end to end against in-process simulators on an embedded SQLite file.")
    @Option(help: "SQLite file for the demo's state and audit (recreated).") var database = "demo-output/demo.sqlite"
    @Option(help: "How many ordinary purchase orders to generate.") var pos = 60
    @OptionGroup var log: LogOptions

    func run() async throws {
        let logger = log.bootstrap()
        let result = try await ConnectorApp.Demo.run(databasePath: database, purchaseOrders: pos, logger: logger) { print($0) }
        if !result.first.errors.isEmpty || !result.second.errors.isEmpty { throw ExitCode(1) }
    }
}

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run sync cycles against the systems in a config file.")
    @Option(help: "Config file (see Fixtures/config/sample.yaml).") var config: String
    @Option(help: "Integration name (default: the first).") var integration: String?
    @Flag(help: "Run one cycle and exit (the default).") var once = false
    @Flag(help: "Keep polling every intervalMinutes.") var watch = false
    @Flag(help: "No progress lines on the terminal (the summary and warnings still print).") var quiet = false
    @OptionGroup var log: LogOptions

    func validate() throws {
        if once && watch { throw ValidationError("--once and --watch exclude each other") }
    }

    func run() async throws {
        let (watch, quiet) = (self.watch, self.quiet)
        let logger = log.bootstrap()
        try await withConfiguredFlow(config: config, integration: integration, logger: logger) { flow, chosen in
            let progress = await TerminalProgress.attach(to: flow, quiet: quiet)
            guard watch else {
                let summary = try await progress.timed { try await flow.runCycle() }
                if !summary.errors.isEmpty { throw ExitCode(1) }
                return
            }
            let poller = Poller(flow: flow, interval: .seconds(60 * (chosen.intervalMinutes ?? 10)), logger: logger, progress: progress)
            let group = ServiceGroup(configuration: .init(
                services: [poller], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}

/// `sync --watch`: one cycle per interval until SIGTERM/SIGINT. A cycle in progress runs to
/// completion on shutdown; only the wait between cycles is cut short. A cycle that cannot run
/// (credentials refused, another process holds the integration, the store is busy) is logged and
/// the next one tried after the interval: a watcher does not die of one bad cycle.
struct Poller: Service {
    let flow: SysproProcoreFlow
    let interval: Duration
    let logger: Logger
    let progress: TerminalProgress

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                _ = try await progress.timed { try await flow.runCycle() }
            } catch is CancellationError {
                return
            } catch {
                logger.error("Cycle could not run; trying again after the interval", metadata: [
                    "error": "\(error)", "retry.in_s": "\(Int(interval.timeInterval))",
                ])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// What a long `sync` or `replay` shows a person: on a terminal, one line per entity rewritten
/// in place as pages complete; then the summary with the wall time. Nothing but the summary when
/// standard error is not a terminal or `--quiet` is given (logs still carry warnings, such as a
/// wait for a rate-limit window).
struct TerminalProgress: Sendable {
    let live: Bool

    static func attach(to flow: SysproProcoreFlow, quiet: Bool) async -> TerminalProgress {
        let live = !quiet && isatty(STDERR_FILENO) == 1
        if live {
            await flow.onProgress { progress in FileHandle.standardError.write(Data("\r\u{1B}[K  \(progress.line)".utf8)) }
        }
        return TerminalProgress(live: live)
    }

    /// Runs a cycle and prints its summary with the wall time it took.
    func timed(_ cycle: () async throws -> CycleSummary) async throws -> CycleSummary {
        let started = ContinuousClock.now
        let summary: CycleSummary
        do {
            summary = try await cycle()
        } catch {
            clearLine()
            throw error
        }
        clearLine()
        let seconds = (ContinuousClock.now - started).timeInterval
        print(ConnectorApp.Demo.describe(summary))
        print("  finished in \(String(format: "%.1f", seconds)) s")
        return summary
    }

    private func clearLine() {
        if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the audit trail.")
    @Option(help: "SQLite state file.") var database = "demo-output/demo.sqlite"
    @Option(help: "Only this run id.") var run: String?
    @Option(help: "Only this outcome: created, updated, skipped-duplicate, held, failed.") var outcome: String?
    @Option(help: "Only this source id (a PO number, or SUPPLIER/INVOICE).") var sourceID: String?
    @Option(help: "At most this many rows.") var limit = 200
    @Flag(help: "Print JSON instead of a table.") var json = false

    func validate() throws {
        if let outcome, Outcome(rawValue: outcome) == nil {
            throw ValidationError("unknown outcome '\(outcome)'; use one of \(Outcome.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if !FileManager.default.fileExists(atPath: database) {
            throw ValidationError("no state file at \(database); run the demo or a sync first, or pass --database")
        }
    }

    func run() async throws {
        let store = try SQLiteSyncStore.open(path: database)
        let rows = try await store.audit(AuditFilter(runID: run, outcome: outcome.flatMap(Outcome.init), sourceID: sourceID, limit: limit))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        print("id     outcome            entity         source id              destination        error / warning")
        for row in rows {
            let note = row.errorText ?? row.warning ?? row.destinationResponse ?? ""
            print([String(row.id ?? 0).padding(toLength: 6, withPad: " ", startingAt: 0),
                   row.outcome.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0),
                   row.sourceEntity.padding(toLength: 14, withPad: " ", startingAt: 0),
                   row.sourceID.padding(toLength: 22, withPad: " ", startingAt: 0),
                   (row.destinationID ?? "-").padding(toLength: 18, withPad: " ", startingAt: 0),
                   String(note.prefix(160))].joined(separator: " "))
        }
        print("\(rows.count) row(s)")
    }
}

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release quarantined records now (all, or the source ids given).")
    @Option(help: "Config file.") var config: String
    @Option(help: "Integration name (default: the first).") var integration: String?
    @Argument(help: "Source ids to replay (PO numbers, SUPPLIER/INVOICE); none = every held record.") var sourceIDs: [String] = []
    @Flag(help: "Post over-budget POs anyway (recorded as a warning in the audit).") var overrideBudget = false
    @Flag(help: "No progress lines on the terminal.") var quiet = false
    @OptionGroup var log: LogOptions

    func run() async throws {
        let (ids, override) = (sourceIDs, overrideBudget)
        let quiet = self.quiet
        try await withConfiguredFlow(config: config, integration: integration, logger: log.bootstrap()) { flow, _ in
            let progress = await TerminalProgress.attach(to: flow, quiet: quiet)
            let summary = try await progress.timed { try await flow.replay(sourceIDs: ids, overrideBudget: override) }
            if !summary.errors.isEmpty { throw ExitCode(1) }
        }
    }
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the simulators standalone (SYSPRO, Procore, Cin7 Core, Procurify, SAP B1, CloudSuite), seeded with the demo data set, on the wall clock.")
    @Option(help: "First port (one per simulator, in the order of --systems); 0 picks free ports.") var port = 0
    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Purchase orders in the generated data set.") var pos = 60
    @Option(help: "Which simulators, comma-separated: syspro,procore,cin7,procurify,sapb1,cloudsuite.") var systems = ConnectorApp.Simulate.systems.joined(separator: ",")
    @Option(help: "Write a ready config (secrets in owner-only files, the CloudSuite .ionapi file) into this directory.") var writeConfig: String?
    @Option(help: "A data set file {\"syspro\": {…}, \"procore\": {…}} instead of the generated demo data.") var data: String?
    @Flag(help: "Run on a simulated clock (move it with POST /_sim/clock/advance) instead of the wall clock.") var simulatedClock = false
    @Flag(help: "Lift Procore's hourly request budget (benchmarks).") var unlimited = false
    @Flag(help: "Print the endpoints as one JSON line (for scripts).") var json = false
    @OptionGroup var log: LogOptions

    var systemList: [String] { systems.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        let unknown = systemList.filter { !ConnectorApp.Simulate.systems.contains($0) }
        guard unknown.isEmpty, !systemList.isEmpty else {
            throw ValidationError("unknown system(s) \(unknown.joined(separator: ", ")); this build simulates: \(ConnectorApp.Simulate.systems.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let logger = log.bootstrap()
        let json = self.json
        try await ConnectorApp.Simulate.serve(
            host: host, firstPort: port, systems: systemList, purchaseOrders: pos, dataFile: data, simulatedClock: simulatedClock,
            unlimited: unlimited, configDirectory: writeConfig, logger: logger
        ) { endpoints in
            // Written straight to the file descriptor: a parent reading the pipe sees it at once.
            let text: String
            if json {
                text = String(decoding: (try? JSONEncoder().encode(endpoints)) ?? Data(), as: UTF8.self) + "\n"
            } else {
                text = ConnectorApp.Simulate.describe(endpoints) + "\nServing until interrupted (Ctrl-C).\n"
            }
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure a flow end to end against the simulators (prints figures).")
    @Argument(help: "The flow to measure: syspro-procore.") var flow: String
    @Option(help: "Purchase orders in the generated data set.") var pos = 10_000
    @Option(help: "Requests in the bare loop that measures the simulators' raw rate.") var rawRequests = 2_000
    @Option(help: "SQLite file for the run's state (recreated).") var database = ".build/bench.sqlite"
    @Flag(help: "Print the figures as JSON too.") var json = false
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard flow == "syspro-procore" else { throw ValidationError("unknown flow '\(flow)'; this build measures: syspro-procore") }
        guard pos > 0 else { throw ValidationError("--pos must be at least 1") }
    }

    func run() async throws {
        let logger = log.bootstrap()
        let figures = try await ConnectorApp.Bench.run(purchaseOrders: pos, rawRequests: rawRequests, databasePath: database, logger: logger) { print($0) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(figures), as: UTF8.self))
        }
    }
}

struct ScenarioCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario", abstract: "Scenario scripts: drive and check end-to-end runs.", subcommands: [ScenarioRun.self])
}

struct ScenarioRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run scenario files or folders; non-zero exit on any failure.")
    @Argument(help: "Scenario files or folders (every .yaml below a folder).") var paths: [String]
    @Option(help: "Write a JUnit XML report here.") var junit: String?
    @Option(help: "simulators (default) or real.") var against = "simulators"
    @Option(help: "With --against real: the config file of the connections (integrations marked sandbox: true).") var connections: String?
    @Option(help: "With --against real: which integration (default: the first).") var integration: String?
    @Flag(help: "With --against real: let sync and replay steps write to the destination.") var allowWrites = false
    @Flag(help: "With --against real: accept a connection not marked sandbox: true.") var allowProduction = false
    @Option(help: "With --against real: the state file for the run.") var database = ".build/scenario-real.sqlite"
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard ["simulators", "real"].contains(against) else { throw ValidationError("--against takes simulators or real") }
        if against == "real" && connections == nil { throw ValidationError("--against real needs --connections FILE (see Fixtures/config/sample.yaml)") }
        if against == "simulators" && (connections != nil || allowWrites || allowProduction) {
            throw ValidationError("--connections, --allow-writes and --allow-production apply only with --against real")
        }
    }

    func run() async throws {
        let logger = log.bootstrap()
        let files: [String]
        do {
            files = try ScenarioReport.files(paths)
        } catch {
            throw ValidationError("\(error)")
        }
        guard !files.isEmpty else { throw ValidationError("no .yaml scenario files under \(paths.joined(separator: ", "))") }
        var real: RealScenarioRunner?
        if against == "real", let connections {
            do {
                real = try RealScenarioRunner(
                    config: try ConnectorConfig.load(path: connections), integration: integration, allowWrites: allowWrites,
                    allowProduction: allowProduction, databasePath: database, logger: logger)
            } catch let error as SyncError {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        var results: [ScenarioResult] = []
        var loadErrors: [ScenarioLoadError] = []
        let runner = ScenarioRunner(logger: logger)
        for file in files {
            do {
                let scenario = try Scenario.load(path: file)
                let result = if let real { await real.run(scenario) } else { await runner.run(scenario) }
                print(ScenarioReport.text(result))
                results.append(result)
            } catch let error as ScenarioLoadError {
                print("FAIL  \(error)")
                loadErrors.append(error)
            }
        }
        let failed = results.filter { !$0.passed }.count + loadErrors.count
        print("\n\(results.count + loadErrors.count - failed) passed, \(failed) failed")
        if let junit {
            try ScenarioReport.junit(results, loadErrors: loadErrors).write(toFile: junit, atomically: true, encoding: .utf8)
            print("JUnit report: \(junit)")
        }
        if failed > 0 { throw ExitCode(1) }
    }
}

struct Credentials: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sealed credentials (AES-256-GCM, a data key per credential wrapped by the master key).",
        discussion: "The master key comes from ML_CONNECTOR_MASTER_KEY (base64 of 32 bytes) or ML_CONNECTOR_MASTER_KEY_FILE (mode 600). Config files refer to a credential as vault:NAME.",
        subcommands: [CredentialsAdd.self, CredentialsList.self, CredentialsRemove.self, CredentialsRotateKey.self])
}

struct VaultOptions: ParsableArguments {
    @Option(help: "The state database that holds the sealed credentials.") var database = "ml-connector.sqlite"

    func vault() throws -> (SQLiteSyncStore, CredentialVault) {
        let store = try SQLiteSyncStore.open(path: database)
        return (store, CredentialVault(store: store, master: try MasterKey.fromEnvironment()))
    }
}

/// Runs a vault command, turning vault problems into a message and exit status 2.
func vaultCommand(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as VaultError {
        FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
        throw ExitCode(2)
    }
}

struct CredentialsAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Seal a secret under a name (replaces one of the same name).")
    @Argument(help: "The credential's name, used in configs as vault:NAME.") var name: String
    @Option(help: "The system it opens: \(CredentialVault.systems.joined(separator: ", ")).") var system: String
    @Option(help: "Take the secret from this environment variable instead of asking.") var fromEnv: String?
    @Option(help: "Take the secret from this file, whole (a CloudSuite .ionapi file); delete the file afterwards.") var fromFile: String?
    @OptionGroup var options: VaultOptions

    func validate() throws {
        if fromEnv != nil && fromFile != nil { throw ValidationError("give --from-env or --from-file, not both") }
    }

    func run() async throws {
        try await vaultCommand {
            let (_, vault) = try options.vault()
            let secret: String
            if let fromFile {
                guard let data = FileManager.default.contents(atPath: fromFile) else { throw VaultError("cannot read \(fromFile)") }
                secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } else if let fromEnv {
                guard let value = ProcessInfo.processInfo.environment[fromEnv], !value.isEmpty else {
                    throw VaultError("environment variable \(fromEnv) is not set")
                }
                secret = value
            } else {
                guard let value = readSecret(prompt: "Secret for \(name) (\(system)), not echoed: ") else {
                    throw VaultError("no secret given on standard input")
                }
                secret = value
            }
            try await vault.add(name: name, system: system, secret: secret)
            print("sealed \(name) (\(system))")
        }
    }
}

/// Reads one line from standard input; on a terminal, with echo turned off.
func readSecret(prompt: String) -> String? {
    guard isatty(STDIN_FILENO) != 0 else { return readLine(strippingNewline: true) }
    FileHandle.standardError.write(Data(prompt.utf8))
    var saved = termios()
    tcgetattr(STDIN_FILENO, &saved)
    var silent = saved
    silent.c_lflag &= ~tcflag_t(ECHO)
    tcsetattr(STDIN_FILENO, TCSANOW, &silent)
    defer {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        FileHandle.standardError.write(Data("\n".utf8))
    }
    return readLine(strippingNewline: true)
}

struct CredentialsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Names, systems and when last checked; never secrets.")
    @OptionGroup var options: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let store = try SQLiteSyncStore.open(path: options.database)
        let list = try await store.credentials()
        let formatter = ISO8601DateFormatter()
        if json {
            let rows: [JSONValue] = list.map {
                ["name": .string($0.name), "system": .string($0.system), "key": .string($0.keyFingerprint),
                 "created": .string(formatter.string(from: $0.createdAt)),
                 "lastChecked": $0.lastCheckedAt.map { .string(formatter.string(from: $0)) } ?? .null,
                 "lastCheckResult": $0.lastCheckResult.map { .string($0) } ?? .null]
            }
            print(JSONValue.array(rows).canonicalJSON())
            return
        }
        print("name                      system      master key    created              last checked")
        for item in list {
            print([item.name.padding(toLength: 25, withPad: " ", startingAt: 0), item.system.padding(toLength: 11, withPad: " ", startingAt: 0),
                   item.keyFingerprint.padding(toLength: 13, withPad: " ", startingAt: 0), formatter.string(from: item.createdAt),
                   item.lastCheckedAt.map { formatter.string(from: $0) + " " + (item.lastCheckResult ?? "") } ?? "never"].joined(separator: " "))
        }
        print("\(list.count) credential(s)")
    }
}

struct CredentialsRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Delete a credential.")
    @Argument var name: String
    @OptionGroup var options: VaultOptions

    func run() async throws {
        let store = try SQLiteSyncStore.open(path: options.database)
        guard try await store.removeCredential(named: name) else {
            FileHandle.standardError.write(Data("error: no credential named \(name)\n".utf8))
            throw ExitCode(1)
        }
        print("removed \(name)")
    }
}

struct CredentialsRotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key", abstract: "Re-wrap every credential under a new master key (secrets are not re-entered).")
    @Option(help: "File with the new master key (base64 of 32 bytes, mode 600).") var newKeyFile: String
    @OptionGroup var options: VaultOptions

    func run() async throws {
        try await vaultCommand {
            let (_, vault) = try options.vault()
            let count = try await vault.rotate(to: try MasterKey.load(file: newKeyFile))
            print("re-wrapped \(count) credential(s); use the new key from now on")
        }
    }
}

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
