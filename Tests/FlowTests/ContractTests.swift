import AsyncHTTPClient
import ConnectorApp
import SyncEngine
import Foundation
import Logging
import SimulatorKit
import Testing

/// The contract suite against both simulators, as CI runs it: a failure here means a simulator
/// disagrees with the documented API (or the check is wrong).
@Suite(.serialized, .timeLimit(.minutes(3))) struct ContractTests {
    @Test func sysproSimulatorKeepsTheContract() async throws {
        try await withEnvironment(purchaseOrders: 3) { env, _ in
            let outcomes = await ContractSuite.syspro(env.sysproConnection, http: env.http, logger: quiet, allowIntrusive: true, clock: env.clock)
            #expect(outcomes.count == 10)
            #expect(outcomes.allSatisfy { $0.status == .passed }, "\(ContractSuite.describe(outcomes))")
            #expect(await env.syspro.openSessions == 0)  // every check logs off again
        }
    }

    @Test func procoreSimulatorKeepsTheContract() async throws {
        try await withEnvironment(purchaseOrders: 3) { env, _ in
            let outcomes = await ContractSuite.procore(env.procoreConnection, http: env.http, logger: quiet, allowWrites: true, clock: env.clock)
            #expect(outcomes.count == 10)
            #expect(outcomes.allSatisfy { $0.status == .passed }, "\(ContractSuite.describe(outcomes))")
        }
    }

    @Test func readOnlyByDefaultAndABrokenSimulatorIsCaught() async throws {
        try await withEnvironment(purchaseOrders: 3) { env, _ in
            let before = await env.procore.commitmentCount
            let readOnly = await ContractSuite.procore(env.procoreConnection, http: env.http, logger: quiet, allowWrites: false, clock: env.clock)
            #expect(readOnly.filter { $0.status == .skipped }.count == 1)
            #expect(await env.procore.commitmentCount == before)
            // a simulator that answers a list with an object breaks the contract, and the check says so
            env.procoreCore.faults.add(FaultRule(path: "/rest/v1.0/projects", effect: FaultEffect(status: 200, body: "{}")))
            let broken = await ContractSuite.procore(env.procoreConnection, http: env.http, logger: quiet, allowWrites: false, clock: env.clock)
            let lists = try #require(broken.first { $0.check.hasPrefix("lists are bare arrays") })
            #expect(lists.status == .failed)
            #expect(lists.detail.contains("not a bare array"))
        }
    }

    /// The four simulators that back `ping` only so far, through the config `simulate --write-config` writes.
    func withReferenceSimulators(_ body: @Sendable ([PingTarget], RunningSimulators) async throws -> Void) async throws {
        let systems = ["cin7", "procurify", "sapb1", "cloudsuite"]
        try await withSimulators(systems) { running in
            let config = try ConnectorConfig.load(path: running.configPath)
            let targets = try PingTarget.resolve(config: config, connection: nil, systems: systems, vault: nil)
            try await body(targets, running)
        }
    }

    @Test func cin7ProcurifySAPAndCloudSuiteSimulatorsKeepTheContract() async throws {
        try await withReferenceSimulators { targets, running in
            let expected = ["cin7": 12, "procurify": 11, "sapb1": 14, "cloudsuite": 13]
            #expect(targets.map(\.system) == ["cin7", "procurify", "sapb1", "cloudsuite"])
            for target in targets {
                let outcomes = await ContractSuite.verify(try target.endpoint.get(), http: running.http, logger: quiet, allowWrites: true, clock: running.clock)
                #expect(outcomes.count == expected[target.system], "\(target.system)")
                #expect(outcomes.allSatisfy { $0.status == .passed }, "\(ContractSuite.describe(outcomes))")
            }
        }
    }

    @Test func aSimulatorThatDriftsFromTheDocumentedShapesIsCaught() async throws {
        try await withReferenceSimulators { targets, running in
            let (http, endpoints) = (running.http, running.endpoints)
            // M3's envelope spells nrOfSuccessfullTransactions with two l; a "corrected" one breaks clients.
            try await simControl(endpoints.cloudsuite, "/_sim/faults", ["path": "*/CRS620MI/LstSuppliers*", "effect": [
                "status": 200, "body": #"{"results":[{"transaction":"LstSuppliers","records":[]}],"nrOfSuccessfulTransactions":1}"#]], http: http)
            // Procurify lists without the metadata.pagination envelope.
            try await simControl(endpoints.procurify, "/_sim/faults", ["path": "/api/v3/vendors*", "effect": ["status": 200, "body": #"{"data":[]}"#]], http: http)
            for target in targets where ["cloudsuite", "procurify"].contains(target.system) {
                let outcomes = await ContractSuite.verify(try target.endpoint.get(), http: running.http, logger: quiet, allowWrites: false, clock: running.clock)
                let failed = outcomes.filter { $0.status == .failed }
                if target.system == "cloudsuite" {
                    #expect(failed.map(\.check).contains { $0.hasPrefix("MI answers the results envelope") })
                    #expect(failed.contains { $0.detail.contains("two l") })
                    #expect(outcomes.filter { $0.status == .skipped }.count == 3)  // the failed login, the PPS370MI refusals and AddSupplier need --allow-writes
                } else {
                    #expect(failed.contains { $0.detail.contains("metadata.pagination") })
                }
            }
        }
    }
}
