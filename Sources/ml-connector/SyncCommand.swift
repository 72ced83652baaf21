import ArgumentParser
import Logging
import SyncEngine
import ServiceLifecycle

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run sync cycles against the systems in a config file.")
    @Option(help: "Config file (see Fixtures/config/sample.yaml).") var config: String
    @Option(help: "Integration name (default: the first).") var integration: String?
    @Flag(help: "Run one cycle and exit (the default).") var once = false
    @Flag(help: "Keep polling every intervalMinutes.") var watch = false
    @Flag(help: "No progress lines on the terminal (the summary and warnings still print).") var quiet = false
    @OptionGroup var log: LogOptions

    func validate() throws {
        if once && watch { throw ValidationError("--once and --watch exclude each other") }
    }

    func run() async throws {
        let (watch, quiet) = (self.watch, self.quiet)
        let logger = log.bootstrap()
        try await withConfiguredFlow(config: config, integration: integration, logger: logger) { flow, chosen in
            let progress = await TerminalProgress.attach(to: flow, quiet: quiet)
            guard watch else {
                let summary = try await progress.timed { try await flow.runCycle() }
                if !summary.errors.isEmpty { throw ExitCode(1) }
                return
            }
            let poller = Poller(flow: flow, interval: .seconds(60 * (chosen.intervalMinutes ?? 10)), logger: logger, progress: progress)
            let group = ServiceGroup(configuration: .init(
                services: [poller], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}

/// `sync --watch`: one cycle per interval until SIGTERM/SIGINT. A cycle in progress runs to
/// completion on shutdown; only the wait between cycles is cut short. A cycle that cannot run
/// (credentials refused, another process holds the integration, the store is busy) is logged and
/// the next one tried after the interval: a watcher does not die of one bad cycle.
struct Poller: Service {
    let flow: any SyncRunner
    let interval: Duration
    let logger: Logger
    let progress: TerminalProgress

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                _ = try await progress.timed { try await flow.runCycle() }
            } catch is CancellationError {
                return
            } catch {
                logger.error("Cycle could not run; trying again after the interval", metadata: [
                    "error": "\(error)", "retry.in_s": "\(Int(interval.timeInterval))",
                ])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
