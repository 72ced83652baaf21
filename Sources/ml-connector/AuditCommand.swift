import ArgumentParser
import Foundation
import SyncEngine
import SyncStore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the audit trail.")
    @Option(help: "SQLite state file.") var database = "demo-output/demo.sqlite"
    @Option(help: "Only this run id.") var run: String?
    @Option(help: "Only this outcome: created, updated, skipped-duplicate, held, failed.") var outcome: String?
    @Option(help: "Only this source id (a PO number, or SUPPLIER/INVOICE).") var sourceID: String?
    @Option(help: "At most this many rows.") var limit = 200
    @Flag(help: "Print JSON instead of a table.") var json = false

    func validate() throws {
        if let outcome, Outcome(rawValue: outcome) == nil {
            throw ValidationError("unknown outcome '\(outcome)'; use one of \(Outcome.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if !FileManager.default.fileExists(atPath: database) {
            throw ValidationError("no state file at \(database); run the demo or a sync first, or pass --database")
        }
    }

    func run() async throws {
        let store = try SQLiteSyncStore.open(path: database)
        let rows = try await store.audit(AuditFilter(runID: run, outcome: outcome.flatMap(Outcome.init), sourceID: sourceID, limit: limit))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        print("id     outcome            entity         source id              destination        error / warning")
        for row in rows {
            let note = row.errorText ?? row.warning ?? row.destinationResponse ?? ""
            print([String(row.id ?? 0).padding(toLength: 6, withPad: " ", startingAt: 0),
                   row.outcome.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0),
                   row.sourceEntity.padding(toLength: 14, withPad: " ", startingAt: 0),
                   row.sourceID.padding(toLength: 22, withPad: " ", startingAt: 0),
                   (row.destinationID ?? "-").padding(toLength: 18, withPad: " ", startingAt: 0),
                   String(note.prefix(160))].joined(separator: " "))
        }
        print("\(rows.count) row(s)")
    }
}
