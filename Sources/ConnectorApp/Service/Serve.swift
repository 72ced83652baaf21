import ClientKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import SyncEngine
import SyncStore

/// Counters and gauges for `GET /metrics`, in Prometheus' text exposition format (version 0.0.4):
/// `# HELP`/`# TYPE` once per metric, then one `name{label="value"} number` line per series.
public final class ServeMetrics: Sendable {
    struct Series: Hashable { var name: String; var labels: [String] }
    private let values = Mutex<[Series: Double]>([:])
    static let help: [String: (type: String, text: String)] = [
        "mlc_cycles_total": ("counter", "Sync cycles run, by integration and result (ok: ran; error: could not run)"),
        "mlc_records_total": ("counter", "Records handled by cycles, by integration, entity and outcome"),
        "mlc_held_records": ("gauge", "Records held in quarantine after the integration's last cycle"),
        "mlc_webhook_events_total": ("counter", "Webhook deliveries, by integration and result (accepted, duplicate, refused, malformed, too_large, unknown)"),
        "mlc_webhook_lag_seconds": ("gauge", "Age of the oldest webhook event no cycle has processed yet (0 when none waits)"),
        "mlc_rate_limited_total": ("counter", "429 answers received, by system"),
        "mlc_token_renewals_total": ("counter", "Token fetches and logons, by system"),
    ]

    public init() {}

