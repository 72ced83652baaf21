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

/// The result of one step.
public struct StepResult: Sendable {
    public var step: Scenario.Step
    public var passed: Bool
    public var skipped: Bool = false
    public var detail: String
}

/// The result of one scenario.
public struct ScenarioResult: Sendable {
    public var scenario: Scenario
    public var steps: [StepResult]
    public var seconds: Double
    public var passed: Bool { steps.allSatisfy { $0.passed || $0.skipped } }
    public var firstFailure: StepResult? { steps.first { !$0.passed && !$0.skipped } }
}

/// Runs scenarios against the in-process simulators on a simulated clock. Each scenario gets
/// fresh simulators, a fresh in-memory store and a fresh engine; a step that fails stops the
/// scenario (later steps would only report consequences).
public struct ScenarioRunner: Sendable {
    public var logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func run(_ scenario: Scenario) async -> ScenarioResult {
        let started = ContinuousClock.now
        let steps: [StepResult]
        do {
            steps = try await execute(scenario)
        } catch {
            let failed = StepResult(
                step: Scenario.Step(line: 0, name: "setup", action: .expect([])), passed: false, detail: "setup failed: \(error)")
            steps = [failed]
        }
        return ScenarioResult(scenario: scenario, steps: steps, seconds: (ContinuousClock.now - started).timeInterval)
    }

    func execute(_ scenario: Scenario) async throws -> [StepResult] {
        let setup = scenario.setup
        let clock = ManualClock(start: setup.clock)
        let data = try setup.datasetFile.map { try DemoData.load(file: $0) }
            ?? DemoData.generate(purchaseOrders: setup.purchaseOrders, today: clock.now(), budgetPerCostCode: setup.budget)
        let settings = try flowSettings(setup.settings, mappings: data.mappings)
        let store = try SQLiteSyncStore.inMemory()
        let logger = self.logger
        return try await SimulatedEnvironment.run(data: data, clock: clock, store: store, logger: logger) { env in
            if let overrides = setup.procore.objectValue, !overrides.isEmpty {
                await env.procore.setSettings(try merge(await env.procore.settings, overrides))
            }
            if let overrides = setup.syspro.objectValue, !overrides.isEmpty {
                await env.syspro.setSettings(try merge(await env.syspro.settings, overrides))
            }
            let main: @Sendable () -> SysproProcoreFlow = { env.makeFlow(settings: settings, timeout: setup.clientTimeout) }
            return try await withIntegrations(setup.integrations, data: data, settings: settings, env: env, makers: [Scenario.mainIntegration: main]) { makers in
                var state = RunState(flow: main(), systems: setup.systems, timeout: setup.clientTimeout, makers: makers)
                state.inFlight = settings.concurrentWrites
                state.flows[Scenario.mainIntegration] = state.flow
                var results: [StepResult] = []
                for step in scenario.steps {
                    let result: StepResult
                    do {
                        result = try await perform(step, env: env, data: data, settings: settings, state: &state)
                    } catch {
                        result = StepResult(step: step, passed: false, detail: "\(error)")
                    }
                    results.append(result)
                    if !result.passed && !result.skipped { break }
                }
                return results
            }
        }
    }

