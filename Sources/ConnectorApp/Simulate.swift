import Foundation
import Logging
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import SysproSimulator
import Cin7Simulator

/// `ml-connector simulate`: the simulators served standalone for clients in any language, seeded
/// with the demo data set, on the wall clock.
public enum Simulate {
    /// What a client needs to reach the simulators.
    public struct Endpoints: Codable, Sendable {
        public var syspro: String?
        public var procore: String?
        public var cin7: String?
    }

    public static let systems = ["syspro", "procore", "cin7"]

    /// Serves until the task is cancelled or the process is stopped.
    /// - Parameters:
    ///   - purchaseOrders: size of the generated data set.
    ///   - unlimited: lift Procore's hourly request budget (for benchmarks, where the budget
    ///     would otherwise be what is measured).
    ///   - announce: receives the endpoints once both listeners are bound.
    ///   - systems: which simulators to serve (`syspro`, `procore`).
    ///   - dataFile: a JSON file `{"syspro": {…}, "procore": {…}}` in each simulator's seed format,
    ///     instead of the generated demo data.
    ///   - simulatedClock: run on a manual clock (moved with `POST /_sim/clock/advance`) instead of
    ///     the wall clock.
    public static func serve(
        host: String = "127.0.0.1", firstPort: Int = 0, systems: [String] = Simulate.systems, purchaseOrders: Int,
        dataFile: String? = nil, simulatedClock: Bool = false, unlimited: Bool, logger: Logger,
        announce: @Sendable (Endpoints) -> Void
    ) async throws {
        let clock: any SyncClock = simulatedClock ? ManualClock(start: Date()) : SystemClock()
        var sysproSeed: JSONValue
        var procoreSeed: JSONValue
        var cin7Seed: JSONValue
        if let dataFile {
            guard let data = FileManager.default.contents(atPath: dataFile),
                let json = try? JSONDecoder().decode(JSONValue.self, from: data)
            else { throw SyncError(.invalidConfig, "cannot read \(dataFile) as JSON") }
            sysproSeed = json["syspro"] ?? [:]
            procoreSeed = json["procore"] ?? [:]
            cin7Seed = json["cin7"] ?? [:]
        } else {
            let data = DemoData.generate(purchaseOrders: purchaseOrders, today: clock.now())
            (sysproSeed, procoreSeed, cin7Seed) = (data.syspro, data.procore, data.cin7)
        }
        let (sysproCore, syspro) = SysproSimulator.makeCore(clock: clock)
        let (procoreCore, procore) = ProcoreSimulator.makeCore(clock: clock)
        let (cin7Core, cin7) = Cin7Simulator.makeCore(clock: clock)
        do {
            try await syspro.seed(sysproSeed)
            try await procoreCore.system.seed(procoreSeed)
            try await cin7.seed(cin7Seed)
        } catch {
            throw SyncError(.invalidConfig, "the data set does not fit the simulators: \(error)")
        }
        if unlimited {
            var settings = await procore.settings
            settings.hourlyLimit = 1_000_000_000
            await procore.setSettings(settings)
            var cin7Settings = await cin7.settings
            cin7Settings.callsPerMinute = 1_000_000_000
            await cin7.setSettings(cin7Settings)
        }
        let cores = [sysproCore, procoreCore, cin7Core].filter { systems.contains($0.name) }
        try await SimulatorHost.withRunning(cores, host: host, firstPort: firstPort, logger: logger) { urls in
            announce(Endpoints(syspro: urls["syspro"], procore: urls["procore"], cin7: urls["cin7"]))
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
        }
    }

    /// The human-readable description `simulate` prints.
    public static func describe(_ endpoints: Endpoints) -> String {
        var lines: [String] = []
        if let syspro = endpoints.syspro {
            lines += [
                "SYSPRO   \(syspro)",
                "  e.net REST  \(syspro)\(SysproSimulator.enetRoot)/Logon?Operator=\(DemoData.operatorCode)&OperatorPassword=\(DemoData.operatorPassword)&CompanyId=\(DemoData.sysproCompany)",
                "  OData       \(syspro)\(SysproSimulator.odataRoot)/\(DemoData.sysproCompany)/PorMasterHdr  (Basic \(DemoData.operatorCode):\(DemoData.odataPassword))",
                "  control     \(syspro)/_sim/{reset,seed,clock,clock/advance,faults,kill-sessions,journal}",
            ]
        }
        if let procore = endpoints.procore {
            lines += [
                "Procore  \(procore)",
                "  token       POST \(procore)/oauth/token  client_id=\(DemoData.clientID) client_secret=\(DemoData.clientSecret)  company \(DemoData.companyID)",
                "  control     \(procore)/_sim/{reset,seed,clock,clock/advance,faults,expire-tokens,journal,webhooks/…}",
            ]
        }
        if let cin7 = endpoints.cin7 {
            lines += [
                "Cin7     \(cin7)",
                "  API         GET \(cin7)\(Cin7Simulator.root)/me  api-auth-accountid: \(DemoData.cin7AccountID)  api-auth-applicationkey: \(DemoData.cin7ApplicationKey)",
                "  control     \(cin7)/_sim/{reset,seed,clock,clock/advance,faults,journal}",
            ]
        }
        lines.append("(simulator credentials: they open nothing but these simulators; no .ionapi file: CloudSuite is not simulated yet)")
        return lines.joined(separator: "\n")
    }
}
