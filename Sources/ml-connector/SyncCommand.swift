import ArgumentParser
import ConnectorApp
import Flows
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
            let minutes = try chosen.intervalMinutes ?? FlowRegistry.named(chosen.flow).defaultIntervalMinutes
            let poller = Poller(flow: flow, interval: .seconds(60 * minutes), logger: logger, progress: progress)
            let group = ServiceGroup(configuration: .init(
                services: [poller], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}

/// `sync --watch`: one cycle per interval until SIGTERM/SIGINT (``WatchLoop``). A cycle in
/// progress runs to completion on shutdown; only the wait between cycles is cut short. A cycle
/// that cannot run is logged and retried with a growing wait: a watcher does not die of one bad
/// cycle, and exits 0 on a signal (only a configuration error exits 2, before it starts).
struct Poller: Service {
    let flow: any SyncRunner
    let interval: Duration
    let logger: Logger
    let progress: TerminalProgress

    func run() async throws {
        let (flow, progress) = (self.flow, self.progress)
        await WatchLoop(interval: interval).run(
            cycle: { try await progress.timed { try await flow.runCycle() } },
            sleep: { wait in try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } },
            keepGoing: { !Task.isShuttingDownGracefully }, logger: logger)
    }
}
