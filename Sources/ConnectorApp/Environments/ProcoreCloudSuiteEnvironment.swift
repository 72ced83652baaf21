import AsyncHTTPClient
import ClientKit
import CloudSuiteClient
import CloudSuiteSimulator
import Flows
import Foundation
import Logging
import ProcoreClient
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import SyncStore

/// Flow 003's world in one process: the Procore and CloudSuite simulators on loopback, seeded
/// from a data set, both clients over real HTTP, the flow on a store.
public enum ProcoreCloudSuiteEnvironment {
    public struct Simulators: Sendable {
        public let urls: [String: String]
        public let procore: SimulatorCore
        public let cloudsuite: SimulatorCore
        let http: HTTPClient
        let clock: ManualClock
        let store: any SyncStateStore
        let logger: Logger

        public func makeClients(timeout: Duration = .seconds(30)) throws -> (ProcoreClient, CloudSuiteClient) {
            let procore = ProcoreClient(
                connection: ProcoreConnection(
                    loginBase: urls["procore"]!, apiBase: urls["procore"]!, clientID: DemoData.clientID, clientSecret: DemoData.clientSecret,
                    companyID: DemoData.companyID),
                transport: HTTPTransport(http: http, system: "procore", clock: clock, timeout: timeout, logger: logger))
            let file = try IonAPIFile(text: DemoData.ionapiFile(base: urls["cloudsuite"]!).canonicalJSON(), source: "the demo .ionapi file")
            let m3 = CloudSuiteClient(
                connection: CloudSuiteConnection(ionapi: file, company: DemoData.m3Company),
                transport: HTTPTransport(http: http, system: "cloudsuite", clock: clock, timeout: timeout, logger: logger, seed: 2))
            return (procore, m3)
        }

        public func makeFlow(settings: ProcoreCloudSuiteSettings, timeout: Duration = .seconds(30)) throws -> ProcoreCloudSuiteFlow {
            let (procore, m3) = try makeClients(timeout: timeout)
            return ProcoreCloudSuiteFlow(settings: settings, procore: procore, m3: m3, store: store, clock: clock, logger: logger)
        }
    }

    /// Flow 003's settings for the demo data set: the three projects, each cost code on the M3
    /// item `CC-<code>`.
    public static var demoSettings: ProcoreCloudSuiteSettings {
        ProcoreCloudSuiteSettings(
            projects: DemoData.projects.map(\.id),
            items: Dictionary(DemoData.costCodes.map { ($0.code, "CC-" + $0.code) }, uniquingKeysWith: { a, _ in a }))
    }

    public static func run<R: Sendable>(
        data: DemoData, clock: ManualClock, store: any SyncStateStore, settings: ProcoreCloudSuiteSettings, logger: Logger,
        _ body: @Sendable (ProcoreCloudSuiteFlow, ProcoreBackend, CloudSuiteBackend, Simulators) async throws -> R
    ) async throws -> R {
        let (procoreCore, procore) = ProcoreSimulator.makeCore(clock: clock)
        let (m3Core, m3) = CloudSuiteSimulator.makeCore(clock: clock)
        try await procoreCore.system.seed(data.procore)
        try await m3.seed(data.cloudsuite)
        return try await SimulatorHost.withRunning([procoreCore, m3Core]) { urls in
            try await HTTPClient.withHTTPClient { http in
                let simulators = Simulators(urls: urls, procore: procoreCore, cloudsuite: m3Core, http: http, clock: clock, store: store, logger: logger)
                return try await body(try simulators.makeFlow(settings: settings), procore, m3, simulators)
            }
        }
    }
}
