import AsyncHTTPClient
import ClientKit
import ConnectorApp
import Foundation
import ProcoreSimulator
import Hummingbird
import Logging
import NIOCore
import SyncEngine
import SyncStore
import Synchronization
import Testing

/// `serve`: the webhook listener (secret header in constant time, size limit, malformed bodies,
/// redeliveries kept once), `/healthz` and `/metrics` over real HTTP, and a poller that a
/// webhook wakes early and whose cycle marks the events it covered processed.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ServeTests {
    /// A stand-in engine: counts its cycles and tells each one on `finished`.
    actor CountingRunner: SyncRunner {
        nonisolated let scope = "hooks"
        nonisolated let (finished, announce) = AsyncStream.makeStream(of: Int.self)
        /// Flipped by the cycle numbered `stopAfter`, so the loop ends after reporting it.
        nonisolated let stop = Stop()
        var stopAfter = Int.max
        var cycles = 0
        func runCycle(runID: String) async throws -> CycleSummary {
            cycles += 1
            if cycles >= stopAfter { stop.value = true }
            announce.yield(cycles)
            return CycleSummary(runID: runID)
        }
        func stop(after cycles: Int) { stopAfter = cycles }
        func replay(runID: String, sourceIDs: [String], overrideBudget: Bool) async throws -> CycleSummary { CycleSummary(runID: runID) }
        func armCrash(at point: CrashPoint, skip: Int) {}
        func onProgress(_ handler: (@Sendable (FlowProgress) -> Void)?) {}
    }

    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    static let secret = "whsec-test-0123456789"
    static let event = #"{"id":5982324300946918154,"ulid":"01JQ3V5E2M8K4Z7T9R1B6C0D2F","event_type":"update","resource_name":"Purchase Order Contracts","resource_id":786001,"company_id":8,"project_id":101}"#

    func listener(maxBody: Int = 4096) throws -> (ServeListener, CountingRunner, ServedIntegration) {
        let runner = CountingRunner()
        let integration = ServedIntegration(name: "hooks", runner: runner, interval: .seconds(3600), webhookSecret: Self.secret)
        let plain = ServedIntegration(name: "plain", runner: runner, interval: .seconds(3600), webhookSecret: nil)
        let listener = ServeListener(integrations: [integration, plain], store: try SQLiteSyncStore.inMemory(), metrics: ServeMetrics(), clock: clock, maxBodyBytes: maxBody)
        return (listener, runner, integration)
    }

    @Test func deliveriesAreCheckedKeptOnceAndCounted() async throws {
        let (listener, _, _) = try listener()
        let body = Data(Self.event.utf8)
        #expect(await listener.receive(integration: "hooks", headers: [:], body: body).status == 401)
        #expect(await listener.receive(integration: "hooks", headers: ["Authorization": "Bearer whsec-test-012345678"], body: body).status == 401)
        #expect(await listener.receive(integration: "hooks", headers: ["authorization": "Bearer \(Self.secret)x"], body: body).status == 401)
        #expect(await listener.receive(integration: "nope", headers: ["Authorization": Self.secret], body: body).status == 404)
        #expect(await listener.receive(integration: "plain", headers: ["Authorization": Self.secret], body: body).status == 404)
        let good = ["Authorization": "Bearer \(Self.secret)"]
        #expect(await listener.receive(integration: "hooks", headers: good, body: Data("{not json".utf8)).status == 400)
        #expect(await listener.receive(integration: "hooks", headers: good, body: Data(#"{"event_type":"update"}"#.utf8)).status == 400)
        #expect(await listener.receive(integration: "hooks", headers: good, body: nil).status == 413)
        let first = await listener.receive(integration: "hooks", headers: good, body: body)
        #expect(first.status == 202)
        // Procore delivers at least once: the redelivery is answered 2xx (so it stops) and dropped
        let again = await listener.receive(integration: "hooks", headers: ["Authorization": Self.secret], body: body)
        #expect(again.status == 200 && again.body["status"] == "duplicate")
        let pending = try await listener.store.pendingEvents(integration: "hooks")
        #expect(pending.count == 1)
        #expect(pending.first?.eventID == "01JQ3V5E2M8K4Z7T9R1B6C0D2F" && pending.first?.orderKey == "project:101")
        let metrics = await listener.metricsText(stats: TransportStats())
        #expect(metrics.contains(#"mlc_webhook_events_total{integration="hooks",result="refused"} 3"#))
        #expect(metrics.contains(#"mlc_webhook_events_total{integration="hooks",result="accepted"} 1"#))
        #expect(metrics.contains(#"mlc_webhook_events_total{integration="hooks",result="duplicate"} 1"#))
        #expect(metrics.contains("# TYPE mlc_webhook_lag_seconds gauge"))
        // nothing secret in an answer
        #expect(!"\(await listener.receive(integration: "hooks", headers: [:], body: body).body)".contains(Self.secret))
    }

    @Test func aWebhookWakesThePollerAndItsCycleMarksTheEventProcessed() async throws {
        let (listener, runner, integration) = try listener()
        await runner.stop(after: 2)
        let stop = runner.stop
        let loop = Task {
            await ConnectorApp.Serve.poll(
                integration, labels: [], receiver: listener, clock: clock, logger: Logger(label: "test"),
                sleep: { _ in try await Forever.wait() },  // the interval never ends here: only a webhook does
                keepGoing: { !stop.value })
        }
        var cycles = runner.finished.makeAsyncIterator()
        // the first cycle runs at once; then the loop waits
        #expect(await cycles.next() == 1)
        clock.advance(by: .seconds(60))
        #expect(await listener.receive(integration: "hooks", headers: ["Authorization": Self.secret], body: Data(Self.event.utf8)).status == 202)
        #expect(await cycles.next() == 2)  // woken by the event
        await loop.value  // the second cycle reported, the loop ends
        #expect(try await listener.store.pendingEvents(integration: "hooks").isEmpty)
        #expect(listener.metrics.value("mlc_cycles_total", [("integration", "hooks"), ("result", "ok")]) == 2)
    }

    @Test func theListenerAnswersOverHTTP() async throws {
        let (listener, _, _) = try listener(maxBody: 512)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let app = ConnectorApp.Serve.application(receiver: listener, stats: TransportStats(), host: "127.0.0.1", port: 0, logger: quiet) { continuation.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let base = "http://127.0.0.1:\(port)"
            func post(_ body: String, secret: String = Self.secret) async throws -> Int {
                var request = HTTPClientRequest(url: base + "/webhooks/hooks")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(secret)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
                return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(5)).status.code)
            }
            #expect(try await post(Self.event) == 202)
            #expect(try await post(Self.event) == 200)
            #expect(try await post(Self.event, secret: "wrong") == 401)
            #expect(try await post(String(repeating: " ", count: 2048) + Self.event) == 413)
            let health = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/healthz"), timeout: .seconds(5))
            #expect(health.status.code == 200)
            let metrics = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(5))
            #expect(metrics.headers.first(name: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
            #expect(text.contains(#"mlc_webhook_events_total{integration="hooks",result="too_large"} 1"#))
            group.cancelAll()
        }
    }
}

