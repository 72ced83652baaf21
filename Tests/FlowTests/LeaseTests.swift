import ConnectorApp
import Flows
import Foundation
import SyncEngine
import Testing

/// One writer per integration: a second `sync` (or a `replay` while `sync --watch` runs) on the
/// same state is refused naming the holder and writes nothing; a dead holder's lease runs out.
@Suite(.serialized, .timeLimit(.minutes(3))) struct LeaseTests {
    @Test func aSecondWriterIsRefusedNamingTheHolderAndWritesNothing() async throws {
        try await withEnvironment(purchaseOrders: 6) { env, data in
            let now = env.clock.now()
            // another process is mid-cycle: it holds the lease
            _ = try await env.store.acquireLease(scope: SysproProcoreFlow.name, holder: "host-a pid 101", now: now, until: now.addingTimeInterval(300))
            let second = env.makeFlow(settings: settings(data), holder: "host-b pid 202")
            for attempt in 0..<2 {
                await #expect {
                    if attempt == 0 { _ = try await second.runCycle() } else { _ = try await second.replay(sourceIDs: [], overrideBudget: false) }
                } throws: { error in
                    (error as? SyncError)?.code == .busy && "\(error)".contains("host-a pid 101") && "\(error)".contains("runs out at")
                }
            }
            #expect(await env.procore.commitmentCount == 0)
            #expect(try await env.store.runs(limit: 10).isEmpty)  // refused before a run was even recorded
            // the holder died: once its lease runs out the second process goes ahead
            await env.advance(by: .seconds(301))
            let summary = try await second.runCycle()
            #expect(summary.purchaseOrders.created == data.purchaseOrderCount - 1)
            // and gave the lease up at the end: a third process may run the next cycle at once
            let third = env.makeFlow(settings: settings(data), holder: "host-c pid 303")
            #expect(try await third.runCycle().purchaseOrders.created == 0)
            await expectNoDuplicates(env)
        }
    }
}
