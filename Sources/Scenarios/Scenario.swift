import ConnectorApp
import Flows
import Foundation
import SimulatorKit
import SyncEngine
import Yams

/// One scenario file: a set-up and the steps that drive and check a flow. The language is
/// documented, with an example of every step and assertion, in `scenarios/README.md`.
public struct Scenario: Sendable {
    public struct Setup: Sendable {
        public var flow = SysproProcoreFlow.name
        /// The systems steps may address: the flow's own, from the registry.
        public var systems: [String] { (try? FlowRegistry.named(flow))?.systems.map(\.rawValue) ?? [] }
        /// A data set file (path resolved against the scenario's folder) instead of the generated demo set.
        public var datasetFile: String?
        public var purchaseOrders = 12
        public var budget = 50_000_000.0
        public var clock = Date(timeIntervalSince1970: 1_796_000_000)
        /// Overrides of the flow settings (any key of ``SysproProcoreSettings``).
        public var settings: JSONValue = [:]
        /// Its entities' summary labels, from the registry.
        public var labels: [String] { (try? FlowRegistry.named(flow))?.entityLabels ?? [] }
        /// Overrides of the Procore simulator settings (`hourlyLimit`, `spikeLimit`, `strictCompanyHeader`, …).
        public var procore: JSONValue = [:]
        /// Overrides of the SYSPRO simulator settings (`idleTimeoutSeconds`, `maxPageSize`, …).
        public var syspro: JSONValue = [:]
        /// Overrides of the Procurify simulator settings (`tokenLifetimeSeconds`, `callsPerMinute`, …).
        public var procurify: JSONValue = [:]
        /// Overrides of the SAP B1 simulator settings (`sessionTimeoutMinutes`, `pageSize`, `userFields`, …).
        public var sapb1: JSONValue = [:]
        /// Flow 002: SAP's `TotalsAccuracy` (amount decimals) in the demo company.
        public var totalsAccuracy: Int?
        /// Overrides of the CloudSuite simulator settings (`callsPerMinute`, `tokenLifetimeSeconds`, …).
        public var cloudsuite: JSONValue = [:]
        /// Flow 004: overrides of the Cin7 simulator settings (`callsPerMinute`, `throttleStatus`,
        /// `retryAfter`) and `clientCallsPerMinute`, the pace of our client (57; 0 = unpaced).
        public var cin7: JSONValue = [:]
        /// The engine's per-request deadline.
        public var clientTimeout: Duration = .seconds(30)
        /// More integrations of the flow beside the main one, in the same store and the same
        /// destination: each a SYSPRO company of its own with the same data set (same PO numbers).
        /// Steps after `use: NAME` act on that integration (`use: main` goes back).
        public var integrations: [Integration] = []
        /// Flow 003: run the integration under `serve` — the listener on loopback with the
        /// Procore hook registered to it, the poller woken by its events (`serve:` steps drive it).
        public var serve = false
    }

    /// A further integration of flow 000: its name (its state's key), its SYSPRO company, and
    /// the prefixes that keep its records apart in Procore.
    public struct Integration: Sendable {
        public var name: String
        public var company: String
        public var originPrefix: String
        public var numberPrefix: String
    }

    /// The name of the scenario's first integration in `use:` steps.
    public static let mainIntegration = "main"

    public enum Action: Sendable {
        /// One cycle; `errorContains` is text the cycle's error must carry (implies `expectErrors`).
        case sync(expectErrors: Bool, errorContains: String? = nil)
        case replay(ids: [String], overrideBudget: Bool)
        case advance(Duration)
        case fault(system: String, rule: FaultRule)
        case clearFaults(system: String?)
        case crash(point: CrashPoint, skip: Int)
        case createCostCode(project: String, code: String, name: String, budget: Double?)
        case insertRows(table: String, rows: [[String: JSONValue]])
        case updateRows(table: String, column: String, value: JSONValue, set: [String: JSONValue])
        case deleteRows(table: String, column: String, value: JSONValue)
        case addLatePurchaseOrder
        case procoreSettings(JSONValue)
        case procoreCommitment(origin: String, status: String)
        /// An invoicing administrator closing a project's open billing period and opening the next.
        case procoreBillingPeriod(project: String)
        case registerHook(resources: [String], events: [String], project: String?, apiVersion: String)
        case receiver(failNext: Int, status: Int)
        case webhooks(String, Int)
        case expect([Assertion])
        case use(integration: String)
        /// Flow 001: a requisition approved and purchased in Procurify (its PO appears).
        case procurifyPurchase(vendor: Int?, currency: String, lines: [JSONValue], fields: [String: JSONValue])
        /// Flow 001: a purchased PO revised (items by `id` change, items without one are added).
        case procurifyRevise(po: Int, lines: [JSONValue], fields: [String: JSONValue])
        /// Flow 001: a purchased PO cancelled in Procurify (state 1).
        case procurifyCancel(po: Int)
        /// Flow 001: a vendor created (no id) or edited in Procurify.
        case procurifyVendor(id: Int?, name: String, externalID: String?)
        /// Flow 001: a bill entered for a PO, with one item per PO line, in an approval state.
        case procurifyBill(po: Int, invoice: String, status: Int, fields: [String: JSONValue])
        /// Flow 001: a bill's approval state changing.
        case procurifyBillStatus(invoice: String, status: Int)
        /// Flow 002: a change order package on a commitment (by its number), or a status change of one.
        case procoreChangeOrder(commitment: String, number: String?, status: String, lines: [JSONValue])
        case procoreChangeOrderStatus(changeOrder: String, status: String)
        /// Flow 002: a direct cost entered in a project (by its number).
        case procoreDirectCost(project: String, seed: JSONValue)
        /// Flow 002: finance locks or unlocks a SAP posting period; master data changed in SAP.
        case sapb1PostingPeriod(code: String, status: String)
        case sapb1Master(set: String, key: String, fields: [String: JSONValue])
        /// Flow 003: a vendor added to the Procore company directory.
        case procoreVendor(name: String)
        /// Flow 003: `count` contracts approved in a demo project (numbered `number`, then
        /// `number-2`…); Procore announces each (created, approved) to its hooks.
        case procoreContract(number: String, project: String, vendor: String, lines: [JSONValue], count: Int)
        /// Flow 003: M3 pays a supplier invoice (a ledger row, TRCD 50), by default in full.
        case m3Payment(invoice: String, amount: String?)
        /// Flow 003: accounting identities added to M3's chart (dimension 1 accounts, 2 cost centres…).
        case m3Chart(dimension: Int, values: [String])
        /// Flow 003 under serve: `cycle` woken|scheduled, `receiver` down|up.
        case serve(String, String)
        /// Flow 003 under serve: a hand-made delivery to the listener, and the status it must get.
        case servePost(header: String?, body: JSONValue, status: Int)
        /// Flow 004: a supplier edited in Cin7 (by name; `Email`/`Phone` change its default
        /// contact), or created when `create` is set.
        case cin7Supplier(name: String, fields: [String: JSONValue], create: Bool)
        /// Flow 004: an account added to Cin7's chart, or its status changed.
        case cin7Account(code: String, name: String?, status: String)
        /// Flow 004: Cin7 simulator settings changed mid-run.
        case cin7Settings(JSONValue)
    }

