import AsyncHTTPClient
import ClientKit
import Flows
import Foundation
import Logging
import ProcoreClient
import SyncEngine
import SimulatorKit
import SyncStore
import SysproClient

/// `ml-connector bench syspro-procore --pos N`: end-to-end throughput of flow 000 against the
/// simulators, beside the simulators' raw request rate through the same HTTP client, and the
/// engine's peak memory.
///
/// The simulators run in a child process (`ml-connector simulate --json --unlimited`), so the
/// engine's peak resident memory is measured apart from the simulated systems' data, which of
/// course grows with `--pos`.
public enum Bench {
    public struct Figures: Sendable, Codable {
        public var purchaseOrders: Int
        public var invoices: Int
        public var records: Int
        public var seconds: Double
        public var recordsPerSecond: Double
        public var engineRequests: Int
        /// Requests to each system, and per record written (created or updated) in the destination.
        public var sysproRequests: Int
        public var procoreRequests: Int
        public var sysproRequestsPerRecordWritten: Double
        public var procoreRequestsPerRecordWritten: Double
        public var engineRequestsPerSecond: Double
        public var rawRequests: Int
        public var rawRequestsPerSecond: Double
        public var ratio: Double
        public var enginePeakRSSMiB: Double
        public var simulatorPeakRSSMiB: Double
        public var created: Int
        public var held: Int
    }

    public static func run(purchaseOrders: Int, rawRequests: Int, databasePath: String, logger: Logger, output: @Sendable (String) -> Void) async throws -> Figures {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["simulate", "--systems", "syspro,procore", "--pos", String(purchaseOrders), "--json", "--unlimited"]
        let pipe = Pipe()
        child.standardOutput = pipe
        child.standardError = FileHandle.standardError
        try child.run()
        defer { if child.isRunning { child.terminate() } }
        output("Simulators starting in child process \(child.processIdentifier) with \(purchaseOrders) POs…")
        guard let line = readLine(pipe.fileHandleForReading),
            let announced = try? JSONDecoder().decode(Simulate.Endpoints.self, from: Data(line.utf8)),
            let sysproURL = announced.syspro, let procoreURL = announced.procore
        else { throw SyncError(.unexpectedResponse, "the simulator child process did not announce its endpoints") }
        let endpoints = (syspro: sysproURL, procore: procoreURL)

        let store = try SQLiteSyncStore.openFresh(path: databasePath)
        let clock = SystemClock()
        var settings = SysproProcoreSettings(costCodes: DemoData.generate(purchaseOrders: 0, today: clock.now()).mappings)
        settings.pageSize = 500
        settings.budgetPolicy = .postAndWarn
        let sysproConnection = SysproConnection(
            enetBase: endpoints.syspro + "/SYSPROWCFService/Rest", odataRoot: endpoints.syspro + "/SYSPRO8Odata/SYSPROOData/EDU1",
            operatorCode: DemoData.operatorCode, operatorPassword: DemoData.operatorPassword, companyID: DemoData.sysproCompany,
            odataPassword: DemoData.odataPassword)
        let procoreConnection = ProcoreConnection(
            loginBase: endpoints.procore, apiBase: endpoints.procore, clientID: DemoData.clientID, clientSecret: DemoData.clientSecret,
            companyID: DemoData.companyID)

        return try await HTTPClient.withHTTPClient { http in
            // 1. The simulators' raw rate: a bare loop of the same clients, one request at a time.
            let rawStats = TransportStats()
            let rawSyspro = SysproClient(connection: sysproConnection, transport: HTTPTransport(http: http, system: "syspro", clock: clock, logger: logger, stats: rawStats))
            let rawProcore = ProcoreClient(connection: procoreConnection, transport: HTTPTransport(http: http, system: "procore", clock: clock, logger: logger, stats: rawStats))
            try await rawProcore.refreshToken()
            let rawStart = ContinuousClock.now
            for index in 0..<rawRequests {
                if index % 2 == 0 {
                    _ = try await rawSyspro.odata("PorMasterDetail", filter: "PurchaseOrder eq '\(String(format: "%015d", 150_800 + index % max(1, purchaseOrders)))'")
                } else {
                    _ = try await rawProcore.call("GET", "/rest/v1.0/cost_codes", query: [("project_id", "101")])
                }
            }
            let rawSeconds = (ContinuousClock.now - rawStart).timeInterval
            let rawRate = Double(rawRequests) / rawSeconds
            output(String(format: "Raw simulator rate: %d requests in %.2f s = %.0f requests/s", rawRequests, rawSeconds, rawRate))

            // 2. The flow, end to end.
            let sysproStats = TransportStats()
            let procoreStats = TransportStats()
            let flow = SysproProcoreFlow(
                settings: settings,
                syspro: SysproClient(connection: sysproConnection, transport: HTTPTransport(http: http, system: "syspro", clock: clock, logger: logger, stats: sysproStats)),
                procore: ProcoreClient(connection: procoreConnection, transport: HTTPTransport(http: http, system: "procore", clock: clock, logger: logger, stats: procoreStats)),
                store: store, clock: clock, logger: logger)
            let start = ContinuousClock.now
            let summary = try await flow.runCycle()
            let seconds = (ContinuousClock.now - start).timeInterval
            let records = summary.purchaseOrders.read + summary.invoices.read
            let requests = sysproStats.requests + procoreStats.requests
            let written = max(1, summary.purchaseOrders.created + summary.purchaseOrders.updated + summary.invoices.created + summary.invoices.updated)
            let engineRate = Double(requests) / seconds
            let simulatorPeak = peakRSS(pid: child.processIdentifier)
            child.terminate()
            let figures = Figures(
                purchaseOrders: summary.purchaseOrders.read, invoices: summary.invoices.read, records: records, seconds: seconds,
                recordsPerSecond: Double(records) / seconds, engineRequests: requests, sysproRequests: sysproStats.requests,
                procoreRequests: procoreStats.requests, sysproRequestsPerRecordWritten: Double(sysproStats.requests) / Double(written),
                procoreRequestsPerRecordWritten: Double(procoreStats.requests) / Double(written), engineRequestsPerSecond: engineRate,
                rawRequests: rawRequests, rawRequestsPerSecond: rawRate, ratio: engineRate / rawRate,
                enginePeakRSSMiB: peakRSS(pid: nil), simulatorPeakRSSMiB: simulatorPeak,
                created: summary.purchaseOrders.created + summary.invoices.created, held: summary.purchaseOrders.held + summary.invoices.held)
            output(String(format: "Flow: %d POs + %d invoices in %.2f s = %.0f records/s (%d created, %d held)",
                          figures.purchaseOrders, figures.invoices, seconds, figures.recordsPerSecond, figures.created, figures.held))
            output(String(format: "Engine HTTP: %d requests = %.0f requests/s, %.2f of the raw simulator rate",
                          requests, engineRate, figures.ratio))
            output(String(format: "Procore requests per record written: %.2f (%d requests, %d records written)",
                          figures.procoreRequestsPerRecordWritten, procoreStats.requests, written))
            output(String(format: "SYSPRO requests per record written: %.2f (%d requests)", figures.sysproRequestsPerRecordWritten, sysproStats.requests))
            output(String(format: "Peak resident memory: engine %.1f MiB, simulators (child process) %.1f MiB",
                          figures.enginePeakRSSMiB, simulatorPeak))
            if !summary.errors.isEmpty { output("errors: \(summary.errors)") }
            return figures
        }
    }

