import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import Flows
import Foundation
import Logging
import SyncEngine
import SyncStore
import Vault
#if canImport(Glibc)
import Glibc
#endif

/// Loads a config, opens its state file and runs `body` with a flow wired to the configured
/// systems over one HTTP client. A configuration or credential problem exits with status 2, any
/// other failure (another process holds the integration, the systems refused the cycle) with 1,
/// each with a message that says what to do.
func withConfiguredFlow(
    config: String, integration: String?, logger: Logger,
    _ body: @Sendable (any SyncRunner, ConnectorConfig.Integration) async throws -> Void
) async throws {
    do {
        let file = try ConnectorConfig.load(path: config)
        let chosen = try file.integration(named: integration)
        let store = try SQLiteSyncStore.open(path: file.database ?? "ml-connector.sqlite")
        try await adoptLegacyState(of: chosen, in: file, store: store, logger: logger)
        try await HTTPClient.withHTTPClient { http in
            let flow = try chosen.makeRunner(
                http: http, store: store, clock: SystemClock(), logger: logger, vault: CredentialVault.resolver(store: store))
            try await body(flow, chosen)
        }
    } catch let error as SyncError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(error.code == .invalidConfig ? 2 : 1)
    }
}

/// State written before integrations kept their own lives under the flow's name: it goes to the
/// integration when it is the config's only one of that flow; with several, nobody can tell whose
/// it was, and the user is asked.
func adoptLegacyState(of chosen: ConnectorConfig.Integration, in file: ConnectorConfig, store: SQLiteSyncStore, logger: Logger) async throws {
    guard chosen.name != chosen.flow, try await store.hasState(scope: chosen.flow) else { return }
    let siblings = file.integrations.filter { $0.flow == chosen.flow }
    guard siblings.count == 1 else {
        throw SyncError(.invalidConfig, "the state database holds \(chosen.flow) state from before integrations kept their own, and the config has \(siblings.count) integrations of that flow (\(siblings.map(\.name).joined(separator: ", "))). Run one cycle with a config that lists only the integration that wrote it; it then keeps that state under its name.")
    }
    let moved = try await store.adoptLegacyState(of: chosen.flow, into: chosen.name)
    if moved > 0 {
        logger.notice("State moved to its integration", metadata: ["integration": "\(chosen.name)", "flow": "\(chosen.flow)", "rows": "\(moved)"])
    }
}

/// What a long `sync` or `replay` shows a person: on a terminal, one line per entity rewritten
/// in place as pages complete; then the summary with the wall time. Nothing but the summary when
/// standard error is not a terminal or `--quiet` is given (logs still carry warnings, such as a
/// wait for a rate-limit window).
struct TerminalProgress: Sendable {
    let live: Bool

    static func attach(to flow: any SyncRunner, quiet: Bool) async -> TerminalProgress {
        let live = !quiet && isatty(STDERR_FILENO) == 1
        if live {
            await flow.onProgress { progress in FileHandle.standardError.write(Data("\r\u{1B}[K  \(progress.line)".utf8)) }
        }
        return TerminalProgress(live: live)
    }

    /// Runs a cycle and prints its summary with the wall time it took.
    func timed(_ cycle: () async throws -> CycleSummary) async throws -> CycleSummary {
        let started = ContinuousClock.now
        let summary: CycleSummary
        do {
            summary = try await cycle()
        } catch {
            clearLine()
            throw error
        }
        clearLine()
        let seconds = (ContinuousClock.now - started).timeInterval
        print(ConnectorApp.Demo.describe(summary))
        print("  finished in \(String(format: "%.1f", seconds)) s")
        return summary
    }

    private func clearLine() {
        if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// A flow name given on the command line must be registered; the error lists those that are.
func checkRegistered(flow: String) throws {
    do {
        _ = try FlowRegistry.named(flow)
    } catch let error as SyncError {
        throw ValidationError(error.message)
    }
}
