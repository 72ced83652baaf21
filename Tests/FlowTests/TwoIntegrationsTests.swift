import ClientKit
import ConnectorApp
import Flows
import Foundation
import SimulatorKit
import SyncEngine
import SyncStore
import SysproClient
import SysproSimulator
import Testing

/// Two integrations of flow 000 in one config and one database — two SYSPRO companies whose PO
/// numbers are the same, into one Procore company — stay apart: their own watermarks, their own
/// quarantine, their own origin ids, each invoice billed against its own company's commitment.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TwoIntegrationsTests {
    @Test func twoSysproCompaniesIntoOneProcoreCompanyNeverMeet() async throws {
        try await withEnvironment(purchaseOrders: 6) { env, data in
            // a second SYSPRO company with the very same data set (same PO numbers), company EDU2
            guard case .object(var seed) = data.syspro else { Issue.record("the SYSPRO seed is not an object"); return }
            seed["company"] = "EDU2"
            let (core, backend) = SysproSimulator.makeCore(clock: env.clock)
            try await backend.seed(.object(seed))
            try await SimulatorHost.withRunning([core]) { urls in
                let base = try #require(urls["syspro"])
                var edu2Connection = env.sysproConnection
                edu2Connection.enetBase = base + SysproSimulator.enetRoot
                edu2Connection.odataRoot = base + SysproSimulator.odataRoot + "/EDU2"
                edu2Connection.companyID = "EDU2"

                var edu1Settings = settings(data)
                edu1Settings.originPrefix = "SYSPRO-EDU1"
                var edu2Settings = settings(data)
                edu2Settings.originPrefix = "SYSPRO-EDU2"
                edu2Settings.numberPrefix = "EDU2-"  // Procore refuses a commitment number used twice in a project
                let edu1 = env.makeFlow(settings: edu1Settings, scope: "acme-edu1")
                let edu2 = SysproProcoreFlow(
                    settings: edu2Settings,
                    syspro: SysproClient(connection: edu2Connection, transport: HTTPTransport(http: env.http, system: "syspro", clock: env.clock, logger: quiet)),
                    procore: env.makeProcoreClient(), store: env.store, clock: env.clock, logger: quiet, scope: "acme-edu2")

                let first = try await edu1.runCycle()
                let second = try await edu2.runCycle()
                // the second company's POs are not taken for the first's: all are created again
                #expect(first.purchaseOrders.created == data.purchaseOrderCount - 1)
                #expect(second.purchaseOrders.created == data.purchaseOrderCount - 1, "\(second)")
                #expect(second.purchaseOrders.skipped == 0, "\(second)")
                let commitments = await env.procore.allCommitments()
                #expect(commitments.count == 2 * (data.purchaseOrderCount - 1))
                await expectNoDuplicates(env)

                // each invoice is billed against its own company's commitment
                let byID = Dictionary(uniqueKeysWithValues: commitments.map { ($0.id, $0.originID ?? "") })
                let requisitions = await env.procore.allRequisitions()
                #expect(requisitions.count == 2 * (data.invoiceCount - 1))
                for requisition in requisitions {
                    let company = requisition.originID?.hasPrefix("SYSPRO-EDU1-AP-") == true ? "EDU1" : "EDU2"
                    #expect(byID[requisition.commitmentID]?.hasPrefix("SYSPRO-\(company)-PO-") == true, "\(requisition)")
                }

                // their own watermarks and quarantine
                #expect(try await env.store.watermark(flow: "acme-edu1", entity: "PorMasterHdr") != nil)
                #expect(try await env.store.watermark(flow: "acme-edu2", entity: "PorMasterHdr") != nil)
                #expect(try await env.store.watermark(flow: SysproProcoreFlow.name, entity: "PorMasterHdr") == nil)
                let heldEDU2 = try #require(try await env.store.quarantine(flow: "acme-edu2", entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED"))
                #expect(try await env.store.quarantine(flow: "acme-edu1", entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED")?.status == .held)
                // a replay of one integration leaves the other's held records alone
                let replayed = try await edu1.replay(sourceIDs: [], overrideBudget: false)
                #expect(replayed.purchaseOrders.read == 1)
                #expect(try await env.store.quarantine(flow: "acme-edu2", entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED") == heldEDU2)
            }
        }
    }

    @Test func theConfigRefusesIntegrationsThatWouldMeet() throws {
        func load(_ integrations: [(name: String, prefix: String?)], numbered: Bool = true) throws -> ConnectorConfig {
            var yaml = "integrations:\n"
            for (index, (name, prefix)) in integrations.enumerated() {
                yaml += """
                      - name: \(name)
                        flow: syspro-procore
                        syspro: {enetBase: "http://s", odataRoot: "http://s/o/EDU1", operator: OP, operatorPassword: "env:X", companyId: EDU1, odataPassword: "env:X"}
                        procore: {loginBase: "http://p", apiBase: "http://p", clientId: c, clientSecret: "env:X", companyId: 8}

                    """
                if let prefix { yaml += "    settings: {originPrefix: \(prefix)\(numbered ? ", numberPrefix: N\(index)-" : "")}\n" }
            }
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-\(UUID().uuidString).yaml").path
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            return try ConnectorConfig.load(path: path)
        }
        #expect(try load([("a", "SYSPRO-EDU1"), ("b", "SYSPRO-EDU2")]).integrations.count == 2)
        #expect {
            try load([("a", nil), ("b", nil)])
        } throws: { error in
            "\(error)".contains("both write into Procore company 8 with originPrefix SYSPRO") && "\(error)".contains("settings.originPrefix")
        }
        #expect {
            try load([("a", "SYSPRO-EDU1"), ("b", "SYSPRO-EDU2")], numbered: false)
        } throws: { error in
            "\(error)".contains("numberPrefix") && "\(error)".contains("used twice in a project")
        }
        #expect {
            try load([("a", "SYSPRO-EDU1"), ("a", "SYSPRO-EDU2")])
        } throws: { error in
            "\(error)".contains("two integrations are named a")
        }
    }

    /// State from before integrations kept their own (under the flow's name) moves to the
    /// integration once, and never over state it already has.
    @Test func legacyStateMovesToItsIntegrationOnce() async throws {
        let store = try SQLiteSyncStore.inMemory()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        try await store.setWatermark(flow: "syspro-procore", entity: "PorMasterHdr", value: "2026-11-01", at: now)
        try await store.recordIntent(CrossReference(
            flow: "syspro-procore", entity: "PorMasterHdr", sourceID: "1", sourceVersion: "v", idempotencyKey: "SYSPRO-PO-1", state: .pending,
            updatedAt: now))
        #expect(try await store.hasState(scope: "syspro-procore"))
        #expect(try await store.adoptLegacyState(of: "syspro-procore", into: "acme") == 2)
        #expect(try await store.watermark(flow: "acme", entity: "PorMasterHdr") == "2026-11-01")
        #expect(try await store.crossReference(flow: "acme", entity: "PorMasterHdr", sourceID: "1")?.idempotencyKey == "SYSPRO-PO-1")
        #expect(try await store.hasState(scope: "syspro-procore") == false)
        // new legacy rows (an old binary ran again) never overwrite what the integration has
        try await store.setWatermark(flow: "syspro-procore", entity: "PorMasterHdr", value: "2026-12-01", at: now)
        #expect(try await store.adoptLegacyState(of: "syspro-procore", into: "acme") == 0)
        #expect(try await store.watermark(flow: "acme", entity: "PorMasterHdr") == "2026-11-01")
    }
}