extension ServeTests {
    /// `serve`'s start registers the hook through Procore's own API; Procore's simulator then
    /// delivers a direct cost's event, with the secret in the hook's headers, to the listener
    /// over HTTP, which keeps it. A second start finds the hook and adds nothing; a rotated
    /// secret corrects the hook's headers.
    @Test func theHookIsRegisteredOnceAndProcoreDeliversToTheListener() async throws {
        let (listener, _, _) = try listener()
        let quiet = { var logger = Logger(label: "test"); logger.logLevel = .critical; return logger }()
        let data = DemoData.generate(purchaseOrders: 1, today: clock.now())
        try await SimulatedEnvironment.run(data: data, clock: clock, store: try SQLiteSyncStore.inMemory(), logger: quiet) { env in
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = ConnectorApp.Serve.application(receiver: listener, stats: TransportStats(), host: "127.0.0.1", port: 0, logger: quiet) { continuation.yield($0) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.run() }
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                let destination = "http://127.0.0.1:\(port)/webhooks/hooks"
                let procore = env.makeProcoreClient()
                let first = try await ProcoreHooks.ensure(procore: procore, destination: destination, header: "Authorization", secret: Self.secret, resources: ["Direct Costs"])
                #expect(first.created && first.triggersAdded == 2 && first.triggersRefused.isEmpty)
                let again = try await ProcoreHooks.ensure(procore: procore, destination: destination, header: "Authorization", secret: Self.secret, resources: ["Direct Costs"])
                #expect(!again.created && !again.headersUpdated && again.triggersAdded == 0 && again.hookID == first.hookID)
                // a change in Procore: the event arrives at the listener with the hook's header
                _ = try await env.procore.addDirectCost(projectNumber: "2301", seed: [
                    "direct_cost_type": "invoice", "invoice_number": "DC-HOOK", "status": "approved",
                    "line_items": [["cost_code": "03-300", "quantity": 1, "unit_cost": 10]],
                ])
                // the simulator turns changes into events as it answers its next request
                _ = try await procore.list("/rest/v1.0/projects", query: [("company_id", "8")], what: "projects")
                await env.webhooks.settle()
                let kept = try await listener.store.pendingEvents(integration: "hooks")
                let attempts = await env.webhooks.attempts.map(\.outcome)
                #expect(kept.count == 1, "\(attempts)")
                #expect(kept.first?.payload.contains("Direct Costs") == true && kept.first?.orderKey == "project:101")
                // the secret rotated: the hook's headers follow, nothing else changes
                let rotated = try await ProcoreHooks.ensure(procore: procore, destination: destination, header: "Authorization", secret: "whsec-rotated", resources: ["Direct Costs"])
                #expect(rotated.headersUpdated && !rotated.created && rotated.triggersAdded == 0)
                group.cancelAll()
            }
        }
    }
}

/// A wait that ends only when its task is cancelled (no clock involved).
enum Forever {
    static func wait() async throws {
        let gate = Gate()
        await withTaskCancellationHandler {
            await gate.wait()
        } onCancel: {
            Task { await gate.open() }
        }
        try Task.checkCancellation()
    }

    actor Gate {
        var opened = false
        var waiter: CheckedContinuation<Void, Never>?
        func wait() async {
            if opened { return }
            await withCheckedContinuation { waiter = $0 }
        }
        func open() {
            opened = true
            waiter?.resume()
            waiter = nil
        }
    }
}

/// A flag tests flip from outside a loop.
final class Stop: Sendable {
    private let flag = Mutex(false)
    var value: Bool {
        get { flag.withLock { $0 } }
        set { flag.withLock { $0 = newValue } }
    }
}