    public enum Assertion: Sendable {
        case commitments(count: Int)
        case requisitions(count: Int)
        case commitment(origin: String, exists: Bool, total: String?, lines: Int?)
        case requisition(origin: String, exists: Bool, total: String?, commitmentOrigin: String?)
        case quarantine(source: String, status: String?, code: String?, reasonContains: String?)
        case quarantineCount(count: Int, status: String?, code: String?)
        case audit(source: String?, outcome: String?, count: Int?, outcomes: [String]?, warningContains: String? = nil)
        case watermark(entity: String, equals: String?)
        case summary(path: String, equals: Int)
        case journal(system: String, method: String?, path: String?, status: Int?, count: Int?, atLeast: Int?, atMost: Int?)
        case slept(atLeastSeconds: Double)
        case noExpiredTokenReused
        case noRepeatedPost
        case noDuplicates
        case converged
        case received(resource: String?, event: String?, count: Int?, distinct: Int?, atLeast: Int?)
        case deliveries(outcome: String?, count: Int?, atLeast: Int?)
        /// Flow 001: SYSPRO POs carrying a Procurify PO number (`CustomerPoNumber` `PRC-PO-…`).
        case sysproOrders(count: Int)
        case sysproOrder(procurifyPO: String, exists: Bool, lines: Int?, total: String?, cancelled: Bool?)
        /// Flow 001: SYSPRO AP invoices from Procurify bills (`Reference` `PRC-BILL-…`).
        case sysproInvoices(count: Int)
        case sysproInvoice(invoice: String, exists: Bool, total: String?, procurifyPO: String?)
        case sysproSupplier(code: String, exists: Bool, name: String?)
        /// Flow 001: the SYSPRO supplier code written back into a Procurify vendor's `external_id`.
        case procurifyVendor(name: String, externalID: String?)
        /// Flow 002: SAP documents from Procore (`U_PROCORE_ID` set), of one set or both.
        case sapDocuments(set: String?, count: Int)
        /// Flow 002: the SAP document of one Procore record (`commitment:PC-1000`, …).
        case sapDocument(source: String, exists: Bool, set: String?, total: String?)
        /// Flow 003: M3 purchase orders carrying a Procore contract id (`YRE1`), invoice batches,
        /// and one supplier by name.
        case m3Orders(count: Int)
        case m3Invoices(count: Int)
        case m3Supplier(name: String, number: String?)
        /// Flow 003: Procore contract payments that came from M3 (`origin_id` `M3-PAY-…`).
        case contractPayments(count: Int)
        /// Flow 003 under serve: what the listener answered (its metrics) and the events not yet
        /// covered by a cycle.
        case webhookEvents(accepted: Int?, duplicate: Int?, refused: Int?, pending: Int?)
        /// Flow 004: Cin7 purchases carrying a SYSPRO PO reference.
        case cin7Purchases(count: Int)
        /// Flow 004: the Cin7 purchase of one SYSPRO PO (or none), its `Status`, `Approach`, invoice number.
        case cin7Purchase(po: String, exists: Bool, status: String?, approach: String?, invoice: String?)
        /// Flow 004: the Cin7 supplier carrying a SYSPRO code (or of a name), with these field values.
        case cin7Supplier(code: String?, name: String?, fields: [String: String])
    }

    public struct Step: Sendable {
        public var line: Int
        public var name: String
        public var action: Action
    }

    public var file: String
    public var name: String
    public var description: String
    public var setup: Setup
    public var steps: [Step]

    static let tables = ["PorMasterHdr", "PorMasterDetail", "ApInvoice", "ApSupplier", "GenMaster", "TblCurrency"]

