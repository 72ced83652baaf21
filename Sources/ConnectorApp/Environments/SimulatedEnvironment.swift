import AsyncHTTPClient
import ClientKit
import Flows
import Foundation
import Logging
import ProcoreClient
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import SyncStore
import SysproClient
import SysproSimulator

/// Both simulators of flow 000 running in process on loopback, seeded, with clients and the flow
/// wired to them over real HTTP. The demo, the tests and the benchmark all start here.
public struct SimulatedEnvironment: Sendable {
    public let clock: ManualClock
    public let sysproCore: SimulatorCore
    public let syspro: SysproBackend
    public let procoreCore: SimulatorCore
    public let procore: ProcoreBackend
    /// A webhook receiver that records what Procore's simulator delivers (and can refuse it).
    public let receiverCore: SimulatorCore
    public let receiver: WebhookReceiver
    public let urls: [String: String]
    public let http: HTTPClient
    public let store: any SyncStateStore
    public let logger: Logger

    /// Starts the simulators, seeds them with `data`, runs `body`, stops everything.
    public static func run<R: Sendable>(
        data: DemoData, clock: ManualClock, store: any SyncStateStore, logger: Logger = Logger(label: "ml-connector"),
        _ body: @Sendable (SimulatedEnvironment) async throws -> R
    ) async throws -> R {
        let (sysproCore, syspro) = SysproSimulator.makeCore(clock: clock)
        let (procoreCore, procore) = ProcoreSimulator.makeCore(clock: clock)
        let receiver = WebhookReceiver()
        let receiverCore = SimulatorCore(system: receiver, clock: clock)
        try await syspro.seed(data.syspro)
        try await procoreCore.system.seed(data.procore)
        return try await SimulatorHost.withRunning([sysproCore, procoreCore, receiverCore]) { urls in
            var config = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(30)))
            config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 4
            return try await HTTPClient.withHTTPClient(configuration: config) { http in
                let environment = SimulatedEnvironment(
                    clock: clock, sysproCore: sysproCore, syspro: syspro, procoreCore: procoreCore, procore: procore,
                    receiverCore: receiverCore, receiver: receiver, urls: urls,
                    http: http, store: store, logger: logger)
                return try await body(environment)
            }
        }
    }

    public var sysproConnection: SysproConnection {
        let base = urls["syspro"]!
        return SysproConnection(
            enetBase: base + SysproSimulator.enetRoot, odataRoot: base + SysproSimulator.odataRoot + "/" + DemoData.sysproCompany,
            operatorCode: DemoData.operatorCode, operatorPassword: DemoData.operatorPassword, companyID: DemoData.sysproCompany,
            odataPassword: DemoData.odataPassword)
    }

    public var procoreConnection: ProcoreConnection {
        let base = urls["procore"]!
        return ProcoreConnection(
            loginBase: base, apiBase: base, clientID: DemoData.clientID, clientSecret: DemoData.clientSecret,
            companyID: DemoData.companyID)
    }

    /// The Procore simulator's webhook dispatcher.
    public var webhooks: WebhookDispatcher { procoreCore.system.webhooks! }

    /// Moves the simulated clock; webhook retries that fall due on the way are delivered on time.
    public func advance(by duration: Duration) async {
        await webhooks.advance(clock, by: duration)
    }

    /// A Procore client on the simulator (for set-up calls such as registering webhooks).
    public func makeProcoreClient() -> ProcoreClient {
        ProcoreClient(connection: procoreConnection, transport: HTTPTransport(http: http, system: "procore", clock: clock, logger: logger))
    }

    /// A flow wired to the simulators (a new one is like a restarted process: same store, no caches).
    /// - Parameters:
    ///   - scope: the integration whose state it keeps (the flow's name by default).
    ///   - holder: who it is when it takes the integration's lease (this process by default).
    ///   - store: another state store in front of the environment's (a test's failing one).
    public func makeFlow(
        settings: SysproProcoreSettings, policy: BackoffPolicy = BackoffPolicy(), stats: TransportStats = TransportStats(),
        timeout: Duration = .seconds(30), scope: String? = nil, holder: String = FlowRuntimeDefaults.processHolder,
        store: (any SyncStateStore)? = nil
    ) -> SysproProcoreFlow {
        let sysproTransport = HTTPTransport(
            http: http, system: "syspro", clock: clock, policy: policy, timeout: timeout, logger: logger, stats: stats)
        let procoreTransport = HTTPTransport(
            http: http, system: "procore", clock: clock, policy: policy, timeout: timeout, logger: logger, stats: stats, seed: 2)
        return SysproProcoreFlow(
            settings: settings, syspro: SysproClient(connection: sysproConnection, transport: sysproTransport),
            procore: ProcoreClient(connection: procoreConnection, transport: procoreTransport), store: store ?? self.store, clock: clock,
            logger: logger, scope: scope, holder: holder)
    }
}
