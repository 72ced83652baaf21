import ArgumentParser
import ConnectorApp
import Foundation
import SyncEngine
import Scenarios

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
