import ConnectorApp
import Flows
import Foundation
import Synchronization
import SimulatorKit
import SyncEngine
import SyncStore
import Testing

@Suite(.serialized, .timeLimit(.minutes(2))) struct WatchLoopTests {
    /// Cycles that cannot start — Procore's token endpoint failing, SYSPRO refusing the logon,
    /// another process holding the lease — are survived: each is logged, the wait doubles, and the
    /// first cycle that runs resets it.
    @Test func survivesCyclesThatCannotStartAndBacksOff() async throws {
        try await withEnvironment(purchaseOrders: 4) { env, data in
            let flow = env.makeFlow(settings: settings(data))
            let outcomes = Mutex<[String]>([])
            let waits = Mutex<[Duration]>([])
            let step = Mutex(0)
            let clock = env.clock
            // Cycle 1: the token request fails for good (500s past the retries).
            env.procoreCore.faults.add(FaultRule(path: "/oauth/token", times: 8, effect: FaultEffect(status: 500)))
            let loop = WatchLoop(interval: .seconds(600))
            await loop.run(
                cycle: {
                    let n = step.withLock { $0 += 1; return $0 }
                    if n == 2 {  // SYSPRO refuses the operator's logon
                        env.procoreCore.faults.clear()
                        env.sysproCore.faults.add(FaultRule(
                            path: "*/Logon", times: 4, effect: FaultEffect(status: 200, body: "ERROR: Invalid operator password")))
                    }
                    if n == 3 {  // another process holds the integration
                        env.sysproCore.faults.clear()
                        _ = try await env.store.acquireLease(
                            scope: SysproProcoreFlow.name, holder: "other-host pid 7", now: clock.now(), until: clock.now().addingTimeInterval(60))
                    }
                    return try await flow.runCycle()
                },
                sleep: { wait in
                    waits.withLock { $0.append(wait) }
                    try await clock.sleep(for: wait)
                },
                keepGoing: { step.withLock { $0 } < 5 }, logger: quiet,
                finished: { result in
                    outcomes.withLock {
                        switch result {
                        case .success: $0.append("ran")
                        case .failure(let error): $0.append((error as? SyncError)?.code.rawValue ?? "\(error)")
                        }
                    }
                })
            let seen = outcomes.withLock { $0 }
            #expect(seen.count == 5)
            #expect(Array(seen.prefix(3)).allSatisfy { $0 != "ran" })
            #expect(seen[2] == "busy")
            #expect(seen[3] == "ran" && seen[4] == "ran")  // the lease ran out, the watcher went on
            #expect(waits.withLock { Array($0.prefix(4)) } == [.seconds(600), .seconds(1200), .seconds(2400), .seconds(600)])
            await expectNoDuplicates(env)
        }
    }

    @Test func theBackoffIsCapped() {
        let loop = WatchLoop(interval: .seconds(300))
        #expect(loop.wait(afterFailures: 0) == .seconds(300))
        #expect(loop.wait(afterFailures: 2) == .seconds(600))
        #expect(loop.wait(afterFailures: 5) == .seconds(3600))
        #expect(loop.wait(afterFailures: 10_000) == .seconds(3600))
        #expect(WatchLoop(interval: .seconds(7200)).wait(afterFailures: 3) == .seconds(7200))
    }
}
