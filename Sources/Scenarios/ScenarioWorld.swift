import ClientKit
import ConnectorApp
import Flows
import Foundation
import Logging
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import SyncStore
import SysproClient
import SysproSimulator

/// What a scenario's steps act on: one flow's simulators, state store and clock. The runner does
/// what every flow shares; a world adds its flow's own steps (``perform(_:state:)``) and
/// assertions (``evaluate(_:state:)``: the destination's records, `no_duplicates`, `converged`).
protocol ScenarioWorld: Sendable {
    var clock: ManualClock { get }
    var store: any SyncStateStore { get }
    /// SYSPRO, for the flows that read or write it (`insertRows`, `updateRows`, `deleteRows`).
    var syspro: SysproBackend? { get }
    /// The system whose bearer tokens the flow renews (`noExpiredTokenReused`).
    var tokenSystem: String { get }
    func core(_ system: String) -> SimulatorCore
    func advance(by duration: Duration) async
    /// Lets what the last step set off in the background land.
    func settle() async
    /// A step only this flow knows.
    func perform(_ step: Scenario.Step, state: inout RunState) async throws -> StepResult
    /// An assertion only this flow knows. - Returns: `nil` when it holds, else what was found.
    func evaluate(_ assertion: Scenario.Assertion, state: RunState) async throws -> String?
    /// The source id a scenario names in its own words (`commitment:PC-1000` → Procore's id).
    func resolve(_ source: String) async -> String
}

extension Scenario {
    /// What `converged` reports: nothing when every check held, else the first six problems.
    static func notConverged(_ problems: [String]) -> String? {
        problems.isEmpty ? nil : "not converged: " + problems.prefix(6).joined(separator: "; ") + (problems.count > 6 ? " (+\(problems.count - 6) more)" : "")
    }
}

extension ProcoreBackend {
    /// `kind:number` (`commitment:PC-1000`, `invoice:SUB-1001-1`) → Procore's id; anything else as it is.
    func scenarioID(_ source: String) async -> String {
        guard let colon = source.firstIndex(of: ":") else { return source }
        let kind = String(source[..<colon]), number = String(source[source.index(after: colon)...])
        return financialRecords().first { $0.kind == kind && $0.number == number }.map { String($0.id) } ?? source
    }

    /// The `procoreSettings` step.
    func changeSettings(_ overrides: JSONValue, step: Scenario.Step) throws -> StepResult {
        setSettings(try merge(settings, overrides.objectValue ?? [:]))
        return StepResult(step: step, passed: true, detail: "Procore simulator settings changed")
    }
}

extension ScenarioWorld {
    func resolve(_ source: String) async -> String { source }

    func unsupported(_ step: Scenario.Step) -> StepResult {
        StepResult(step: step, passed: false, detail: "this step does not apply to the scenario's flow")
    }
}

/// Flow 000's world: SYSPRO and Procore simulators, Procore's webhook dispatcher and a test
/// receiver, and further integrations of the flow (`setup.integrations`, `use:`).
struct ProcoreWorld: ScenarioWorld {
    let env: SimulatedEnvironment
    let data: DemoData
    var clock: ManualClock { env.clock }
    var store: any SyncStateStore { env.store }
    var syspro: SysproBackend? { env.syspro }
    var tokenSystem: String { "procore" }

    func core(_ system: String) -> SimulatorCore { system == "syspro" ? env.sysproCore : env.procoreCore }
    func advance(by duration: Duration) async { await env.advance(by: duration) }
    func settle() async { await env.webhooks.settle() }