    /// `VmHWM` (peak resident set) of a process in MiB, from `/proc`; 0 where unavailable.
    /// The simulators' raw rate through the flow's own clients: `call` one request at a time.
    static func rawRate(requests: Int, output: (String) -> Void, _ call: (Int) async throws -> Void) async throws -> Double {
        let started = ContinuousClock.now
        for index in 0..<requests { try await call(index) }
        let seconds = (ContinuousClock.now - started).timeInterval
        output(String(format: "Raw simulator rate: %d requests in %.2f s = %.0f requests/s", requests, seconds, Double(requests) / seconds))
        return Double(requests) / seconds
    }

    /// One cycle of a two-system flow measured: records/s read and written, the requests each
    /// record cost on each side (from the simulators' journals), the engine's request rate beside
    /// the raw one, and peak memory (engine and simulators share this process).
    static func measure(
        _ flow: any SyncRunner, labels: [String], source: (name: String, core: SimulatorCore), destination: (name: String, core: SimulatorCore),
        rawRate: Double, output: (String) -> Void
    ) async throws {
        let (sourceBefore, destinationBefore) = (source.core.journal.all.count, destination.core.journal.all.count)
        let started = ContinuousClock.now
        let summary = try await flow.runCycle()
        let seconds = max((ContinuousClock.now - started).timeInterval, 0.001)
        let read = labels.reduce(0) { $0 + summary[$1].read }
        let written = labels.reduce(0) { $0 + summary[$1].created + summary[$1].updated }
        let sourceRequests = source.core.journal.all.count - sourceBefore
        let destinationRequests = destination.core.journal.all.count - destinationBefore
        let engineRate = Double(sourceRequests + destinationRequests) / seconds
        output(summary.report)
        output(String(format: "Flow: %d records read, %d written in %.2f s = %.0f records read/s, %.0f written/s",
                      read, written, seconds, Double(read) / seconds, Double(written) / seconds))
        output(String(format: "%@ requests per record read: %.2f (%d requests)", source.name, Double(sourceRequests) / Double(max(read, 1)), sourceRequests))
        output(String(format: "%@ requests per record written: %.2f (%d requests)", destination.name, Double(destinationRequests) / Double(max(written, 1)), destinationRequests))
        output(String(format: "Engine HTTP: %d requests = %.0f requests/s, %.2f of the raw simulator rate (writes overlap)",
                      sourceRequests + destinationRequests, engineRate, engineRate / rawRate))
        output(String(format: "Peak resident memory (engine and both simulators, one process): %.1f MiB", peakRSS(pid: nil)))
        if !summary.errors.isEmpty { throw SyncError(.unexpectedResponse, "the measured cycle reported errors: \(summary.errors.joined(separator: " | "))") }
    }

    static func peakRSS(pid: Int32?) -> Double {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kib / 1024
    }

    static func readLine(_ handle: FileHandle) -> String? {
        var bytes = Data()
        while true {
            let chunk = handle.readData(ofLength: 1)
            if chunk.isEmpty { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if chunk.first == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(chunk)
        }
    }
}
