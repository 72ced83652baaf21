import ArgumentParser
import ConnectorApp
import Flows
import Logging
import SyncEngine

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a flow end to end against in-process simulators on an embedded SQLite file (flow 000 SYSPRO → Procore by default).")
    @Argument(help: "The flow to demonstrate: \(FlowRegistry.names.joined(separator: ", ")).") var flow = SysproProcore.name
    @Option(help: "SQLite file for the demo's state and audit (recreated).") var database = "demo-output/demo.sqlite"
    @Option(help: "How many ordinary purchase orders to generate.") var pos = 60
    @OptionGroup var log: LogOptions

    func validate() throws {
        try checkRegistered(flow: flow)
    }

    func run() async throws {
        let logger = log.bootstrap()
        let twoCycles: (@Sendable (String, Logger, @escaping @Sendable (String) -> Void) async throws -> (CycleSummary, CycleSummary))? = switch flow {
        case ProcurifySyspro.name: ConnectorApp.Demo.runProcurifySyspro
        case ProcoreSAPB1.name: ConnectorApp.Demo.runProcoreSAPB1
        case ProcoreCloudSuite.name: ConnectorApp.Demo.runProcoreCloudSuite
        case SysproCin7.name: ConnectorApp.Demo.runSysproCin7
        default: nil
        }
        if let twoCycles {
            let (first, second) = try await twoCycles(database, logger) { print($0) }
            if !first.errors.isEmpty || !second.errors.isEmpty { throw ExitCode(1) }
            return
        }
        let result = try await ConnectorApp.Demo.run(databasePath: database, purchaseOrders: pos, logger: logger) { print($0) }
        if !result.first.errors.isEmpty || !result.second.errors.isEmpty { throw ExitCode(1) }
    }
}
