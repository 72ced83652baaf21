import ArgumentParser
import ConnectorApp
import Flows
import Foundation
import SyncEngine

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure a flow end to end against the simulators (prints figures).")
    @Argument(help: "The flow to measure: \(FlowRegistry.names.joined(separator: ", ")).") var flow: String
    @Option(name: [.customLong("records"), .customLong("pos")], help: "Purchase orders in the generated data set.") var pos = 10_000
    @Flag(help: "Instead: 24 simulated hours of 5-minute cycles on the simulated clock, and the wall time they take.") var simulatedDay = false
    @Option(help: "Requests in the bare loop that measures the simulators' raw rate.") var rawRequests = 2_000
    @Option(help: "SQLite file for the run's state (recreated).") var database = ".build/bench.sqlite"
    @Flag(help: "Print the figures as JSON too.") var json = false
    @OptionGroup var log: LogOptions

    func validate() throws {
        try checkRegistered(flow: flow)
        guard pos > 0 else { throw ValidationError("--pos must be at least 1") }
        guard !simulatedDay || flow == SysproProcore.name else { throw ValidationError("--simulated-day is measured for syspro-procore only so far") }
    }

    func run() async throws {
        let logger = log.bootstrap()
        if simulatedDay {
            let figures = try await ConnectorApp.SimulatedDay.run(purchaseOrders: pos, logger: logger) { print($0) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(figures), as: UTF8.self))
            }
            return
        }
        switch flow {
        case ProcurifySyspro.name:
            try await ConnectorApp.Bench.runProcurifySyspro(purchaseOrders: pos, databasePath: database, logger: logger) { print($0) }
            return
        case ProcoreSAPB1.name:
            try await ConnectorApp.Bench.runProcoreSAPB1(commitments: pos, databasePath: database, logger: logger) { print($0) }
            return
        case ProcoreCloudSuite.name:
            try await ConnectorApp.Bench.runProcoreCloudSuite(contracts: pos, databasePath: database, logger: logger) { print($0) }
            return
        case SysproCin7.name:
            try await ConnectorApp.Bench.runSysproCin7(purchaseOrders: pos, databasePath: database, logger: logger) { print($0) }
            return
        default: break
        }
        let figures = try await ConnectorApp.Bench.run(purchaseOrders: pos, rawRequests: rawRequests, databasePath: database, logger: logger) { print($0) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(figures), as: UTF8.self))
        }
    }
}
