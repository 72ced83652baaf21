import AsyncHTTPClient
import ConnectorApp
import Flows
import Foundation
import Synchronization
import Logging
import SimulatorKit
import SyncEngine
import SyncStore
import Testing

/// A logger that stays silent in test output (only critical messages).
var quiet: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// Runs a test against both simulators on loopback (real HTTP), an in-memory store and the
/// simulated clock.
func withEnvironment<R: Sendable>(
    purchaseOrders: Int = 12, budget: Double = 50_000_000,
    _ body: @Sendable (SimulatedEnvironment, DemoData) async throws -> R
) async throws -> R {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))
    let data = DemoData.generate(purchaseOrders: purchaseOrders, today: clock.now(), budgetPerCostCode: budget)
    return try await SimulatedEnvironment.run(data: data, clock: clock, store: try SQLiteSyncStore.inMemory(), logger: quiet) { env in
        try await body(env, data)
    }
}

func settings(_ data: DemoData, policy: BudgetPolicy = .hold) -> SysproProcoreSettings {
    var settings = SysproProcoreSettings(costCodes: data.mappings)
    settings.budgetPolicy = policy
    settings.pageSize = 5  // several pages even with a small data set
    return settings
}

/// Commitments per origin id and requisitions per origin id must each be unique.
func expectNoDuplicates(_ env: SimulatedEnvironment, sourceLocation: SourceLocation = #_sourceLocation) async {
    let commitments = await env.procore.allCommitments().compactMap(\.originID)
    #expect(Set(commitments).count == commitments.count, "duplicate commitments", sourceLocation: sourceLocation)
    let requisitions = await env.procore.allRequisitions().compactMap(\.originID)
    #expect(Set(requisitions).count == requisitions.count, "duplicate requisitions", sourceLocation: sourceLocation)
}

/// POSTs to a simulator's `/_sim/` control API over HTTP, as a script would.
/// - Returns: the status.
@discardableResult
func simControl(_ base: String?, _ path: String, _ body: JSONValue, http: HTTPClient, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
    var request = HTTPClientRequest(url: try #require(base, sourceLocation: sourceLocation) + path)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.body = .bytes(try JSONEncoder().encode(body))
    let status = Int(try await http.execute(request, timeout: .seconds(5)).status.code)
    #expect((200...201).contains(status), "control \(path) answered \(status)", sourceLocation: sourceLocation)
    return status
}

/// A log handler that keeps every line, metadata included, at trace level: tests search it for
/// secrets.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
    var count: Int { lines.withLock { $0.count } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// A logger writing here.
    func logger(_ label: String = "capture") -> Logger {
        var logger = Logger(label: label) { _ in Handler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
            sink.append("\(event.level) \(event.message) \(all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))")
        }
    }
}

/// Simulators served as `simulate` serves them (on a simulated clock), the config
/// `simulate --write-config` writes for them, an HTTP client, and the one clock of the test:
/// clients under test run on `clock` too, so no answer depends on today's date.
struct RunningSimulators: Sendable {
    var endpoints: Simulate.Endpoints
    var configPath: String
    var http: HTTPClient
    var clock: ManualClock
}

func withSimulators(_ systems: [String] = Simulate.systems, _ body: @Sendable (RunningSimulators) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-sim-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))
    try await Simulate.withRunning(systems: systems, purchaseOrders: 2, clock: clock, logger: quiet) { endpoints in
        let path = try Simulate.writeConfig(for: endpoints, into: directory)
        try await HTTPClient.withHTTPClient { http in
            try await body(RunningSimulators(endpoints: endpoints, configPath: path, http: http, clock: clock))
        }
    }
}
