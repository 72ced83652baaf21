import ArgumentParser

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release quarantined records now (all, or the source ids given).")
    @Option(help: "Config file.") var config: String
    @Option(help: "Integration name (default: the first).") var integration: String?
    @Argument(help: "Source ids to replay (PO numbers, SUPPLIER/INVOICE); none = every held record.") var sourceIDs: [String] = []
    @Flag(help: "Post over-budget POs anyway (recorded as a warning in the audit).") var overrideBudget = false
    @Flag(help: "No progress lines on the terminal.") var quiet = false
    @OptionGroup var log: LogOptions

    func run() async throws {
        let (ids, override) = (sourceIDs, overrideBudget)
        let quiet = self.quiet
        try await withConfiguredFlow(config: config, integration: integration, logger: log.bootstrap()) { flow, _ in
            let progress = await TerminalProgress.attach(to: flow, quiet: quiet)
            let summary = try await progress.timed { try await flow.replay(sourceIDs: ids, overrideBudget: override) }
            if !summary.errors.isEmpty { throw ExitCode(1) }
        }
    }
}