    /// Starts a SYSPRO simulator for each further integration — the same data set under its own
    /// company — and hands `body` a way to make each integration's engine.
    func withIntegrations<R: Sendable>(
        _ integrations: [Scenario.Integration], data: DemoData, settings: SysproProcoreSettings, env: SimulatedEnvironment,
        makers: [String: @Sendable () -> SysproProcoreFlow], _ body: @Sendable ([String: @Sendable () -> SysproProcoreFlow]) async throws -> R
    ) async throws -> R {
        guard let integration = integrations.first else { return try await body(makers) }
        guard case .object(var seed) = data.syspro else { throw SyncError(.invalidConfig, "the data set's SYSPRO part is not an object") }
        seed["company"] = .string(integration.company)
        let (core, backend) = SysproSimulator.makeCore(clock: env.clock)
        try await backend.seed(.object(seed))
        return try await SimulatorHost.withRunning([core], logger: logger) { urls in
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

    struct RunState {
        /// The engine of the integration steps act on now (`use:` switches it).
        var flow: SysproProcoreFlow
        /// The systems the scenario's flow touches (what `clearFaults: all` clears).
        var systems: [String]
        var timeout: Duration = .seconds(30)
        var last: CycleSummary?
        var restarts = 0
        /// How to make each integration's engine (again, after a crash).
        var makers: [String: @Sendable () -> SysproProcoreFlow]
        var flows: [String: SysproProcoreFlow] = [:]
        var current = Scenario.mainIntegration
        /// Requests of the flow that may be in flight at once (`concurrentWrites`).
        var inFlight = 1

        init(flow: SysproProcoreFlow, systems: [String], timeout: Duration, makers: [String: @Sendable () -> SysproProcoreFlow]) {
            self.flow = flow
            self.systems = systems
            self.timeout = timeout
            self.makers = makers
        }
    }

    func perform(_ step: Scenario.Step, env: SimulatedEnvironment, data: DemoData, settings: SysproProcoreSettings, state: inout RunState) async throws -> StepResult {
        // Procore delivers webhooks after its replies; what the last step set off lands before this one looks
        await env.webhooks.settle()
        switch step.action {
        case .sync(let expectErrors):
            do {
                let summary = try await state.flow.runCycle()
                state.last = summary
                let text = "POs " + describe(summary.purchaseOrders) + "; invoices " + describe(summary.invoices)
                if !summary.errors.isEmpty && !expectErrors {
                    return StepResult(step: step, passed: false, detail: "the cycle reported errors: \(summary.errors.joined(separator: " | "))")
                }
                if summary.errors.isEmpty && expectErrors {
                    return StepResult(step: step, passed: false, detail: "expected the cycle to report an error, it reported none (\(text))")
                }
                return StepResult(step: step, passed: true, detail: text + (summary.errors.isEmpty ? "" : "; errors as expected: \(summary.errors.joined(separator: " | "))"))
            } catch let crash as SimulatedCrash {
                // The process "died": a new engine on the same state and simulators takes over.
                state.flow = state.makers[state.current]?() ?? env.makeFlow(settings: settings, timeout: state.timeout)
                state.flows[state.current] = state.flow
                state.restarts += 1
                state.last = nil
                return StepResult(step: step, passed: true, detail: "\(crash); engine restarted on the same state")
            }
        case .use(let integration):
            guard let flow = state.flows[integration] ?? state.makers[integration]?() else {
                return StepResult(step: step, passed: false, detail: "no integration named \(integration)")
            }
            state.flows[integration] = flow
            state.flow = flow
            state.current = integration
            state.last = nil
            return StepResult(step: step, passed: true, detail: "steps now act on integration \(integration) (state under \(flow.scope))")
        case .replay(let ids, let overrideBudget):
            let summary = try await state.flow.replay(sourceIDs: ids, overrideBudget: overrideBudget)
            state.last = summary
            return StepResult(step: step, passed: summary.errors.isEmpty,
                              detail: "POs " + describe(summary.purchaseOrders) + "; invoices " + describe(summary.invoices)
                                + (summary.errors.isEmpty ? "" : "; errors: \(summary.errors.joined(separator: " | "))"))
        case .advance(let duration):
            await env.advance(by: duration)
            return StepResult(step: step, passed: true, detail: "clock now \(ISO8601DateFormatter().string(from: env.clock.now()))")
        case .fault(let system, let rule):
            core(system, env).faults.add(rule)
            return StepResult(step: step, passed: true, detail: "fault armed on \(system)")
        case .clearFaults(let system):
            for name in system.map({ [$0] }) ?? state.systems { core(name, env).faults.clear() }
            return StepResult(step: step, passed: true, detail: "faults cleared")
        case .crash(let point, let skip):
            await state.flow.armCrash(at: point, skip: skip)
            return StepResult(step: step, passed: true, detail: "the next sync crashes at \(point.rawValue)")
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
        case .insertRows(let table, let rows):
            await env.syspro.insert(table, rows: rows)
            return StepResult(step: step, passed: true, detail: "\(rows.count) row(s) inserted into \(table)")
        case .updateRows(let table, let column, let value, let set):
            let changed = await env.syspro.update(table, where: column, equals: value, set: set)
            return StepResult(step: step, passed: changed > 0, detail: "\(changed) row(s) of \(table) changed" + (changed == 0 ? " — no row has \(column) = \(value.canonicalJSON())" : ""))
        case .deleteRows(let table, let column, let value):
            let removed = await env.syspro.delete(table, where: column, equals: value)
            return StepResult(step: step, passed: removed > 0, detail: "\(removed) row(s) of \(table) deleted")
        case .addLatePurchaseOrder:
            guard !data.latePurchaseOrder.header.isEmpty else {
                return StepResult(step: step, passed: false, detail: "this data set has no late PO (only the generated demo set does)")
            }
            await env.syspro.insert("PorMasterHdr", rows: [data.latePurchaseOrder.header])
            await env.syspro.insert("PorMasterDetail", rows: data.latePurchaseOrder.lines)
            return StepResult(step: step, passed: true, detail: "PO DEMO-LATE entered in SYSPRO")
        case .procoreSettings(let overrides):
            await env.procore.setSettings(try merge(await env.procore.settings, overrides.objectValue ?? [:]))
            return StepResult(step: step, passed: true, detail: "Procore simulator settings changed")
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
        case .expect(let assertions):
            var failures: [String] = []
            for assertion in assertions {
                if let failure = await check(assertion, env: env, state: state) { failures.append(failure) }
            }
            return StepResult(step: step, passed: failures.isEmpty,
                              detail: failures.isEmpty ? "\(assertions.count) assertion(s) hold" : failures.joined(separator: "; "))
        }
    }

    func core(_ system: String, _ env: SimulatedEnvironment) -> SimulatorCore {
        system == "syspro" ? env.sysproCore : env.procoreCore
    }

    func describe(_ c: EntityCounts) -> String {
        "read \(c.read) created \(c.created) updated \(c.updated) skipped \(c.skipped) held \(c.held) released \(c.released) failed \(c.failed)"
    }

    func flowSettings(_ overrides: JSONValue, mappings: [CostCodeMapping]) throws -> SysproProcoreSettings {
        var settings = SysproProcoreSettings(costCodes: mappings)
        settings.pageSize = 5
        return try merge(settings, overrides.objectValue ?? [:])
    }
}

/// Applies JSON overrides to a Codable value.
func merge<T: Codable>(_ value: T, _ overrides: [String: JSONValue]) throws -> T {
    try JSONValue.object(overrides).applied(to: value)
}
