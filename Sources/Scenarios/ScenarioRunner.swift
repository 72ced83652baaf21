import ClientKit
import ConnectorApp
import Flows
import Foundation
import Logging
import SimulatorKit
import SyncEngine
import SyncStore
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
/// scenario (later steps would only report consequences). What every flow shares (sync, replay,
/// crash, faults, the clock, SYSPRO rows, the engine-side assertions) is here; a flow's own steps
/// and assertions are its ``ScenarioWorld``'s.
public struct ScenarioRunner: Sendable {
    public var logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func run(_ scenario: Scenario) async -> ScenarioResult {
        let started = ContinuousClock.now
        let steps: [StepResult]
        do {
            switch scenario.setup.flow {
            case ProcurifySyspro.name: steps = try await ProcurifyWorld.execute(scenario, runner: self)
            case ProcoreSAPB1.name: steps = try await ProcoreSAPB1World.execute(scenario, runner: self)
            case ProcoreCloudSuite.name: steps = try await ProcoreCloudSuiteWorld.execute(scenario, runner: self)
            case SysproCin7.name: steps = try await SysproCin7World.execute(scenario, runner: self)
            default: steps = try await ProcoreWorld.execute(scenario, runner: self)
            }
        } catch {
            let failed = StepResult(
                step: Scenario.Step(line: 0, name: "setup", action: .expect([])), passed: false, detail: "setup failed: \(error)")
            steps = [failed]
        }
        return ScenarioResult(scenario: scenario, steps: steps, seconds: (ContinuousClock.now - started).timeInterval)
    }

    /// Runs a one-integration world: the main engine made by `main` (again after a crash),
    /// `inFlight` requests of it in flight at once.
    func steps(of scenario: Scenario, world: some ScenarioWorld, main: @escaping @Sendable () -> any SyncRunner, inFlight: Int) async -> [StepResult] {
        var state = RunState(systems: scenario.setup.systems, labels: scenario.setup.labels, makers: [Scenario.mainIntegration: main])
        state.inFlight = inFlight
        return await steps(of: scenario, world: world, state: &state)
    }

    /// Runs the steps in order until one fails.
    func steps(of scenario: Scenario, world: some ScenarioWorld, state: inout RunState) async -> [StepResult] {
        var results: [StepResult] = []
        for step in scenario.steps {
            let result: StepResult
            do {
                result = try await perform(step, world: world, state: &state)
            } catch {
                result = StepResult(step: step, passed: false, detail: "\(error)")
            }
            results.append(result)
            if !result.passed && !result.skipped { break }
        }
        return results
    }

