import ClientKit
import Flows
import Foundation
import Logging
import SyncEngine
import SyncStore

/// `ml-connector bench syspro-procore --simulated-day`: 24 simulated hours of 5-minute cycles
/// against the in-process simulators on one simulated clock — every cycle a fresh Procore token
/// and SYSPRO logon, tokens and sessions expiring as the hours pass, a new PO entered in SYSPRO
/// every hour — and the wall time that took. What it proves: a day of polling costs seconds, and
/// how many requests of Procore's hourly budget a quiet hour spends.
public enum SimulatedDay {
    public struct Figures: Sendable, Codable {
        public var cycles: Int
        public var simulatedHours: Double
        public var wallSeconds: Double
        public var created: Int
        public var held: Int
        public var cyclesWithErrors: Int
        public var procoreRequests: Int
        /// The most Procore requests any hour of the simulated clock saw (its budget is 3,600 an
        /// hour; 429s count, as Procore counts them).
        public var procoreRequestsBusiestHour: Int
        /// Simulated hours the first cycle took (an initial load larger than the hourly budget
        /// spreads over hours of waiting for the window).
        public var firstCycleHours: Double
        public var procoreTokens: Int
        public var sysproLogons: Int
    }

    public static func run(
        purchaseOrders: Int, cycleMinutes: Int = 5, hours: Int = 24, logger: Logger, output: @Sendable (String) -> Void
    ) async throws -> Figures {
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_796_000_000))
        let data = DemoData.generate(purchaseOrders: purchaseOrders, today: clock.now())
        let settings = {
            var settings = SysproProcoreSettings(costCodes: data.mappings)
            settings.budgetPolicy = .postAndWarn
            return settings
        }()
        return try await SimulatedEnvironment.run(data: data, clock: clock, store: try SQLiteSyncStore.inMemory(), logger: logger) { env in
            let stats = TransportStats()
            let flow = env.makeFlow(settings: settings, stats: stats)
            let cycles = hours * 60 / cycleMinutes
            var figures = Figures(
                cycles: cycles, simulatedHours: Double(hours), wallSeconds: 0, created: 0, held: 0, cyclesWithErrors: 0, procoreRequests: 0,
                procoreRequestsBusiestHour: 0, firstCycleHours: 0, procoreTokens: 0, sysproLogons: 0)
            let started = ContinuousClock.now
            let dayStart = clock.now()
            for cycle in 0..<cycles {
                if cycle > 0, cycle % (60 / cycleMinutes) == 0 { await enterPurchaseOrder(number: cycle, from: data, env: env) }
                let summary = try await flow.runCycle()
                if cycle == 0 { figures.firstCycleHours = clock.now().timeIntervalSince(dayStart) / 3600 }
                figures.created += summary.total.created
                figures.held = summary.total.held
                if !summary.errors.isEmpty { figures.cyclesWithErrors += 1 }
                await env.advance(by: .seconds(cycleMinutes * 60))
            }
            let perHour = Dictionary(grouping: env.procoreCore.journal.all, by: { Int($0.at.timeIntervalSince1970 / 3600) })
            figures.procoreRequestsBusiestHour = perHour.values.map(\.count).max() ?? 0
            figures.simulatedHours = clock.now().timeIntervalSince(dayStart) / 3600
            figures.wallSeconds = (ContinuousClock.now - started).timeInterval
            figures.procoreRequests = env.procoreCore.journal.all.count
            figures.procoreTokens = await env.procore.tokensIssued
            figures.sysproLogons = await env.syspro.logons
            output(String(format: "Simulated day: %d cycles of %d min, %.1f simulated hours (the first cycle %.1f h), in %.1f s of wall time",
                          cycles, cycleMinutes, figures.simulatedHours, figures.firstCycleHours, figures.wallSeconds))
            output("  created \(figures.created), held at the end \(figures.held), cycles with errors \(figures.cyclesWithErrors)")
            output("  Procore: \(figures.procoreRequests) requests, busiest clock hour \(figures.procoreRequestsBusiestHour) (budget 3,600), \(figures.procoreTokens) tokens; SYSPRO: \(figures.sysproLogons) logons")
            return figures
        }
    }

    /// A new PO entered in SYSPRO today: a copy of the data set's late PO under a new number.
    static func enterPurchaseOrder(number: Int, from data: DemoData, env: SimulatedEnvironment) async {
        let po = "DAY-\(number)"
        let day = DemoData.dayString(env.clock.now())
        var header = data.latePurchaseOrder.header
        header["PurchaseOrder"] = .string(po)
        header["OrderEntryDate"] = .string(day)
        let lines = data.latePurchaseOrder.lines.map { line in
            var copy = line
            copy["PurchaseOrder"] = .string(po)
            return copy
        }
        await env.syspro.insert("PorMasterHdr", rows: [header])
        await env.syspro.insert("PorMasterDetail", rows: lines)
    }
}
