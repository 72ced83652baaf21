import ArgumentParser
import ConnectorApp
import Foundation

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the simulators standalone (SYSPRO, Procore, Cin7 Core, Procurify, SAP B1, CloudSuite), seeded with the demo data set, on the wall clock.")
    @Option(help: "First port (one per simulator, in the order of --systems); 0 picks free ports.") var port = 0
    @Option(help: "Address to bind (loopback only, unless --allow-remote).") var host = "127.0.0.1"
    @Flag(help: "Allow a --host other than loopback: anyone who reaches it can read the demo data and drive the simulators' control API.") var allowRemote = false
    @Option(help: "Purchase orders in the generated data set.") var pos = 60
    @Option(help: "Which simulators, comma-separated: syspro,procore,cin7,procurify,sapb1,cloudsuite.") var systems = ConnectorApp.Simulate.systems.joined(separator: ",")
    @Option(help: "Write a ready config (secrets in owner-only files, the CloudSuite .ionapi file) into this directory.") var writeConfig: String?
    @Option(help: "A data set file {\"syspro\": {…}, \"procore\": {…}} instead of the generated demo data.") var data: String?
    @Flag(help: "Run on a simulated clock (move it with POST /_sim/clock/advance) instead of the wall clock.") var simulatedClock = false
    @Flag(help: "Lift the request budgets (Procore's hourly and spike windows, Cin7's per minute) for benchmarks.") var unlimited = false
    @Flag(help: "Print the endpoints as one JSON line (for scripts).") var json = false
    @OptionGroup var log: LogOptions

    var systemList: [String] { systems.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        if !allowRemote, !["127.0.0.1", "localhost", "::1"].contains(host.lowercased()) {
            throw ValidationError("--host \(host) is not loopback: the simulators serve their demo credentials and a control API (/_sim/) that resets, seeds and faults them to whoever reaches them. Bind 127.0.0.1, or add --allow-remote on a network you trust.")
        }
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