    static func execute(_ scenario: Scenario, runner: ScenarioRunner) async throws -> [StepResult] {
        let setup = scenario.setup
        let clock = ManualClock(start: setup.clock)
        let data = try setup.datasetFile.map { try DemoData.load(file: $0) }
            ?? DemoData.generate(purchaseOrders: setup.purchaseOrders, today: clock.now(), budgetPerCostCode: setup.budget)
        var settings = SysproProcoreSettings(costCodes: data.mappings)
        settings.pageSize = 5
        settings = try merge(settings, setup.settings.objectValue ?? [:])
        let store = try SQLiteSyncStore.inMemory()
        let (ownSettings, labels) = (settings, SysproProcore.entityLabels)
        return try await SimulatedEnvironment.run(data: data, clock: clock, store: store, logger: runner.logger) { env in
            if let overrides = setup.procore.objectValue, !overrides.isEmpty {
                await env.procore.setSettings(try merge(await env.procore.settings, overrides))
            }
            if let overrides = setup.syspro.objectValue, !overrides.isEmpty {
                await env.syspro.setSettings(try merge(await env.syspro.settings, overrides))
            }
            let main: @Sendable () -> any SyncRunner = { env.makeFlow(settings: ownSettings, timeout: setup.clientTimeout) }
            return try await withIntegrations(setup.integrations, data: data, settings: ownSettings, env: env, makers: [Scenario.mainIntegration: main]) { makers in
                var state = RunState(systems: setup.systems, labels: labels, makers: makers)
                state.inFlight = ownSettings.concurrentWrites
                return await runner.steps(of: scenario, world: ProcoreWorld(env: env, data: data), state: &state)
            }
        }
    }

    /// Starts a SYSPRO simulator for each further integration — the same data set under its own
    /// company — and hands `body` a way to make each integration's engine.
    static func withIntegrations<R: Sendable>(
        _ integrations: [Scenario.Integration], data: DemoData, settings: SysproProcoreSettings, env: SimulatedEnvironment,
        makers: [String: @Sendable () -> any SyncRunner], _ body: @Sendable ([String: @Sendable () -> any SyncRunner]) async throws -> R
    ) async throws -> R {
        guard let integration = integrations.first else { return try await body(makers) }
        guard case .object(var seed) = data.syspro else { throw SyncError(.invalidConfig, "the data set's SYSPRO part is not an object") }
        seed["company"] = .string(integration.company)
        let (core, backend) = SysproSimulator.makeCore(clock: env.clock)
        try await backend.seed(.object(seed))
        return try await SimulatorHost.withRunning([core], logger: env.logger) { urls in
            guard let base = urls["syspro"] else { throw SyncError(.unexpectedResponse, "the SYSPRO simulator of \(integration.name) did not start") }
            var connection = env.sysproConnection
            connection.enetBase = base + SysproSimulator.enetRoot
            connection.odataRoot = base + SysproSimulator.odataRoot + "/" + integration.company
            connection.companyID = integration.company
            var own = settings
            own.originPrefix = integration.originPrefix
            own.numberPrefix = integration.numberPrefix
            let (ownSettings, ownConnection) = (own, connection)
            var all = makers
            all[integration.name] = {
                SysproProcoreFlow(
                    settings: ownSettings,
                    syspro: SysproClient(connection: ownConnection, transport: HTTPTransport(http: env.http, system: "syspro", clock: env.clock, logger: env.logger)),
                    procore: env.makeProcoreClient(), store: env.store, clock: env.clock, logger: env.logger, scope: integration.name)
            }
            return try await withIntegrations(Array(integrations.dropFirst()), data: data, settings: settings, env: env, makers: all, body)
        }
    }