    /// Reads and checks a scenario file.
    /// - Throws: ``ScenarioLoadError`` with file:line for unknown keys, wrong types and references
    ///   to things that do not exist.
    public static func load(path: String) throws -> Scenario {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ScenarioLoadError(file: path, line: 0, message: "cannot read the file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> Scenario {
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw ScenarioLoadError(file: file, line: 1, message: "the file is empty")
            }
            node = composed
            try YAMLLimits.check(node)
        } catch let error as YAMLLimits.Exceeded {
            throw ScenarioLoadError(file: file, line: 1, message: "\(error)")
        } catch let error as ScenarioLoadError {
            throw error
        } catch let error as YamlError {
            throw ScenarioLoadError(file: file, line: Self.line(of: error), message: "not valid YAML: \(error)")
        }
        let root = try YAMLReader(file: file, node: node, context: "scenario").mapping(allowed: ["name", "description", "setup", "steps"])
        guard let name = try root["name"]?.string() else { throw YAMLReader(file: file, node: node, context: "scenario").fail("scenario needs a name") }
        var scenario = Scenario(
            file: file, name: name, description: try root["description"]?.string() ?? "", setup: Setup(), steps: [])
        if let setup = root["setup"] { scenario.setup = try parseSetup(setup) }
        guard let steps = root["steps"] else { throw YAMLReader(file: file, node: node, context: "scenario").fail("scenario needs steps") }
        for step in try steps.sequence() { scenario.steps.append(try parseStep(step, setup: scenario.setup)) }
        guard !scenario.steps.isEmpty else { throw steps.fail("steps is empty") }
        return scenario
    }

    static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 1
        }
    }

    static func parseSetup(_ reader: YAMLReader) throws -> Setup {
        let keys = try reader.mapping(allowed: [
            "flow", "dataset", "purchaseOrders", "commitments", "budget", "clock", "settings", "procore", "syspro", "procurify", "sapb1",
            "totalsAccuracy", "cloudsuite", "clientTimeout", "integrations", "serve", "cin7",
        ])
        var setup = Setup()
        if let flow = keys["flow"] { setup.flow = try flow.oneOf(FlowRegistry.names) }
        let only: [String: [String]] = [
            "dataset": [SysproProcore.name], "budget": [SysproProcore.name], "integrations": [SysproProcore.name],
            "procore": [SysproProcore.name, ProcoreSAPB1.name, ProcoreCloudSuite.name], "procurify": [ProcurifySyspro.name], "sapb1": [ProcoreSAPB1.name],
            "commitments": [ProcoreSAPB1.name, ProcoreCloudSuite.name], "totalsAccuracy": [ProcoreSAPB1.name],
            "syspro": [SysproProcore.name, ProcurifySyspro.name, SysproCin7.name], "cloudsuite": [ProcoreCloudSuite.name],
            "purchaseOrders": [SysproProcore.name, ProcurifySyspro.name, SysproCin7.name], "serve": [ProcoreCloudSuite.name],
            "cin7": [SysproCin7.name],
        ]
        for (key, flows) in only where !flows.contains(setup.flow) {
            if let reader = keys[key] { throw reader.fail("setup.\(key) applies to flow \(flows.joined(separator: " and ")), not \(setup.flow)") }
        }
        if let count = keys["commitments"] {
            setup.purchaseOrders = try count.int()
            guard setup.purchaseOrders >= 0 else { throw count.fail("commitments must be 0 or more") }
        }
        if let accuracy = keys["totalsAccuracy"] {
            setup.totalsAccuracy = try accuracy.int()
            guard (0...6).contains(setup.totalsAccuracy!) else { throw accuracy.fail("totalsAccuracy is 0…6 decimals") }
        }
        if let dataset = keys["dataset"] {
            let value = try dataset.string()
            if value != "demo" {
                let folder = (reader.file as NSString).deletingLastPathComponent
                let path = value.hasPrefix("/") ? value : (folder as NSString).appendingPathComponent(value)
                do {
                    _ = try DemoData.load(file: path)
                } catch {
                    throw dataset.fail("setup.dataset is 'demo' or a data set file; \(error)")
                }
                setup.datasetFile = path
            }
        }
        if let count = keys["purchaseOrders"] {
            setup.purchaseOrders = try count.int()
            guard setup.purchaseOrders >= 0 else { throw count.fail("purchaseOrders must be 0 or more") }
        }
        if let budget = keys["budget"] { setup.budget = try budget.double() }
        for item in try keys["integrations"]?.sequence() ?? [] {
            let o = try item.mapping(allowed: ["name", "company", "originPrefix", "numberPrefix"])
            guard let name = o["name"], let company = o["company"], let origin = o["originPrefix"], let number = o["numberPrefix"] else {
                throw item.fail("an integration needs name, company, originPrefix and numberPrefix (two integrations into one Procore company must differ in both)")
            }
            let integration = Integration(name: try name.string(), company: try company.string(), originPrefix: try origin.string(), numberPrefix: try number.string())
            guard integration.name != mainIntegration, !setup.integrations.contains(where: { $0.name == integration.name }) else {
                throw name.fail("integration name '\(integration.name)' is taken ('\(mainIntegration)' is the scenario's first integration)")
            }
            setup.integrations.append(integration)
        }
        if let timeout = keys["clientTimeout"] { setup.clientTimeout = try timeout.duration() }
        if let serve = keys["serve"] { setup.serve = try serve.bool() }
        if let clock = keys["clock"] {
            let text = try clock.string()
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw clock.fail("setup.clock must be an ISO 8601 time such as 2026-11-30T00:00:00Z, found '\(text)'")
            }
            setup.clock = date
        }
        if let settings = keys["settings"] {
            setup.settings = try settings.json()
            switch setup.flow {
            case ProcurifySyspro.name: try checkSettings(setup.settings, defaults: ProcurifySysproSettings(), reader: settings)
            case ProcoreSAPB1.name: try checkSettings(setup.settings, defaults: ProcoreSAPB1Settings(), reader: settings)
            case ProcoreCloudSuite.name: try checkSettings(setup.settings, defaults: ProcoreCloudSuiteSettings(), reader: settings)
            case SysproCin7.name: try checkSettings(setup.settings, defaults: SysproCin7Settings(), reader: settings)
            default: try checkSettings(setup.settings, defaults: SysproProcoreSettings(), reader: settings)
            }
        }
        if let procore = keys["procore"] {
            setup.procore = try procore.json()
            try checkKeys(setup.procore, allowed: ["tokenLifetimeSeconds", "hourlyLimit", "spikeLimit", "strictCompanyHeader", "defaultPerPage", "relaxBillingPeriods", "reusableRefreshTokens"], reader: procore)
        }
        if let procurify = keys["procurify"] {
            setup.procurify = try procurify.json()
            try checkKeys(setup.procurify, allowed: ["tokenLifetimeSeconds", "defaultPageSize", "maxPageSize", "callsPerMinute"], reader: procurify)
        }
        if let cloudsuite = keys["cloudsuite"] {
            setup.cloudsuite = try cloudsuite.json()
            try checkKeys(setup.cloudsuite, allowed: ["callsPerMinute", "tokenLifetimeSeconds", "issueRefreshTokens", "defaultMaxRecords", "rightTrimByDefault", "clientCallsPerMinute"], reader: cloudsuite)
        }
        if let cin7 = keys["cin7"] {
            setup.cin7 = try cin7.json()
            try checkKeys(setup.cin7, allowed: ["callsPerMinute", "throttleStatus", "retryAfter", "clientCallsPerMinute"], reader: cin7)
        }
        if let sapb1 = keys["sapb1"] {
            setup.sapb1 = try sapb1.json()
            try checkKeys(setup.sapb1, allowed: ["sessionTimeoutMinutes", "pageSize", "loginFailureCode", "v4ErrorsOnV1", "userFields"], reader: sapb1)
        }
        if let syspro = keys["syspro"] {
            setup.syspro = try syspro.json()
            try checkKeys(setup.syspro, allowed: ["idleTimeoutSeconds", "evictOnRelogon", "maxPageSize", "emitNextLinks", "licenceSeats", "maxQueryBytes"], reader: syspro)
        }
        return setup
    }

    /// The overrides name keys of the flow's settings and, merged over the defaults, decode.
    static func checkSettings<T: Codable>(_ overrides: JSONValue, defaults: T, reader settings: YAMLReader) throws {
        do {
            var merged = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(defaults))
            if case .object(var base) = merged, case .object(let overrides) = overrides {
                let known = Set(base.keys)
                for (key, value) in overrides {
                    guard known.contains(key) else {
                        throw settings.fail("unknown flow setting '\(key)'; expected one of: \(known.sorted().joined(separator: ", "))")
                    }
                    base[key] = value
                }
                merged = .object(base)
            }
            _ = try JSONDecoder().decode(T.self, from: JSONEncoder().encode(merged))
        } catch let error as ScenarioLoadError {
            throw error
        } catch {
            throw settings.fail("setup.settings does not fit the flow settings: \(error)")
        }
    }

    static func checkKeys(_ value: JSONValue, allowed: [String], reader: YAMLReader) throws {
        guard let object = value.objectValue else { throw reader.fail("\(reader.context) must be a mapping") }
        for key in object.keys where !allowed.contains(key) {
            throw reader.fail("unknown key '\(key)' in \(reader.context); expected one of: \(allowed.joined(separator: ", "))")
        }
    }

    static let commonSteps = ["sync", "replay", "advance", "fault", "clearFaults", "crash", "expect"]
    static let sysproRowSteps = ["insertRows", "updateRows", "deleteRows"]
    static let flowSteps = [
        SysproProcore.name: sysproRowSteps + [
            "createCostCode", "addLatePurchaseOrder", "procoreSettings", "procoreCommitment", "procoreBillingPeriod", "registerHook", "receiver",
            "webhooks", "use",
        ],
        ProcurifySyspro.name: sysproRowSteps + ["procurifyPurchase", "procurifyRevise", "procurifyCancel", "procurifyVendor", "procurifyBill", "procurifyBillStatus"],
        ProcoreSAPB1.name: [
            "procoreSettings", "procoreChangeOrder", "procoreChangeOrderStatus", "procoreDirectCost", "sapb1PostingPeriod", "sapb1Master",
        ],
        ProcoreCloudSuite.name: ["procoreSettings", "procoreVendor", "procoreContract", "m3Payment", "m3Chart", "webhooks", "serve"],
        SysproCin7.name: sysproRowSteps + ["addLatePurchaseOrder", "cin7Supplier", "cin7Account", "cin7Settings"],
    ]

    /// The steps a scenario of `flow` may take: the common ones and the flow's own.
    static func stepKinds(_ flow: String) -> [String] { commonSteps + (flowSteps[flow] ?? []) }

    static func parseStep(_ reader: YAMLReader, setup: Setup) throws -> Step {
        let stepKinds = stepKinds(setup.flow)
        let keys = try reader.mapping(allowed: stepKinds + ["name"])
        let kinds = keys.keys.filter { $0 != "name" }
        guard kinds.count == 1, let kind = kinds.first, let body = keys[kind] else {
            throw reader.fail("a step has exactly one of: \(stepKinds.joined(separator: ", ")) (found \(kinds.sorted().joined(separator: ", ")))")
        }
        let name = try keys["name"]?.string() ?? kind
        if setup.serve, kind == "sync" {
            throw reader.fail("under setup.serve the served poller runs the cycles: use serve: {cycle: woken} or serve: {cycle: scheduled}")
        }
        if !setup.serve, kind == "serve" { throw reader.fail("serve steps need setup.serve: true") }
        let action: Action
        switch kind {
        case "use":
            action = .use(integration: try body.oneOf([mainIntegration] + setup.integrations.map(\.name)))
        case "sync":
            let options = body.node.mapping == nil ? [:] : try body.mapping(allowed: ["expectErrors", "errorContains"])
            let contains = try options["errorContains"]?.string()
            action = .sync(expectErrors: try options["expectErrors"]?.bool() ?? (contains != nil), errorContains: contains)
        case "replay":
            let options = body.node.mapping == nil ? [:] : try body.mapping(allowed: ["ids", "overrideBudget"])
            action = .replay(
                ids: try options["ids"]?.sequence().map { try $0.string() } ?? [],
                overrideBudget: try options["overrideBudget"]?.bool() ?? false)
        case "advance":
            action = .advance(try body.duration())
        case "fault":
            action = try parseFault(body, setup: setup)
        case "clearFaults":
            let system = try body.string()
            action = .clearFaults(system: system == "all" ? nil : try body.oneOf(setup.systems + ["all"]))
        case "crash":
            let options = try body.mapping(allowed: ["at", "skip"])
            guard let at = options["at"] else { throw body.fail("crash needs 'at': one of \(CrashPoint.allCases.map(\.rawValue).joined(separator: ", "))") }
            let point = try at.oneOf(CrashPoint.allCases.map(\.rawValue))
            action = .crash(point: CrashPoint(rawValue: point)!, skip: try options["skip"]?.int() ?? 0)
        case "createCostCode":
            let options = try body.mapping(allowed: ["project", "code", "name", "budget"])
            guard let project = options["project"], let code = options["code"] else { throw body.fail("createCostCode needs project and code") }
            let number = try project.string()
            guard ["2301", "2302", "2303"].contains(number) else {
                throw project.fail("project '\(number)' is not in the demo data set; projects are 2301, 2302, 2303")
            }
            action = .createCostCode(
                project: number, code: try code.string(), name: try options["name"]?.string() ?? "Created by scenario",
                budget: try options["budget"]?.double())
        case "insertRows":
            let options = try body.mapping(allowed: ["table", "rows"])
            let table = try requireTable(options["table"], in: body)
            guard let rows = options["rows"] else { throw body.fail("insertRows needs rows") }
            action = .insertRows(table: table, rows: try rows.sequence().map {
                guard let object = try $0.json().objectValue else { throw $0.fail("each row must be a mapping of column: value") }
                return object
            })
        case "updateRows", "deleteRows":
            let options = try body.mapping(allowed: kind == "updateRows" ? ["table", "where", "set"] : ["table", "where"])
            let table = try requireTable(options["table"], in: body)
            guard let whereReader = options["where"], let condition = try whereReader.json().objectValue, condition.count == 1,
                let (column, value) = condition.first
            else { throw body.fail("\(kind) needs where: {Column: value} with one column") }
            if kind == "updateRows" {
                guard let set = try options["set"]?.json().objectValue else { throw body.fail("updateRows needs set: {Column: value, …}") }
                action = .updateRows(table: table, column: column, value: value, set: set)
            } else {
                action = .deleteRows(table: table, column: column, value: value)
            }
        case "addLatePurchaseOrder":
            action = .addLatePurchaseOrder
        case "procoreSettings":
            let value = try body.json()
            try checkKeys(value, allowed: ["tokenLifetimeSeconds", "hourlyLimit", "spikeLimit", "strictCompanyHeader", "defaultPerPage", "relaxBillingPeriods", "reusableRefreshTokens"], reader: body)
            action = .procoreSettings(value)
        case "procoreCommitment":
            let options = try body.mapping(allowed: ["origin", "status"])
            guard let origin = options["origin"], let status = options["status"] else {
                throw body.fail("procoreCommitment needs origin (the commitment's origin_id) and status")
            }
            action = .procoreCommitment(
                origin: try origin.string(),
                status: try status.oneOf(["Draft", "Processing", "Submitted", "Partially Received", "Received", "Approved", "Closed"]))
        case "procoreBillingPeriod":
            let options = try body.mapping(allowed: ["project"])
            guard let project = options["project"] else { throw body.fail("procoreBillingPeriod needs project (the Procore project number, or \"*\" for every project)") }
            action = .procoreBillingPeriod(project: try project.string())
        case "registerHook":
            let o = try body.mapping(allowed: ["resources", "events", "project", "apiVersion"])
            let known = ["Purchase Order Contracts", "Purchase Order Contract Line Items", "Cost Codes", "Budget Line Items", "Company Vendors"]
            guard let resources = o["resources"] else { throw body.fail("registerHook needs resources: a list of \(known.joined(separator: ", "))") }
            let project = try o["project"]?.string()
            if let project, !["2301", "2302", "2303"].contains(project) {
                throw o["project"]!.fail("project '\(project)' is not in the demo data set; projects are 2301, 2302, 2303")
            }
            action = .registerHook(
                resources: try resources.sequence().map { try $0.oneOf(known) },
                events: try o["events"]?.sequence().map { try $0.oneOf(["create", "update", "delete"]) } ?? ["create", "update"],
                project: project, apiVersion: try o["apiVersion"]?.oneOf(["v2", "v3", "v4"]) ?? "v2")
        case "receiver":
            let o = try body.mapping(allowed: ["failNext", "status"])
            action = .receiver(failNext: try o["failNext"]?.int() ?? 0, status: try o["status"]?.int() ?? 500)
        case "webhooks":
            let o = try body.mapping(allowed: ["hold", "release", "reorder", "duplicate", "deliver"])
            guard o.count == 1, let (key, value) = o.first else { throw body.fail("webhooks takes one of: hold, release, reorder, duplicate, deliver") }
            action = .webhooks(key, key == "duplicate" ? try value.int() : 0)
        case "procurifyPurchase":
            let o = try body.mapping(allowed: ["vendor", "currency", "lines", "fields"])
            guard let lines = o["lines"] else { throw body.fail("procurifyPurchase needs lines: [{accountCode, quantity, price, name?, sku?, unit?}]") }
            action = .procurifyPurchase(
                vendor: try o["vendor"]?.int(), currency: try o["currency"]?.string() ?? "USD", lines: try procurifyLines(lines, requireAll: true),
                fields: try fields(o["fields"]))
        case "procurifyRevise":
            let o = try body.mapping(allowed: ["po", "lines", "fields"])
            guard let po = o["po"] else { throw body.fail("procurifyRevise needs po (the procurify_PO number)") }
            action = .procurifyRevise(po: try po.int(), lines: try o["lines"].map { try procurifyLines($0, requireAll: false) } ?? [], fields: try fields(o["fields"]))
        case "procurifyCancel":
            let o = try body.mapping(allowed: ["po"])
            guard let po = o["po"] else { throw body.fail("procurifyCancel needs po (the procurify_PO number)") }
            action = .procurifyCancel(po: try po.int())
        case "procurifyVendor":
            let o = try body.mapping(allowed: ["id", "name", "externalId"])
            guard let name = o["name"] else { throw body.fail("procurifyVendor needs name (and id to edit an existing vendor)") }
            action = .procurifyVendor(id: try o["id"]?.int(), name: try name.string(), externalID: try o["externalId"]?.string())
        case "procurifyBill":
            let o = try body.mapping(allowed: ["po", "invoice", "status", "fields"])
            guard let po = o["po"], let invoice = o["invoice"] else { throw body.fail("procurifyBill needs po (the procurify_PO it bills) and invoice (its number)") }
            action = .procurifyBill(po: try po.int(), invoice: try invoice.string(), status: try o["status"]?.int() ?? 2, fields: try fields(o["fields"]))
        case "procoreContract":
            let o = try body.mapping(allowed: ["number", "project", "vendor", "lines", "count"])
            guard let number = o["number"] else { throw body.fail("procoreContract needs number (e.g. PC-2000)") }
            let project = try o["project"]?.oneOf(["2301", "2302", "2303"]) ?? "2301"
            let lines = try o["lines"]?.sequence().map { line -> JSONValue in
                let l = try line.mapping(allowed: ["costCode", "amount", "description"])
                guard let code = l["costCode"], let amount = l["amount"] else { throw line.fail("a contract line needs costCode and amount") }
                return ["cost_code": .string(try code.string()), "amount": .string(try amount.string()),
                        "description": .string(try l["description"]?.string() ?? "Contract line")]
            } ?? [["cost_code": "03-300", "amount": "18400.00", "description": "Rebar"]]
            let count = try o["count"]?.int() ?? 1
            guard (1...5000).contains(count) else { throw o["count"]!.fail("count is 1…5000") }
            action = .procoreContract(number: try number.string(), project: project, vendor: try o["vendor"]?.string() ?? "SUP001", lines: lines, count: count)
        case "m3Payment":
            let o = try body.mapping(allowed: ["invoice", "amount"])
            guard let invoice = o["invoice"] else { throw body.fail("m3Payment needs invoice (the Procore invoice number, e.g. SUB-1001-1)") }
            action = .m3Payment(invoice: try invoice.string(), amount: try o["amount"]?.string())
        case "m3Chart":
            let o = try body.mapping(allowed: ["dimension", "values"])
            guard let dimension = o["dimension"], let values = o["values"] else { throw body.fail("m3Chart needs dimension (1…7) and values") }
            let number = try dimension.int()
            guard (1...7).contains(number) else { throw dimension.fail("dimension is 1…7") }
            action = .m3Chart(dimension: number, values: try values.sequence().map { try $0.string() })
        case "serve":
            let o = try body.mapping(allowed: ["cycle", "receiver", "post", "status"])
            if let cycle = o["cycle"] {
                action = .serve("cycle", try cycle.oneOf(["woken", "scheduled"]))
            } else if let receiver = o["receiver"] {
                action = .serve("receiver", try receiver.oneOf(["down", "up"]))
            } else if let post = o["post"] {
                let p = try post.mapping(allowed: ["header", "body"])
                guard let status = o["status"] else { throw body.fail("serve: {post: …} needs status: the answer the listener must give") }
                action = .servePost(header: try p["header"]?.string(), body: try p["body"]?.json() ?? [:], status: try status.int())
            } else {
                throw body.fail("serve takes cycle: woken|scheduled, receiver: down|up, or post: {header, body} with status")
            }
        case "cin7Supplier":
            let o = try body.mapping(allowed: ["name", "fields", "create"])
            guard let name = o["name"] else { throw body.fail("cin7Supplier needs name (the supplier's name in Cin7)") }
            action = .cin7Supplier(name: try name.string(), fields: try o["fields"]?.json().objectValue ?? [:], create: try o["create"]?.bool() ?? false)
        case "cin7Account":
            let o = try body.mapping(allowed: ["code", "name", "status"])
            guard let code = o["code"] else { throw body.fail("cin7Account needs code") }
            action = .cin7Account(code: try code.string(), name: try o["name"]?.string(), status: try o["status"]?.oneOf(["ACTIVE", "ARCHIVED"]) ?? "ACTIVE")
        case "cin7Settings":
            let value = try body.json()
            try checkKeys(value, allowed: ["callsPerMinute", "throttleStatus", "retryAfter"], reader: body)
            action = .cin7Settings(value)
        case "procoreVendor":
            let o = try body.mapping(allowed: ["name"])
            guard let name = o["name"] else { throw body.fail("procoreVendor needs name") }
            action = .procoreVendor(name: try name.string())
        case "procoreChangeOrder":
            let o = try body.mapping(allowed: ["commitment", "number", "status", "lines"])
            guard let commitment = o["commitment"], let lines = o["lines"] else {
                throw body.fail("procoreChangeOrder needs commitment (its number, e.g. PC-1000) and lines: [{costCode, amount, description?}]")
            }
            action = .procoreChangeOrder(
                commitment: try commitment.string(), number: try o["number"]?.string(),
                status: try o["status"]?.oneOf(["draft", "pending", "proceeding", "approved", "rejected", "void"]) ?? "approved",
                lines: try lines.sequence().map { line in
                    let l = try line.mapping(allowed: ["costCode", "amount", "description"])
                    guard let code = l["costCode"], let amount = l["amount"] else { throw line.fail("a change order line needs costCode and amount") }
                    return ["cost_code": .string(try code.string()), "amount": try amount.json(), "description": .string(try l["description"]?.string() ?? "")]
                })
        case "procoreChangeOrderStatus":
            let o = try body.mapping(allowed: ["changeOrder", "status"])
            guard let co = o["changeOrder"], let status = o["status"] else { throw body.fail("procoreChangeOrderStatus needs changeOrder (PC-1000/002) and status") }
            action = .procoreChangeOrderStatus(changeOrder: try co.string(), status: try status.oneOf(["draft", "pending", "proceeding", "approved", "rejected", "void"]))
        case "procoreDirectCost":
            let o = try body.mapping(allowed: ["project", "invoice", "status", "date", "lines"])
            guard let project = o["project"], let invoice = o["invoice"], let lines = o["lines"] else {
                throw body.fail("procoreDirectCost needs project (2301…), invoice and lines: [{costCode, quantity, unitCost}]")
            }
            var seed: [String: JSONValue] = [
                "direct_cost_type": "invoice", "invoice_number": .string(try invoice.string()), "status": .string(try o["status"]?.string() ?? "approved"),
                "line_items": .array(try lines.sequence().map { line in
                    let l = try line.mapping(allowed: ["costCode", "quantity", "unitCost", "description"])
                    guard let code = l["costCode"] else { throw line.fail("a direct cost line needs costCode") }
                    return ["cost_code": .string(try code.string()), "quantity": .number(try l["quantity"]?.double() ?? 1),
                            "unit_cost": .number(try l["unitCost"]?.double() ?? 0), "description": .string(try l["description"]?.string() ?? "")]
                }),
            ]
            if let date = o["date"] { seed["direct_cost_date"] = .string(try date.string()) }
            action = .procoreDirectCost(project: try project.oneOf(["2301", "2302", "2303"]), seed: .object(seed))
        case "sapb1PostingPeriod":
            let o = try body.mapping(allowed: ["code", "status"])
            guard let code = o["code"], let status = o["status"] else { throw body.fail("sapb1PostingPeriod needs code (YYYY-MM) and status") }
            action = .sapb1PostingPeriod(code: try code.string(), status: try status.oneOf(["unlocked", "unlockedExceptSales", "closing", "locked"]))
        case "sapb1Master":
            let o = try body.mapping(allowed: ["set", "key", "fields"])
            guard let set = o["set"], let key = o["key"], let fields = try o["fields"]?.json().objectValue else {
                throw body.fail("sapb1Master needs set (ProfitCenters, ChartOfAccounts, BusinessPartners, Projects), key and fields")
            }
            action = .sapb1Master(set: try set.oneOf(["ProfitCenters", "ChartOfAccounts", "BusinessPartners", "Projects"]), key: try key.string(), fields: fields)
        case "procurifyBillStatus":
            let o = try body.mapping(allowed: ["invoice", "status"])
            guard let invoice = o["invoice"], let status = o["status"] else { throw body.fail("procurifyBillStatus needs invoice and status (procurify.md §6.1: 0 pending … 2 approved, 4 paid)") }
            action = .procurifyBillStatus(invoice: try invoice.string(), status: try status.int())
        default:  // expect
            action = .expect(try body.sequence().map { try parseAssertion($0, setup: setup) })
        }
        return Step(line: reader.line, name: name, action: action)
    }

    /// PO items for the Procurify steps: `{accountCode, quantity, price, name, sku, unit, id}`; a
    /// value may be anything (a malformed record is a scenario too), the keys may not.
    static func procurifyLines(_ reader: YAMLReader, requireAll: Bool) throws -> [JSONValue] {
        try reader.sequence().map { item in
            let o = try item.mapping(allowed: ["id", "accountCode", "quantity", "price", "name", "sku", "unit"])
            if requireAll, o["accountCode"] == nil || o["quantity"] == nil || o["price"] == nil {
                throw item.fail("a purchased line needs accountCode, quantity and price")
            }
            return try item.json()
        }
    }

    /// Raw record fields laid over what a Procurify step builds (`fields: {pref_vendor: null}`).
    static func fields(_ reader: YAMLReader?) throws -> [String: JSONValue] {
        guard let reader else { return [:] }
        guard let object = try reader.json().objectValue else { throw reader.fail("fields must be a mapping of field: value") }
        return object
    }

    static func requireTable(_ reader: YAMLReader?, in parent: YAMLReader) throws -> String {
        guard let reader else { throw parent.fail("a table is required: one of \(tables.joined(separator: ", "))") }
        return try reader.oneOf(tables)
    }

    /// `from`/`until` are durations after the scenario's clock start.
    static func parseFault(_ body: YAMLReader, setup: Setup) throws -> Action {
        let (start, systems) = (setup.clock, setup.systems)
        let keys = try body.mapping(allowed: [
            "system", "method", "path", "nth", "everyNth", "probability", "seed", "times", "from", "until",
            "status", "body", "headers", "delayMs", "delayAfterMs", "action", "truncateBody", "dropConnection",
        ])
        guard let systemReader = keys["system"] else { throw body.fail("fault needs system: \(systems.joined(separator: " or "))") }
        let system = try systemReader.oneOf(systems)
        var effect = FaultEffect()
        effect.status = try keys["status"]?.int()
        effect.body = try keys["body"]?.string()
        if let headers = keys["headers"] {
            effect.headers = try headers.mapping(allowed: ["Retry-After", "X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", "Content-Type"])
                .mapValues { try $0.string() }
        }
        effect.delayMilliseconds = try keys["delayMs"]?.int()
        effect.delayAfterMilliseconds = try keys["delayAfterMs"]?.int()
        if let action = keys["action"] {
            effect.action = FaultAction(rawValue: try action.oneOf(["expire-tokens", "kill-sessions"]))
            if effect.action == .expireTokens && !["procore", "procurify", "cloudsuite"].contains(system) { throw action.fail("expire-tokens applies to procore, procurify and cloudsuite") }
            if effect.action == .killSessions && !["syspro", "sapb1"].contains(system) { throw action.fail("kill-sessions applies to syspro and sapb1") }
        }
        effect.truncateBody = try keys["truncateBody"]?.bool()
        effect.dropConnection = try keys["dropConnection"]?.bool()
        guard effect.status != nil || effect.action != nil || effect.truncateBody == true || effect.delayMilliseconds != nil
            || effect.dropConnection == true || effect.delayAfterMilliseconds != nil
        else {
            throw body.fail("a fault needs an effect: status, action, truncateBody, dropConnection, delayMs or delayAfterMs")
        }
        if let probability = try keys["probability"]?.double(), !(0...1).contains(probability) {
            throw body.fail("probability must be between 0 and 1")
        }
        let rule = FaultRule(
            method: try keys["method"]?.oneOf(["GET", "POST", "PATCH", "PUT", "DELETE"]), path: try keys["path"]?.string(),
            nth: try keys["nth"]?.int(), everyNth: try keys["everyNth"]?.int(), probability: try keys["probability"]?.double(),
            seed: try (try keys["seed"]?.int()).map { seed in
                guard seed >= 0 else { throw body.fail("seed must be 0 or more") }
                return UInt64(seed)
            },
            from: (try keys["from"]?.duration()).map { start.addingTimeInterval($0.timeInterval) },
            until: (try keys["until"]?.duration()).map { start.addingTimeInterval($0.timeInterval) }, times: try keys["times"]?.int(),
            effect: effect)
        if let problem = rule.problem { throw body.fail(problem) }
        return .fault(system: system, rule: rule)
    }

    static let commonAssertions = [
        "quarantine", "quarantineCount", "audit", "watermark", "summary", "journal", "slept", "noExpiredTokenReused", "no_duplicates", "converged",
    ]
    static let flowAssertions = [
        SysproProcore.name: ["commitments", "requisitions", "commitment", "requisition", "noRepeatedPost", "received", "deliveries"],
        ProcurifySyspro.name: ["sysproOrders", "sysproOrder", "sysproInvoices", "sysproInvoice", "sysproSupplier", "procurifyVendor"],
        ProcoreSAPB1.name: ["sapDocuments", "sapDocument"],
        ProcoreCloudSuite.name: ["m3Orders", "m3Invoices", "m3Supplier", "contractPayments", "webhookEvents", "deliveries"],
        SysproCin7.name: ["cin7Purchases", "cin7Purchase", "cin7Supplier", "sysproSupplier"],
    ]
    /// The entities whose watermarks a scenario of the flow may check.
    static let flowEntities = [
        SysproProcore.name: ["PorMasterHdr", "ApInvoice"], ProcurifySyspro.name: ["purchaseOrders", "bills"],
        ProcoreSAPB1.name: ProcoreSAPB1.entityLabels, ProcoreCloudSuite.name: ProcoreCloudSuite.entityLabels,
        SysproCin7.name: ["PorMasterHdr", "ApInvoice", "Cin7Supplier"],
    ]

    static func parseAssertion(_ reader: YAMLReader, setup: Setup) throws -> Assertion {
        let systems = setup.systems
        let assertionKinds = commonAssertions + (flowAssertions[setup.flow] ?? [])
        let entities = flowEntities[setup.flow] ?? []
        if let word = reader.node.scalar?.string {
            switch word {
            case "no_duplicates": return .noDuplicates
            case "converged": return .converged
            case "noExpiredTokenReused": return .noExpiredTokenReused
            case "noRepeatedPost" where assertionKinds.contains(word): return .noRepeatedPost
            default: throw reader.fail("unknown assertion '\(word)'; expected one of: \(assertionKinds.joined(separator: ", "))")
            }
        }
        let keys = try reader.mapping(allowed: assertionKinds)
        guard keys.count == 1, let (kind, body) = keys.first else { throw reader.fail("an assertion has exactly one kind") }
        switch kind {
        case "commitments", "requisitions":
            let count = try body.mapping(allowed: ["count"])["count"]
            guard let count else { throw body.fail("\(kind) needs count") }
            return kind == "commitments" ? .commitments(count: try count.int()) : .requisitions(count: try count.int())
        case "commitment":
            let o = try body.mapping(allowed: ["origin", "exists", "total", "lines"])
            guard let origin = o["origin"] else { throw body.fail("commitment needs origin (its origin_id, e.g. SYSPRO-PO-DEMO-LATE)") }
            return .commitment(origin: try origin.string(), exists: try o["exists"]?.bool() ?? true, total: try o["total"]?.string(), lines: try o["lines"]?.int())
        case "requisition":
            let o = try body.mapping(allowed: ["origin", "exists", "total", "commitment"])
            guard let origin = o["origin"] else { throw body.fail("requisition needs origin") }
            return .requisition(origin: try origin.string(), exists: try o["exists"]?.bool() ?? true, total: try o["total"]?.string(),
                                commitmentOrigin: try o["commitment"]?.string())
        case "quarantine":
            let o = try body.mapping(allowed: ["source", "status", "code", "reasonContains"])
            guard let source = o["source"] else { throw body.fail("quarantine needs source (a PO number or SUPPLIER/INVOICE)") }
            return .quarantine(source: try source.string(), status: try o["status"]?.oneOf(["held", "released"]),
                               code: try o["code"]?.oneOf(SyncError.Code.allCases.map(\.rawValue)), reasonContains: try o["reasonContains"]?.string())
        case "quarantineCount":
            let o = try body.mapping(allowed: ["count", "status", "code"])
            guard let count = o["count"] else { throw body.fail("quarantineCount needs count") }
            return .quarantineCount(count: try count.int(), status: try o["status"]?.oneOf(["held", "released"]),
                                    code: try o["code"]?.oneOf(SyncError.Code.allCases.map(\.rawValue)))
        case "audit":
            let o = try body.mapping(allowed: ["source", "outcome", "count", "outcomes", "warningContains"])
            let outcomes = Outcome.allCases.map(\.rawValue)
            return .audit(source: try o["source"]?.string(), outcome: try o["outcome"]?.oneOf(outcomes), count: try o["count"]?.int(),
                          outcomes: try o["outcomes"]?.sequence().map { try $0.oneOf(outcomes) }, warningContains: try o["warningContains"]?.string())
        case "watermark":
            let o = try body.mapping(allowed: ["entity", "equals"])
            guard let entity = o["entity"] else { throw body.fail("watermark needs entity: \(entities.joined(separator: " or "))") }
            let equals: String? = o["equals"].map { $0.node.scalar?.string == "null" ? nil : $0.node.string } ?? nil
            return .watermark(entity: try entity.oneOf(entities), equals: equals)
        case "summary":
            guard let mapping = body.node.mapping, mapping.count == 1, let (key, value) = mapping.first, let path = key.string else {
                throw body.fail("summary takes one entry such as {purchaseOrders.created: 11}")
            }
            let fields = EntityCounts.fieldNames
            let labels = setup.labels
            let parts = path.split(separator: ".").map(String.init)
            guard parts.count == 2, labels.contains(parts[0]), fields.contains(parts[1]) else {
                throw body.fail("summary key '\(path)' must be ENTITY.X with ENTITY one of \(labels.joined(separator: ", ")) and X one of \(fields.joined(separator: ", "))")
            }
            return .summary(path: path, equals: try YAMLReader(file: body.file, node: value, context: "summary.\(path)").int())
        case "journal":
            let o = try body.mapping(allowed: ["system", "method", "path", "status", "count", "atLeast", "atMost"])
            guard let system = o["system"] else { throw body.fail("journal needs system") }
            let assertion = Assertion.journal(
                system: try system.oneOf(systems), method: try o["method"]?.string(), path: try o["path"]?.string(),
                status: try o["status"]?.int(), count: try o["count"]?.int(), atLeast: try o["atLeast"]?.int(), atMost: try o["atMost"]?.int())
            guard o["count"] != nil || o["atLeast"] != nil || o["atMost"] != nil else { throw body.fail("journal needs count, atLeast or atMost") }
            return assertion
        case "slept":
            let o = try body.mapping(allowed: ["atLeast"])
            guard let atLeast = o["atLeast"] else { throw body.fail("slept needs atLeast (a duration)") }
            return .slept(atLeastSeconds: try atLeast.duration().timeInterval)
        case "received":
            let o = try body.mapping(allowed: ["resource", "event", "count", "distinct", "atLeast"])
            return .received(resource: try o["resource"]?.string(), event: try o["event"]?.oneOf(["create", "update", "delete"]),
                             count: try o["count"]?.int(), distinct: try o["distinct"]?.int(), atLeast: try o["atLeast"]?.int())
        case "deliveries":
            let o = try body.mapping(allowed: ["outcome", "count", "atLeast"])
            return .deliveries(outcome: try o["outcome"]?.oneOf(["ok", "retried", "failed", "discarded"]), count: try o["count"]?.int(),
                               atLeast: try o["atLeast"]?.int())
        case "sysproOrders", "sysproInvoices":
            guard let count = try body.mapping(allowed: ["count"])["count"] else { throw body.fail("\(kind) needs count") }
            return kind == "sysproOrders" ? .sysproOrders(count: try count.int()) : .sysproInvoices(count: try count.int())
        case "sysproOrder":
            let o = try body.mapping(allowed: ["procurifyPO", "exists", "lines", "total", "cancelled"])
            guard let po = o["procurifyPO"] else { throw body.fail("sysproOrder needs procurifyPO (the Procurify PO number it came from)") }
            return .sysproOrder(procurifyPO: try po.string(), exists: try o["exists"]?.bool() ?? true, lines: try o["lines"]?.int(),
                                total: try o["total"]?.string(), cancelled: try o["cancelled"]?.bool())
        case "sysproInvoice":
            let o = try body.mapping(allowed: ["invoice", "exists", "total", "procurifyPO"])
            guard let invoice = o["invoice"] else { throw body.fail("sysproInvoice needs invoice (the bill's invoice number)") }
            return .sysproInvoice(invoice: try invoice.string(), exists: try o["exists"]?.bool() ?? true, total: try o["total"]?.string(),
                                  procurifyPO: try o["procurifyPO"]?.string())
        case "cin7Purchases":
            guard let count = try body.mapping(allowed: ["count"])["count"] else { throw body.fail("cin7Purchases needs count") }
            return .cin7Purchases(count: try count.int())
        case "cin7Purchase":
            let o = try body.mapping(allowed: ["po", "exists", "status", "approach", "invoice"])
            guard let po = o["po"] else { throw body.fail("cin7Purchase needs po (the SYSPRO PO number)") }
            return .cin7Purchase(
                po: try po.string(), exists: try o["exists"]?.bool() ?? true,
                status: try o["status"]?.oneOf(["DRAFT", "ORDERING", "ORDERED", "RECEIVED", "INVOICED", "COMPLETED", "VOIDED"]),
                approach: try o["approach"]?.oneOf(["INVOICE", "STOCK"]), invoice: try o["invoice"]?.string())
        case "cin7Supplier":
            let o = try body.mapping(allowed: ["code", "name", "fields"])
            guard o["code"] != nil || o["name"] != nil else { throw body.fail("cin7Supplier needs code (the SYSPRO code it carries) or name") }
            let fields = try (o["fields"]?.json().objectValue ?? [:]).mapValues { $0.scalarText }
            return .cin7Supplier(code: try o["code"]?.string(), name: try o["name"]?.string(), fields: fields)
        case "sysproSupplier":
            let o = try body.mapping(allowed: ["code", "exists", "name"])
            guard let code = o["code"] else { throw body.fail("sysproSupplier needs code") }
            return .sysproSupplier(code: try code.string(), exists: try o["exists"]?.bool() ?? true, name: try o["name"]?.string())
        case "procurifyVendor":
            let o = try body.mapping(allowed: ["name", "externalId"])
            guard let name = o["name"] else { throw body.fail("procurifyVendor needs name") }
            return .procurifyVendor(name: try name.string(), externalID: try o["externalId"]?.string())
        case "m3Orders", "m3Invoices":
            guard let count = try body.mapping(allowed: ["count"])["count"] else { throw body.fail("\(kind) needs count") }
            return kind == "m3Orders" ? .m3Orders(count: try count.int()) : .m3Invoices(count: try count.int())
        case "contractPayments":
            guard let count = try body.mapping(allowed: ["count"])["count"] else { throw body.fail("contractPayments needs count") }
            return .contractPayments(count: try count.int())
        case "webhookEvents":
            let o = try body.mapping(allowed: ["accepted", "duplicate", "refused", "pending"])
            guard !o.isEmpty else { throw body.fail("webhookEvents needs one of accepted, duplicate, refused, pending") }
            return .webhookEvents(accepted: try o["accepted"]?.int(), duplicate: try o["duplicate"]?.int(), refused: try o["refused"]?.int(), pending: try o["pending"]?.int())
        case "m3Supplier":
            let o = try body.mapping(allowed: ["name", "number"])
            guard let name = o["name"] else { throw body.fail("m3Supplier needs name") }
            return .m3Supplier(name: try name.string(), number: try o["number"]?.string())
        case "sapDocuments":
            let o = try body.mapping(allowed: ["set", "count"])
            guard let count = o["count"] else { throw body.fail("sapDocuments needs count") }
            return .sapDocuments(set: try o["set"]?.oneOf(["PurchaseInvoices", "JournalEntries"]), count: try count.int())
        case "sapDocument":
            let o = try body.mapping(allowed: ["source", "exists", "set", "total"])
            guard let source = o["source"] else {
                throw body.fail("sapDocument needs source: commitment:PC-1000, changeOrder:PC-1000/001, directCost:DC-2000 or invoice:SUB-1001-1")
            }
            return .sapDocument(source: try source.string(), exists: try o["exists"]?.bool() ?? true,
                                set: try o["set"]?.oneOf(["PurchaseInvoices", "JournalEntries"]), total: try o["total"]?.string())
        case "no_duplicates": return .noDuplicates
        case "converged": return .converged
        case "noExpiredTokenReused": return .noExpiredTokenReused
        default: return .noRepeatedPost
        }
    }
}
