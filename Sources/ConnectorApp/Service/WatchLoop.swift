import Foundation
import Logging
import SyncEngine

/// What `sync --watch` does between cycles, apart from the process around it so that tests run
/// it on the simulated clock.
///
/// A cycle that cannot start — the token request fails, SYSPRO refuses the logon, another process
/// holds the integration's lease, the store is busy — is logged with its reason and the loop
/// backs off: the wait after each such cycle in a row doubles, from the interval up to
/// ``maximumBackoff`` (or the interval, if that is longer). A cycle that runs (even with records
/// held or an entity's page failing) resets it. The loop itself never ends on an error; only the
/// caller stops it (SIGTERM, SIGINT).
public struct WatchLoop: Sendable {
    public var interval: Duration
    public var maximumBackoff: Duration

    public init(interval: Duration, maximumBackoff: Duration = .seconds(3600)) {
        self.interval = interval
        self.maximumBackoff = maximumBackoff
    }

    /// The wait after `failures` cycles in a row could not run (0 after a cycle that ran).
    public func wait(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return interval }
        let cap = max(interval, maximumBackoff)
        var wait = interval
        for _ in 1..<min(failures, 32) {
            wait = wait * 2
            if wait >= cap { return cap }
        }
        return min(wait, cap)
    }

    /// Runs cycles until `keepGoing` answers false or `sleep` is cancelled.
    /// - Parameters:
    ///   - cycle: one sync cycle (throws when it cannot start).
    ///   - sleep: waits between cycles (the real clock, cut short by a graceful shutdown; or a
    ///     test's simulated clock).
    ///   - finished: told after each cycle what it returned or why it could not run.
    public func run(
        cycle: @Sendable () async throws -> CycleSummary, sleep: @Sendable (Duration) async throws -> Void,
        keepGoing: @Sendable () -> Bool, logger: Logger, finished: @Sendable (Result<CycleSummary, any Error>) -> Void = { _ in }
    ) async {
        var failures = 0
        while keepGoing() {
            do {
                let summary = try await cycle()
                failures = 0
                finished(.success(summary))
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                let wait = wait(afterFailures: failures)
                logger.error("Cycle could not run; trying again later", metadata: [
                    "error": "\(error)", "failures.in_a_row": "\(failures)", "retry.in_s": "\(Int(wait.timeInterval))",
                ])
                finished(.failure(error))
            }
            guard keepGoing() else { return }
            do {
                try await sleep(wait(afterFailures: failures))
            } catch {
                return
            }
        }
    }
}