    public func add(_ name: String, _ labels: [(String, String)], _ value: Double = 1) {
        let series = Series(name: name, labels: labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" })
        values.withLock { $0[series, default: 0] += value }
    }

    public func set(_ name: String, _ labels: [(String, String)], _ value: Double) {
        let series = Series(name: name, labels: labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" })
        values.withLock { $0[series] = value }
    }

    public func value(_ name: String, _ labels: [(String, String)]) -> Double? {
        let series = Series(name: name, labels: labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" })
        return values.withLock { $0[series] }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// The exposition text, metrics in name order, series in label order.
    public func text() -> String {
        let snapshot = values.withLock { $0 }
        var out = ""
        for name in Set(snapshot.keys.map(\.name)).sorted() {
            if let help = Self.help[name] { out += "# HELP \(name) \(help.text)\n# TYPE \(name) \(help.type)\n" }
            for (series, value) in snapshot.filter({ $0.key.name == name }).sorted(by: { $0.key.labels.joined() < $1.key.labels.joined() }) {
                let labels = series.labels.isEmpty ? "" : "{" + series.labels.joined(separator: ",") + "}"
                out += "\(name)\(labels) \(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value))\n"
            }
        }
        return out
    }
}

/// Cuts a poller's wait short when an event arrives: many signals while it sleeps or runs make
/// one early cycle (coalesced), never a queue of them.
public actor Wakeup {
    private var pending = false
    private var waiter: (id: Int, continuation: CheckedContinuation<Void, Never>)?
    /// Waits given up before they began (their sleep ended first).
    private var abandoned: Set<Int> = []
    private var nextID = 0

    public init() {}

    public func signal() {
        if let waiter {
            self.waiter = nil
            waiter.continuation.resume()
        } else {
            pending = true
        }
    }

    func waitForSignal(_ id: Int) async {
        if abandoned.remove(id) != nil { return }
        if pending {
            pending = false
            return
        }
        await withCheckedContinuation { waiter = (id, $0) }
    }

    func stopWaiting(_ id: Int) {
        if let waiter, waiter.id == id {
            self.waiter = nil
            waiter.continuation.resume()
        } else {
            abandoned.insert(id)
        }
    }

    func newID() -> Int {
        nextID += 1
        return nextID
    }

    /// Sleeps `duration` on `sleep`, or less if signalled. - Returns: whether a signal ended it.
    /// - Throws: what `sleep` throws (cancellation at shutdown); the wait for a signal is let go
    ///   either way, so the group around them always finishes.
    public func sleep(for duration: Duration, using sleep: @escaping @Sendable (Duration) async throws -> Void) async throws -> Bool {
        let id = newID()
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await sleep(duration); return false }
            group.addTask { await self.waitForSignal(id); return true }
            do {
                let first = try await group.next() ?? false
                group.cancelAll()
                stopWaiting(id)
                return first
            } catch {
                group.cancelAll()
                stopWaiting(id)
                throw error
            }
        }
    }
}

/// One integration as `serve` runs it: its engine, its schedule, the webhook secret it checks
/// (resolved from the vault or environment), and the signal that wakes its poller.
public struct ServedIntegration: Sendable {
    public var name: String
    public var runner: any SyncRunner
    public var interval: Duration
    public var webhookSecret: String?
    public var webhookHeader: String
    public let wakeup = Wakeup()

    public init(name: String, runner: any SyncRunner, interval: Duration, webhookSecret: String?, webhookHeader: String = "Authorization") {
        self.name = name
        self.runner = runner
        self.interval = interval
        self.webhookSecret = webhookSecret
        self.webhookHeader = webhookHeader
    }
}

/// `serve`'s HTTP side: `POST /webhooks/{integration}` (Procore's deliveries), `GET /healthz`,
/// `GET /metrics`. A delivery is checked (its custom header against the integration's secret,
/// compared in constant time; its size; its JSON and event id), kept in the store's inbox, and
/// answered 202 at once — well inside Procore's 5 seconds; the integration's poller is woken to
/// run a cycle, which reads the announced changes in order (the watermark orders them per
/// project), and the events it covered are marked processed. A redelivery of a kept event is
/// answered 200 and dropped.
public struct ServeListener: Sendable {
    public let integrations: [String: ServedIntegration]
    public let store: SQLiteSyncStore
    public let metrics: ServeMetrics
    public let clock: any SyncClock
    public let maxBodyBytes: Int
    public let started: Date

    public init(integrations: [ServedIntegration], store: SQLiteSyncStore, metrics: ServeMetrics, clock: any SyncClock, maxBodyBytes: Int = 1 << 20) {
        self.integrations = Dictionary(integrations.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.maxBodyBytes = maxBodyBytes
        self.started = clock.now()
    }

    /// Equal strings in time that depends only on the expected length, not on where they differ.
    static func constantTimeEqual(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<b.count { difference |= (index < a.count ? a[index] : 0) ^ b[index] }
        return difference == 0
    }

    public struct Answer: Sendable {
        public var status: Int
        public var body: JSONValue
    }

    /// One delivery, as the router hands it over (also what tests call directly).
    public func receive(integration name: String, headers: [String: String], body: Data?) async -> Answer {
        guard let integration = integrations[name] else {
            // one series for every unknown name: a caller must not be able to mint metric series
            metrics.add("mlc_webhook_events_total", [("integration", "(unknown)"), ("result", "unknown")])
            return Answer(status: 404, body: ["error": .string("no integration named \(name) receives webhooks here")])
        }
        guard let secret = integration.webhookSecret else {
            metrics.add("mlc_webhook_events_total", [("integration", name), ("result", "unknown")])
            return Answer(status: 404, body: ["error": .string("integration \(name) has no webhook section")])
        }
        let given = headers.first { $0.key.lowercased() == integration.webhookHeader.lowercased() }?.value ?? ""
        let presented = given.hasPrefix("Bearer ") ? String(given.dropFirst(7)) : given
        guard Self.constantTimeEqual(presented, secret) else {
            metrics.add("mlc_webhook_events_total", [("integration", name), ("result", "refused")])
            return Answer(status: 401, body: ["error": .string("the \(integration.webhookHeader) header does not carry this integration's webhook secret")])
        }
        guard let body else {
            metrics.add("mlc_webhook_events_total", [("integration", name), ("result", "too_large")])
            return Answer(status: 413, body: ["error": .string("the event is larger than \(maxBodyBytes) bytes")])
        }
        guard let event = try? JSONValue(parsing: body), event.objectValue != nil else {
            metrics.add("mlc_webhook_events_total", [("integration", name), ("result", "malformed")])
            return Answer(status: 400, body: ["error": "the body is not a JSON object"])
        }
        // v2/v3 carry a numeric id and a ulid, v4 the ulid as id (procore.md §18)
        guard let eventID = event["ulid"]?.stringValue ?? event["id"].map(\.scalarText).flatMap({ $0.isEmpty ? nil : $0 }) else {
            metrics.add("mlc_webhook_events_total", [("integration", name), ("result", "malformed")])
            return Answer(status: 400, body: ["error": "the event has neither ulid nor id"])
        }
        let project = event["project_id"].map(\.scalarText).flatMap { $0.isEmpty ? nil : $0 }
        let orderKey = project.map { "project:\($0)" } ?? "company:\(event["company_id"].map(\.scalarText) ?? "")"
        do {
            let fresh = try await store.storeEvent(integration: name, eventID: eventID, orderKey: orderKey, payload: body.count > 0 ? String(decoding: body, as: UTF8.self) : "{}", at: clock.now())
            metrics.add("mlc_webhook_events_total", [("integration", name), ("result", fresh ? "accepted" : "duplicate")])
            if fresh { await integration.wakeup.signal() }
            return Answer(status: fresh ? 202 : 200, body: ["event": .string(eventID), "status": .string(fresh ? "accepted" : "duplicate")])
        } catch {
            // not kept: a 5xx makes Procore deliver it again later
            return Answer(status: 503, body: ["error": "the event could not be stored; deliver it again"])
        }
    }

    /// `GET /healthz`: 200 while serving, with each integration's pending event count.
    public func health() async -> Answer {
        var integrations: [String: JSONValue] = [:]
        for name in self.integrations.keys.sorted() {
            let pending = (try? await store.pendingEvents(integration: name).count) ?? -1
            integrations[name] = ["pendingEvents": .number(Double(pending))]
        }
        return Answer(status: 200, body: ["status": "ok", "since": .string(started.formatted(.iso8601)), "integrations": .object(integrations)])
    }

    /// `GET /metrics`, the webhook lag computed now.
    public func metricsText(stats: TransportStats) async -> String {
        for name in integrations.keys {
            let oldest = (try? await store.pendingEvents(integration: name, limit: 1))?.first?.receivedAt
            metrics.set("mlc_webhook_lag_seconds", [("integration", name)], oldest.map { max(0, clock.now().timeIntervalSince($0)) } ?? 0)
        }
        for (system, counts) in stats.bySystem {
            metrics.set("mlc_rate_limited_total", [("system", system)], Double(counts.rateLimited))
            metrics.set("mlc_token_renewals_total", [("system", system)], Double(counts.renewals))
        }
        return metrics.text()
    }

    /// The routes, on a Hummingbird router.
    public func router(stats: TransportStats) -> Router<BasicRequestContext> {
        let router = Router()
        let receiver = self
        router.get("healthz") { _, _ -> Response in Self.response(await receiver.health()) }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: await receiver.metricsText(stats: stats))))
        }
        router.post("webhooks/:integration") { request, context -> Response in
            let name = context.parameters.get("integration") ?? ""
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let body = try? await request.body.collect(upTo: receiver.maxBodyBytes)
            return Self.response(await receiver.receive(integration: name, headers: headers, body: body.map { Data(buffer: $0) }))
        }
        return router
    }

    static func response(_ answer: Answer) -> Response {
        Response(
            status: HTTPResponse.Status(code: answer.status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body.jsonData())))
    }

    /// After a cycle of `integration` that began at `began`: the events it covered are processed.
    public func cycleFinished(_ integration: String, began: Date, summary: CycleSummary, labels: [String]) async {
        metrics.add("mlc_cycles_total", [("integration", integration), ("result", "ok")])
        for label in labels {
            let counts = summary[label]
            for (outcome, value) in [("created", counts.created), ("updated", counts.updated), ("skipped", counts.skipped), ("held", counts.held),
                                     ("released", counts.released), ("failed", counts.failed)] where value > 0 {
                metrics.add("mlc_records_total", [("integration", integration), ("entity", label), ("outcome", outcome)], Double(value))
            }
        }
        let held = (try? await store.quarantined(flow: integration, status: .held).count) ?? 0
        metrics.set("mlc_held_records", [("integration", integration)], Double(held))
        if summary.errors.isEmpty { _ = try? await store.markEventsProcessed(integration: integration, receivedBefore: began, at: clock.now()) }
    }
}

