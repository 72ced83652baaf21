import ConnectorApp
import Foundation
import Logging
import SimulatorKit
import Testing

/// The contract suite against both simulators, as CI runs it: a failure here means a simulator
/// disagrees with the documented API (or the check is wrong).
@Suite(.serialized) struct ContractTests {
    @Test func sysproSimulatorKeepsTheContract() async throws {
        try await withEnvironment(purchaseOrders: 3) { env, _ in
            let outcomes = await ContractSuite.syspro(env.sysproConnection, http: env.http, logger: quiet, allowIntrusive: true)
            #expect(outcomes.count == 7)
            #expect(outcomes.allSatisfy { $0.status == .passed }, "\(ContractSuite.describe(outcomes))")
            #expect(await env.syspro.openSessions == 0)  // every check logs off again
        }
    }

    @Test func procoreSimulatorKeepsTheContract() async throws {
        try await withEnvironment(purchaseOrders: 3) { env, _ in
            let outcomes = await ContractSuite.procore(env.procoreConnection, http: env.http, logger: quiet, allowWrites: true)
            #expect(outcomes.count == 8)
            #expect(outcomes.allSatisfy { $0.status == .passed }, "\(ContractSuite.describe(outcomes))")
        }
    }

    @Test func readOnlyByDefaultAndABrokenSimulatorIsCaught() async throws {
        try await withEnvironment(purchaseOrders: 3) { env, _ in
            let before = await env.procore.commitmentCount
            let readOnly = await ContractSuite.procore(env.procoreConnection, http: env.http, logger: quiet, allowWrites: false)
            #expect(readOnly.filter { $0.status == .skipped }.count == 1)
            #expect(await env.procore.commitmentCount == before)
            // a simulator that answers a list with an object breaks the contract, and the check says so
            env.procoreCore.faults.add(FaultRule(path: "/rest/v1.0/projects", effect: FaultEffect(status: 200, body: "{}")))
            let broken = await ContractSuite.procore(env.procoreConnection, http: env.http, logger: quiet, allowWrites: false)
            let lists = try #require(broken.first { $0.check.hasPrefix("lists are bare arrays") })
            #expect(lists.status == .failed)
            #expect(lists.detail.contains("not a bare array"))
        }
    }
}
