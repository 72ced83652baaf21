import ConnectorApp
import Flows
import Foundation
import Logging
import ProcoreSimulator
import SAPB1Simulator
import SimulatorKit
import SyncEngine
import SyncStore
import Testing

/// Flow 002 beyond its scenarios: a config runs it (settings as the flow's own type, unknown keys
/// refused), a commitment posts as a journal entry when configured so, and a dead session met by
/// two calls at once costs one login, not two.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ProcoreSAPB1FlowTests {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))

    @Test func aConfigRunsFlow002() async throws {
        let data = DemoData.procoreSAPB1(commitments: 3, today: clock.now())
        try await ProcoreSAPB1Environment.run(data: data, clock: clock, store: try SQLiteSyncStore.inMemory(), settings: ProcoreSAPB1Settings(), logger: quiet) { _, _, sap, simulators in
            let urls = simulators.urls
            let codes = DemoData.procoreSAPB1Settings.costCodes.map {
                "        - {costCode: \"\($0.costCode)\", account: \"\($0.account)\", profitCenter: \($0.profitCenter)}"
            }.joined(separator: "\n")
            let config = """
                integrations:
                  - name: procore-to-sap
                    flow: procore-sapb1
                    procore: {loginBase: "\(urls["procore"]!)", apiBase: "\(urls["procore"]!)", clientId: \(DemoData.clientID), clientSecret: "vault:procore", companyId: 8}
                    sapb1: {serviceRoot: "\(urls["sapb1"]!)/b1s/v1", companyDB: \(DemoData.sapCompanyDB), userName: \(DemoData.sapUser), password: "vault:sap"}
                    settings:
                      commitmentsAs: journalEntry
                      projects:
                        - {procoreProject: 101, sapProject: PRJ-2301}
                        - {procoreProject: 102}
                        - {procoreProject: 103, sapProject: PRJ-2303}
                      costCodes:
                \(codes)
                """
            let parsed = try ConnectorConfig.parse(config, path: "flow002.yaml")
            let integration = try #require(parsed.integrations.first)
            #expect(integration.procoreSAPB1Settings?.commitmentsAs == "journalEntry")
            let secrets = ["procore": DemoData.clientSecret, "sap": DemoData.sapPassword]
            let runner = try integration.makeRunner(http: .shared, store: try SQLiteSyncStore.inMemory(), clock: clock, logger: quiet) { name in
                guard let secret = secrets[name] else { throw SyncError(.invalidConfig, "no secret \(name)") }
                return secret
            }
            let summary = try await runner.runCycle(runID: "config-run")
            #expect(summary["commitments"].created == 3, "\(summary.report)")
            // commitments as journal entries: no purchase invoice at all
            #expect(await sap.count("PurchaseInvoices", company: DemoData.sapCompanyDB) == 0)
            let journals = await sap.rows("JournalEntries", company: DemoData.sapCompanyDB)
            let commitment = try #require(journals.first { $0["U_PROCORE_ID"]?.stringValue?.hasPrefix("cmt:") == true && $0["U_PROCORE_ID"]?.stringValue?.contains(":co:") == false })
            let lines = commitment["JournalEntryLines"]?.arrayValue ?? []
            #expect(lines.last?["AccountCode"] == "2100")  // accounts payable credited
            #expect(lines.dropLast().allSatisfy { $0["CostingCode"]?.stringValue?.hasPrefix("PC") == true })
            // a misspelt settings key, a costCodes row of flow 000's shape, an unknown commitmentsAs: refused
            #expect(throws: SyncError.self) { try ConnectorConfig.parse(config.replacingOccurrences(of: "commitmentsAs:", with: "commitmentAs:"), path: "t.yaml") }
            #expect(throws: SyncError.self) { try ConnectorConfig.parse(config.replacingOccurrences(of: "profitCenter:", with: "costCenter:"), path: "t.yaml") }
            #expect(throws: (any Error).self) { try ConnectorConfig.parse(config.replacingOccurrences(of: "journalEntry", with: "invoice"), path: "t.yaml") }
        }
    }

    /// The documented example config of flow 002 loads with every key it shows.
    @Test func theExampleConfigLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/config/procore-sapb1.yaml").path
        let config = try ConnectorConfig.load(path: path)
        let settings = try #require(config.integrations.first?.procoreSAPB1Settings)
        #expect(settings.projects.count == 2 && settings.costCodes.count == 5)
        #expect(settings.costCodes.first { $0.project == 102 }?.account == "5310")
        #expect(settings.vendors["4294967401"] == "V00042")
        #expect(config.integrations.first?.intervalMinutes == 1440)
        #expect(config.serve?.port == 8080 && config.integrations.first?.webhook?.resources?.count == 3)
    }

    /// Two writes in flight when SAP drops the session: both see 401/301, one logs in, the other
    /// uses that session (each login holds a licence seat until it times out).
    @Test func aDeadSessionMetByTwoCallsCostsOneLogin() async throws {
        // twelve commitments: two direct costs in each project's page, written two at a time
        let data = DemoData.procoreSAPB1(commitments: 12, today: clock.now())
        try await ProcoreSAPB1Environment.run(data: data, clock: clock, store: try SQLiteSyncStore.inMemory(), settings: DemoData.procoreSAPB1Settings, logger: quiet) { flow, _, sap, simulators in
            // every session dies at the first look-up of a journal entry (the second GET: the first is the
            // cycle's UDF probe); two documents are in flight then
            // (its answer comes late, so the second call meets the dead session while the first waits)
            simulators.sapb1.faults.add(FaultRule(method: "GET", path: "/b1s/v1/JournalEntries", nth: 2, effect: FaultEffect(action: .killSessions, delayAfterMilliseconds: 800)))
            let summary = try await flow.runCycle()
            #expect(summary.errors.isEmpty, "\(summary.errors)")
            #expect(simulators.sapb1.journal.all.filter { $0.status == 401 }.count == 2)  // both calls met the dead session
            #expect(await sap.logins == 2)  // the cycle's own and one after the session died
            #expect(await sap.count("JournalEntries", company: DemoData.sapCompanyDB) == 12)
        }
    }
}