    func perform(_ step: Scenario.Step, world: some ScenarioWorld, state: inout RunState) async throws -> StepResult {
        // what the last step set off in the background (Procore's webhooks) lands before this one looks
        await world.settle()
        switch step.action {
        case .sync(let expectErrors, let errorContains):
            do {
                let summary = try await state.flow.runCycle()
                state.last = summary
                let text = describe(summary, labels: state.labels)
                if let errorContains, !summary.errors.contains(where: { $0.contains(errorContains) }) {
                    return StepResult(step: step, passed: false, detail: "expected an error mentioning '\(errorContains)', the cycle reported: \(summary.errors.isEmpty ? "none" : summary.errors.joined(separator: " | "))")
                }
                if !summary.errors.isEmpty && !expectErrors {
                    return StepResult(step: step, passed: false, detail: "the cycle reported errors: \(summary.errors.joined(separator: " | "))")
                }
                if summary.errors.isEmpty && expectErrors {
                    return StepResult(step: step, passed: false, detail: "expected the cycle to report an error, it reported none (\(text))")
                }
                return StepResult(step: step, passed: true, detail: text + (summary.errors.isEmpty ? "" : "; errors as expected: \(summary.errors.joined(separator: " | "))"))
            } catch let crash as SimulatedCrash {
                // The process "died": a new engine on the same state and simulators takes over.
                state.restart()
                return StepResult(step: step, passed: true, detail: "\(crash); engine restarted on the same state")
            } catch {
                // the cycle stopped (a refused logon, an unreadable answer): expected or a failure
                state.last = nil
                let text = "\(error)"
                if let errorContains, !text.contains(errorContains) {
                    return StepResult(step: step, passed: false, detail: "expected an error mentioning '\(errorContains)', the cycle stopped with: \(text)")
                }
                return StepResult(step: step, passed: expectErrors, detail: (expectErrors ? "the cycle stopped as expected: " : "the cycle stopped: ") + text)
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
            var resolved: [String] = []
            for id in ids { resolved.append(await world.resolve(id)) }
            let summary = try await state.flow.replay(sourceIDs: resolved, overrideBudget: overrideBudget)
            state.last = summary
            return StepResult(step: step, passed: summary.errors.isEmpty,
                              detail: describe(summary, labels: state.labels) + (summary.errors.isEmpty ? "" : "; errors: \(summary.errors.joined(separator: " | "))"))
        case .advance(let duration):
            await world.advance(by: duration)
            return StepResult(step: step, passed: true, detail: "clock now \(ISO8601DateFormatter().string(from: world.clock.now()))")
        case .fault(let system, let rule):
            world.core(system).faults.add(rule)
            return StepResult(step: step, passed: true, detail: "fault armed on \(system)")
        case .clearFaults(let system):
            for name in system.map({ [$0] }) ?? state.systems { world.core(name).faults.clear() }
            return StepResult(step: step, passed: true, detail: "faults cleared")
        case .crash(let point, let skip):
            await state.flow.armCrash(at: point, skip: skip)
            return StepResult(step: step, passed: true, detail: "the next sync crashes at \(point.rawValue)")
        case .insertRows(let table, let rows):
            await (try sysproOf(world)).insert(table, rows: rows)
            return StepResult(step: step, passed: true, detail: "\(rows.count) row(s) inserted into \(table)")
        case .updateRows(let table, let column, let value, let set):
            let changed = await (try sysproOf(world)).update(table, where: column, equals: value, set: set)
            return StepResult(step: step, passed: changed > 0, detail: "\(changed) row(s) of \(table) changed" + (changed == 0 ? " — no row has \(column) = \(value.canonicalJSON())" : ""))
        case .deleteRows(let table, let column, let value):
            let removed = await (try sysproOf(world)).delete(table, where: column, equals: value)
            return StepResult(step: step, passed: removed > 0, detail: "\(removed) row(s) of \(table) deleted")
        case .expect(let assertions):
            var failures: [String] = []
            for assertion in assertions {
                if let failure = await check(assertion, world: world, state: state) { failures.append(failure) }
            }
            return StepResult(step: step, passed: failures.isEmpty,
                              detail: failures.isEmpty ? "\(assertions.count) assertion(s) hold" : failures.joined(separator: "; "))
        default:
            return try await world.perform(step, state: &state)
        }
    }

    /// The world's SYSPRO; the parser only lets SYSPRO row steps into flows that have one.
    func sysproOf(_ world: some ScenarioWorld) throws -> SysproBackend {
        guard let syspro = world.syspro else { throw SyncError(.invalidConfig, "this flow has no SYSPRO to change rows in") }
        return syspro
    }

    /// `purchaseOrders read 3 created 2 …; bills read …`, in the flow's entity order.
    func describe(_ summary: CycleSummary, labels: [String]) -> String { Self.describe(summary, labels: labels) }

    static func describe(_ summary: CycleSummary, labels: [String]) -> String {
        labels.map { label in
            let c = summary[label]
            return "\(label) read \(c.read) created \(c.created) updated \(c.updated) skipped \(c.skipped) held \(c.held) released \(c.released) failed \(c.failed)"
        }.joined(separator: "; ")
    }
}

/// What the steps of one scenario run act on and remember.
struct RunState {
    /// The engine of the integration steps act on now (`use:` switches it).
    var flow: any SyncRunner
    /// The systems the scenario's flow touches (what `clearFaults: all` clears).
    var systems: [String]
    /// The flow's entity labels, in the order a cycle handles them (for step details).
    var labels: [String]
    var last: CycleSummary?
    var restarts = 0
    /// How to make each integration's engine (again, after a crash).
    var makers: [String: @Sendable () -> any SyncRunner]
    var flows: [String: any SyncRunner] = [:]
    var current = Scenario.mainIntegration
    /// Requests of the flow that may be in flight at once (`concurrentWrites`).
    var inFlight = 1

    init(systems: [String], labels: [String], makers: [String: @Sendable () -> any SyncRunner]) {
        self.flow = makers[Scenario.mainIntegration]!()
        self.systems = systems
        self.labels = labels
        self.makers = makers
        self.flows[Scenario.mainIntegration] = flow
    }

    /// The process "died": a new engine of the current integration on the same state and simulators.
    mutating func restart() {
        if let make = makers[current] { flow = make() }
        flows[current] = flow
        restarts += 1
        last = nil
    }
}

/// Applies JSON overrides to a Codable value.
func merge<T: Codable>(_ value: T, _ overrides: [String: JSONValue]) throws -> T {
    try JSONValue.object(overrides).applied(to: value)
}
