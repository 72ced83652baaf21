import ArgumentParser
import ConnectorApp
import Logging
import Scenarios

@main
struct MLConnector: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ml-connector",
        abstract: "Move purchase orders and invoices between business systems, with simulators to prove it first.",
        subcommands: [Demo.self, Sync.self, Audit.self, Replay.self, Credentials.self, PingCommand.self, Contract.self, Simulate.self, Bench.self, ScenarioCommand.self, Serve.self])
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