/// `ml-connector serve`: every configured integration on its schedule (one poller and one lease
/// each, woken early by its webhooks) and the HTTP listener, until SIGTERM or SIGINT; a cycle in
/// progress finishes first.
public enum Serve {
    /// The listener as a Hummingbird application (a `Service`), on `host:port` (0: any free port,
    /// told to `onRunning`).
    public static func application(
        receiver: ServeListener, stats: TransportStats, host: String, port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: receiver.router(stats: stats), configuration: .init(address: .hostname(host, port: port), serverName: "ml-connector"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// The loop of one integration: cycles on its interval or when woken, each one reported to
    /// the receiver (metrics, events processed). `sleep` waits (cancelled by a graceful shutdown).
    /// `reported` hears each cycle after its events were marked processed (the demo, scenarios).
    public static func poll(
        _ integration: ServedIntegration, labels: [String], receiver: ServeListener, clock: any SyncClock, logger: Logger,
        sleep: @escaping @Sendable (Duration) async throws -> Void, keepGoing: @escaping @Sendable () -> Bool,
        reported: (@Sendable (CycleSummary) async -> Void)? = nil
    ) async {
        let runner = integration.runner
        await WatchLoop(interval: integration.interval).run(
            cycle: {
                let began = clock.now()
                let summary = try await runner.runCycle()
                await receiver.cycleFinished(integration.name, began: began, summary: summary, labels: labels)
                await reported?(summary)
                return summary
            },
            sleep: { wait in
                if try await integration.wakeup.sleep(for: wait, using: sleep) {
                    logger.info("Woken by a webhook", metadata: ["integration": "\(integration.name)"])
                }
            },
            keepGoing: keepGoing, logger: logger,
            finished: { result in
                if case .failure = result { receiver.metrics.add("mlc_cycles_total", [("integration", integration.name), ("result", "error")]) }
            })
    }
}
