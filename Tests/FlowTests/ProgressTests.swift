import ClientKit
import ConnectorApp
import Flows
import Foundation
import SimulatorKit
import SyncEngine
import Synchronization
import Testing

/// A person can see what a long run is doing: progress per entity as pages complete, and every
/// long wait announced at the default log level with the system, the reason and until when.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ProgressTests {
    @Test func everyPageAndEveryEntityReportsItsProgress() async throws {
        try await withEnvironment(purchaseOrders: 12) { env, data in
            let flow = env.makeFlow(settings: settings(data))  // 5 rows a page
            let seen = Mutex<[FlowProgress]>([])
            await flow.onProgress { progress in seen.withLock { $0.append(progress) } }
            let summary = try await flow.runCycle()
            let reports = seen.withLock { $0 }
            let poPages = reports.filter { $0.entity == "purchaseOrders" && $0.phase == .polling }
            #expect(poPages.map(\.pages) == Array(1...((data.purchaseOrderCount + 4) / 5)))
            #expect(poPages.last?.counts == summary.purchaseOrders)
            #expect(reports.contains { $0.entity == "invoices" && $0.phase == .retryingHeld })
            #expect(reports.last { $0.entity == "invoices" }?.counts == summary.invoices)
            #expect(poPages.last?.line.hasPrefix("purchase orders: page \(poPages.count), read \(summary.purchaseOrders.read)") == true)
            #expect(summary.report.contains("purchase orders"))
        }
    }

    @Test func aLongWaitIsAnnouncedWithTheSystemTheReasonAndUntilWhen() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, _ in
            env.procoreCore.faults.add(FaultRule(path: "/rest/v1.0/companies", nth: 1, effect: FaultEffect(status: 429, headers: ["Retry-After": "3600"])))
            let logs = CapturedLogs()
            let transport = HTTPTransport(http: env.http, system: "procore", clock: env.clock, logger: logs.logger())
            let before = env.clock.now()
            let reply = try await transport.send("GET", try #require(env.urls["procore"]) + "/rest/v1.0/companies")
            #expect(reply.status != 429)
            let announced = try #require(logs.text.split(separator: "\n").first { $0.contains("Waiting for the system before retrying") })
            #expect(announced.hasPrefix("warning"))
            #expect(announced.contains("system=procore") && announced.contains("retry.reason=HTTP 429"))
            #expect(announced.contains("retry.until=\(before.addingTimeInterval(3600).formatted(.iso8601))"))
            // a short backoff stays at info level
            env.procoreCore.faults.add(FaultRule(path: "/rest/v1.0/companies", nth: 1, effect: FaultEffect(status: 429, headers: ["Retry-After": "1"])))
            let count = logs.text.components(separatedBy: "Waiting for the system").count
            _ = try await transport.send("GET", try #require(env.urls["procore"]) + "/rest/v1.0/companies")
            #expect(logs.text.components(separatedBy: "Waiting for the system").count == count)
        }
    }
}

/// Rate-limit figures from a server are data from outside: absurd ones make a capped wait, never a
/// crash (issue 11's first hole; the fix is in `Duration.interval`, which every wait goes through).
@Suite(.serialized, .timeLimit(.minutes(3))) struct AbsurdServerWaitTests {
    @Test(arguments: [
        ["Retry-After": "inf"], ["Retry-After": "1e10"], ["Retry-After": "Fri, 01 Jan 3000 00:00:00 GMT"],
        ["X-Rate-Limit-Reset": "1796000000000"], ["Retry-After": "-5"], ["Retry-After": "nan"],
    ])
    func anAbsurdRetryAfterIsACappedWait(_ headers: [String: String]) async throws {
        try await withEnvironment(purchaseOrders: 2) { env, _ in
            env.procoreCore.faults.add(FaultRule(path: "/rest/v1.0/companies", nth: 1, effect: FaultEffect(status: 429, headers: headers)))
            let transport = HTTPTransport(http: env.http, system: "procore", clock: env.clock, logger: quiet)
            let before = env.clock.now()
            let reply = try await transport.send("GET", try #require(env.urls["procore"]) + "/rest/v1.0/companies")
            #expect(reply.status != 429)
            let waited = env.clock.now().timeIntervalSince(before)
            #expect(waited >= 0 && waited <= 3600, "\(headers): waited \(waited) s")
        }
    }
}