/// The config names flows from the registry and refuses what it does not know, with file:line.
@Suite(.timeLimit(.minutes(2))) struct ConfigTests {
    func load(_ yaml: String) throws -> ConnectorConfig {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConnectorConfig.load(path: path)
    }

    static let syspro = #"{enetBase: "http://s", odataRoot: "http://s/o/EDU1", operator: OP, operatorPassword: "env:X", companyId: EDU1, odataPassword: "env:X"}"#
    static let procore = #"{loginBase: "http://p", apiBase: "http://p", clientId: c, clientSecret: "env:X", companyId: 8}"#

    func integration(flow: String = "syspro-procore", extra: String = "", settings: String = "") -> String {
        """
        integrations:
          - name: acme
            flow: \(flow)
            syspro: \(Self.syspro)
            procore: \(Self.procore)
        \(extra)\(settings)
        """
    }

    func refusal(_ yaml: String) -> String {
        do {
            _ = try load(yaml)
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    @Test func aValidIntegrationLoadsWithItsSections() throws {
        let config = try load(integration(settings: "    settings: {pageSize: 50, costCodes: [{glAccount: \"5100\", costCenter: \"200\", costCode: \"03-300\"}]}\n"))
        #expect(config.integrations.first?.systems == ["syspro", "procore"])
        #expect(config.integrations.first?.settings?.pageSize == 50)
    }

    @Test func unknownKeysAreRefusedWithFileAndLine() {
        let misspelt = refusal(integration(settings: "    settings: {pagesize: 50}\n"))
        #expect(misspelt.contains(".yaml:6: unknown key 'pagesize' in an integration.settings"), "\(misspelt)")
        let inSection = refusal(integration().replacingOccurrences(of: "companyId: 8}", with: "companyId: 8, companyID: 9}"))
        #expect(inSection.contains(":5: unknown key 'companyID' in an integration.procore"), "\(inSection)")
        let top = refusal("databse: x.sqlite\n" + integration())
        #expect(top.contains(":1: unknown key 'databse' in the config"), "\(top)")
        let row = refusal(integration(settings: "    settings:\n      costCodes:\n        - {glAccount: \"5100\", costCentre: \"200\", costCode: \"03-300\"}\n"))
        #expect(row.contains(":8: unknown key 'costCentre' in a costCodes row"), "\(row)")
    }

    @Test func aFlowMustBeRegisteredAndGetTheSectionsItTouches() {
        let unknown = refusal(integration(flow: "syspro-xero"))
        #expect(unknown.contains("unknown flow 'syspro-xero'; this build knows: syspro-procore"), "\(unknown)")
        let missing = refusal(integration().replacingOccurrences(of: "    procore: \(Self.procore)\n", with: ""))
        #expect(missing.contains("needs a procore section"), "\(missing)")
        let extra = refusal(integration(extra: "    cin7: {baseURL: \"http://c\", accountId: a, applicationKey: \"env:K\"}\n"))
        #expect(extra.contains("has a cin7 section, but flow syspro-procore touches only syspro and procore"), "\(extra)")
    }
}