    func perform(_ step: Scenario.Step, state: inout RunState) async throws -> StepResult {
        switch step.action {
        case .createCostCode(let project, let code, let name, let budget):
            guard let projectID = await env.procore.projectID(number: project) else {
                return StepResult(step: step, passed: false, detail: "no project \(project) in the Procore simulator")
            }
            if let budget {
                try await env.procore.addCostCode(projectID: projectID, fullCode: code, name: name, budget: Money(minor: Int64((budget * 100).rounded())))
            } else {
                try await env.procore.addCostCode(projectID: projectID, fullCode: code, name: name)
            }
            return StepResult(step: step, passed: true, detail: "cost code \(code) created in project \(project)")
        case .addLatePurchaseOrder:
            guard !data.latePurchaseOrder.header.isEmpty else {
                return StepResult(step: step, passed: false, detail: "this data set has no late PO (only the generated demo set does)")
            }
            await env.syspro.insert("PorMasterHdr", rows: [data.latePurchaseOrder.header])
            await env.syspro.insert("PorMasterDetail", rows: data.latePurchaseOrder.lines)
            return StepResult(step: step, passed: true, detail: "PO DEMO-LATE entered in SYSPRO")
        case .procoreSettings(let overrides):
            return try await env.procore.changeSettings(overrides, step: step)
        case .procoreCommitment(let origin, let status):
            let found = await env.procore.setCommitmentStatus(originID: origin, status: status)
            return StepResult(step: step, passed: found, detail: found ? "commitment \(origin) set to \(status) in Procore" : "no commitment with origin_id \(origin)")
        case .procoreBillingPeriod(let project):
            do {
                let numbers = project == "*" ? await env.procore.projectNumbers() : [project]
                var opened: [String] = []
                for number in numbers { opened.append("\(number): period \(try await env.procore.openNextBillingPeriod(projectNumber: number))") }
                return StepResult(step: step, passed: true, detail: "open billing periods closed, next ones opened (\(opened.joined(separator: ", ")))")
            } catch {
                return StepResult(step: step, passed: false, detail: "project \(project): \(error)")
            }
        case .registerHook(let resources, let events, let project, let apiVersion):
            let client = env.makeProcoreClient()
            var scope: [String: JSONValue] = ["company_id": .number(Double(DemoData.companyID))]
            if let project, let id = await env.procore.projectID(number: project) { scope = ["project_id": .number(Double(id))] }
            var body = scope
            body["hook"] = [
                "api_version": .string(apiVersion), "namespace": "ml-connector",
                "destination_url": .string(env.urls["receiver"]! + "/procore/webhooks"),
                "destination_headers": ["Authorization": "Bearer receiver-token"],
            ]
            let hook = try await client.json("POST", "/rest/v1.0/webhooks/hooks", body: .object(body), what: "webhook hook")
            guard let hookID = hook["id"]?.doubleValue.map({ Int64($0) }) else { throw SyncError(.unexpectedResponse, "hook has no id") }
            var triggers: [JSONValue] = []
            for resource in resources {
                for event in events { triggers.append(["resource_name": .string(resource), "event_type": .string(event)]) }
            }
            var bulk = scope
            bulk["api_version"] = .string(apiVersion)
            bulk["triggers"] = .array(triggers)
            let reply = try await client.call("POST", "/rest/v1.0/webhooks/hooks/\(hookID)/triggers/bulk", body: .object(bulk))
            guard reply.status == 200 || reply.status == 207 else {
                return StepResult(step: step, passed: false, detail: "registering triggers answered \(reply.status): \(reply.excerpt)")
            }
            return StepResult(step: step, passed: true, detail: "hook \(hookID) → receiver, \(triggers.count) trigger(s)\(reply.status == 207 ? " (some refused: \(reply.excerpt))" : "")")
        case .receiver(let failNext, let status):
            env.receiver.failNext(failNext, status: status)
            return StepResult(step: step, passed: true, detail: "the receiver refuses the next \(failNext) deliveries with \(status)")
        case .webhooks(let command, let count):
            switch command {
            case "hold": await env.webhooks.hold()
            case "release":
                await env.webhooks.release()
                await env.webhooks.deliverDue()
            case "reorder": await env.webhooks.reorder()
            case "duplicate": await env.webhooks.duplicateNextEvents(count)
            default: await env.webhooks.deliverDue()
            }
            return StepResult(step: step, passed: true, detail: "webhooks \(command)\(command == "duplicate" ? " \(count)" : ""); \(await env.webhooks.pending) event(s) waiting")
        default:
            return unsupported(step)
        }
    }
}
