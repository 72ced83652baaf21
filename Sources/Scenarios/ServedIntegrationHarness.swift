import AsyncHTTPClient
import ClientKit
import ConnectorApp
import Foundation
import Logging
import ServiceLifecycle
import SimulatorKit
import SyncEngine
import SyncStore
import Synchronization

/// One integration under `serve` as a scenario runs it: the real listener (Hummingbird, on a
/// loopback port) and the real poller (`Serve.poll`), with its schedule driven by the scenario
/// (``ManualSchedule``) and its cycles watched through a ``CycleFeed``. The listener can be taken
/// down and brought back on the same port — what Procore's retry ladder meets when the service
/// is restarted or unreachable.
final class ServedIntegrationHarness: Sendable {
    let listener: ServeListener
    let integration: ServedIntegration
    let schedule = ManualSchedule()
    let feed = CycleFeed()
    let clock: ManualClock
    let logger: Logger
    let interval: Duration
    private let state = Mutex<(app: (group: ServiceGroup, task: Task<Void, any Error>)?, port: Int, poller: Task<Void, Never>?)>((nil, 0, nil))

    init(name: String, runner: any SyncRunner, secret: String, store: SQLiteSyncStore, clock: ManualClock, interval: Duration, logger: Logger) {
        self.integration = ServedIntegration(name: name, runner: runner, interval: interval, webhookSecret: secret)
        self.listener = ServeListener(integrations: [integration], store: store, metrics: ServeMetrics(), clock: clock)
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    var port: Int { state.withLock { $0.port } }
    var webhookURL: String { "http://127.0.0.1:\(port)/webhooks/\(integration.name)" }
    var isUp: Bool { state.withLock { $0.app != nil } }

    /// Starts the listener: on a free port the first time, on the same port after ``stop()``.
    func start() async throws {
        let wanted = port
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = Serve.application(receiver: listener, stats: TransportStats(), host: "127.0.0.1", port: wanted, logger: logger) { continuation.yield($0) }
        // the port it listens on, or nothing when it stopped first (a port taken meanwhile)
        // under a service group, so stopping is a graceful shutdown (what SIGTERM does to serve)
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        let bound = await iterator.next()
        guard let bound else {
            let reason: String
            if case .failure(let error) = await task.result { reason = "\(error)" } else { reason = "it stopped at once" }
            throw SyncError(.unexpectedResponse, "the serve listener could not start on 127.0.0.1:\(wanted): \(reason)")
        }
        state.withLock { $0.app = (group, task); $0.port = bound }
    }

    /// Stops the listener (graceful shutdown; the port is closed when this returns).
    func stop() async {
        guard let app = state.withLock({ state -> (group: ServiceGroup, task: Task<Void, any Error>)? in
            defer { state.app = nil }
            return state.app
        }) else { return }
        await app.group.triggerGracefulShutdown()
        _ = await app.task.result
    }

    /// Starts the poller: a first cycle at once, then one per interval (when the scenario says
    /// it is over) or when an event wakes it.
    func startPolling(labels: [String]) {
        let (integration, listener, clock, logger, schedule, feed) = (self.integration, self.listener, self.clock, self.logger, self.schedule, self.feed)
        let poller = Task {
            await Serve.poll(
                integration, labels: labels, receiver: listener, clock: clock, logger: logger,
                sleep: { _ in try await schedule.due() }, keepGoing: { !Task.isCancelled }, reported: { await feed.add($0) })
        }
        state.withLock { $0.poller = poller }
    }

    func shutDown() async {
        let poller = state.withLock { state -> Task<Void, Never>? in
            defer { state.poller = nil }
            return state.poller
        }
        poller?.cancel()
        await poller?.value
        await stop()
    }

    /// Waits for the poller's cycles until every event the listener kept is covered (a cycle
    /// marks processed only what arrived before it began, so an event that came in during one
    /// wakes another). - Returns: the cycles' summaries, or `nil` when none came within a minute.
    func cyclesCoveringEvents() async throws -> [CycleSummary]? {
        var summaries: [CycleSummary] = []
        while true {
            guard let summary = await feed.next(timeout: .seconds(60)) else { return summaries.isEmpty ? nil : summaries }
            summaries.append(summary)
            if !summary.errors.isEmpty { break }  // its events stay pending; the scenario decides
            let pending = try await listener.store.pendingEvents(integration: integration.name, limit: 1).count
            let finished = await feed.waiting
            if pending == 0 && finished == 0 { break }
        }
        return summaries
    }

    /// A delivery made by hand (a forged or malformed event): the listener's HTTP status.
    func post(header: String?, body: JSONValue) async throws -> Int {
        var request = HTTPClientRequest(url: webhookURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let header { request.headers.add(name: integration.webhookHeader, value: header) }
        request.body = .bytes(Array(body.jsonData()))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    /// The listener's count of deliveries answered with `result` (accepted, duplicate, refused…).
    func events(_ result: String) -> Int {
        Int(listener.metrics.value("mlc_webhook_events_total", [("integration", integration.name), ("result", result)]) ?? 0)
    }
}

extension CycleSummary {
    /// The counts of several cycles added up (their errors and warnings kept).
    static func combined(_ summaries: [CycleSummary], labels: [String]) -> CycleSummary {
        var total = CycleSummary(runID: summaries.map(\.runID).joined(separator: "+"), labels: labels)
        for summary in summaries {
            for label in labels {
                let counts = summary[label]
                var sum = total[label]
                sum.read += counts.read
                sum.created += counts.created
                sum.updated += counts.updated
                sum.skipped += counts.skipped
                sum.held += counts.held
                sum.released += counts.released
                sum.failed += counts.failed
                total[label] = sum
            }
            total.errors += summary.errors
            total.warnings += summary.warnings
            total.warningCount += summary.warningCount
        }
        return total
    }
}
