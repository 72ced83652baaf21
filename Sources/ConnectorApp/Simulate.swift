import Foundation
import Logging
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import SysproSimulator

/// `ml-connector simulate`: the simulators served standalone for clients in any language, seeded
/// with the demo data set, on the wall clock.
public enum Simulate {
    /// What a client needs to reach the simulators.
    public struct Endpoints: Codable, Sendable {
        public var syspro: String
        public var procore: String
    }

    /// Serves until the task is cancelled or the process is stopped.
    /// - Parameters:
    ///   - purchaseOrders: size of the generated data set.
    ///   - unlimited: lift Procore's hourly request budget (for benchmarks, where the budget
    ///     would otherwise be what is measured).
    ///   - announce: receives the endpoints once both listeners are bound.
    public static func serve(
        host: String = "127.0.0.1", firstPort: Int = 0, purchaseOrders: Int, unlimited: Bool, logger: Logger,
        announce: @Sendable (Endpoints) -> Void
    ) async throws {
        let clock = SystemClock()
        let data = DemoData.generate(purchaseOrders: purchaseOrders, today: clock.now())
        let (sysproCore, syspro) = SysproSimulator.makeCore(clock: clock)
        let (procoreCore, procore) = ProcoreSimulator.makeCore(clock: clock)
        try await syspro.seed(data.syspro)
        try await procoreCore.system.seed(data.procore)
        if unlimited {
            var settings = await procore.settings
            settings.hourlyLimit = 1_000_000_000
            await procore.setSettings(settings)
        }
        try await SimulatorHost.withRunning([sysproCore, procoreCore], host: host, firstPort: firstPort, logger: logger) { urls in
            announce(Endpoints(syspro: urls["syspro"]!, procore: urls["procore"]!))
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
        }
    }

    /// The human-readable description `simulate` prints.
    public static func describe(_ endpoints: Endpoints) -> String {
        """
        SYSPRO   \(endpoints.syspro)
          e.net REST  \(endpoints.syspro)\(SysproSimulator.enetRoot)/Logon?Operator=\(DemoData.operatorCode)&OperatorPassword=\(DemoData.operatorPassword)&CompanyId=\(DemoData.sysproCompany)
          OData       \(endpoints.syspro)\(SysproSimulator.odataRoot)/\(DemoData.sysproCompany)/PorMasterHdr  (Basic \(DemoData.operatorCode):\(DemoData.odataPassword))
          control     \(endpoints.syspro)/_sim/{reset,seed,clock,faults,kill-sessions,journal}
        Procore  \(endpoints.procore)
          token       POST \(endpoints.procore)/oauth/token  client_id=\(DemoData.clientID) client_secret=\(DemoData.clientSecret)  company \(DemoData.companyID)
          control     \(endpoints.procore)/_sim/{reset,seed,clock,faults,expire-tokens,journal}
        (simulator credentials: they open nothing but these simulators)
        """
    }
}
