import ConnectorApp
import Flows
import Foundation
import SimulatorKit
import SyncEngine

extension ScenarioRunner {
    /// - Returns: `nil` when the assertion holds, otherwise what was expected and what was found.
    func check(_ assertion: Scenario.Assertion, world: some ScenarioWorld, state: RunState) async -> String? {
        do {
            return try await evaluate(assertion, world: world, state: state)
        } catch {
            return "could not evaluate: \(error)"
        }
    }

    private func evaluate(_ assertion: Scenario.Assertion, world: some ScenarioWorld, state: RunState) async throws -> String? {
        let flow = state.flow.scope  // the integration steps act on now
        switch assertion {
        case .quarantine(let named, let status, let code, let reasonContains):
            let source = await world.resolve(named)
            let entries = try await world.store.quarantined(flow: flow, status: nil).filter { $0.sourceID == source }
            guard let entry = entries.first else { return "expected \(source) in quarantine, it is not there" }
            if let status, entry.status.rawValue != status { return "\(source): expected quarantine status \(status), found \(entry.status.rawValue)" }
            if let code, entry.errorCode != code { return "\(source): expected error code \(code), found \(entry.errorCode) (\(entry.reason))" }
            if let reasonContains, !entry.reason.contains(reasonContains) {
                return "\(source): expected the reason to mention '\(reasonContains)', it says: \(entry.reason)"
            }
            return nil
        case .quarantineCount(let count, let status, let code):
            let entries = try await world.store.quarantined(flow: flow, status: status.flatMap(QuarantineEntry.Status.init))
                .filter { code == nil || $0.errorCode == code }
            guard entries.count != count else { return nil }
            let listed = entries.prefix(4).map { "\($0.sourceID) [\($0.errorCode): \($0.reason.prefix(120))]" }
            return "expected \(count) quarantined record(s)\(status.map { " \($0)" } ?? "")\(code.map { " with code \($0)" } ?? ""), found \(entries.count): \(listed.joined(separator: "; "))\(entries.count > 4 ? " …" : "")"
        case .audit(let named, let outcome, let count, let outcomes, let warningContains):
            var source = named
            if let named { source = await world.resolve(named) }
            let rows = try await world.store.audit(AuditFilter(outcome: outcome.flatMap(Outcome.init), sourceID: source, flow: flow, limit: 1_000_000))
            if let count, rows.count != count {
                return "expected \(count) audit row(s)\(source.map { " for \($0)" } ?? "")\(outcome.map { " with outcome \($0)" } ?? ""), found \(rows.count)"
            }
            if let outcomes, rows.map(\.outcome.rawValue) != outcomes {
                return "expected audit outcomes \(outcomes) for \(source ?? "all"), found \(rows.map(\.outcome.rawValue))"
            }
            if let warningContains, !rows.contains(where: { $0.warning?.contains(warningContains) == true }) {
                return "expected an audit row\(source.map { " for \($0)" } ?? "") with a warning mentioning '\(warningContains)', found: \(rows.compactMap(\.warning).prefix(3))"
            }
            return nil
        case .watermark(let entity, let equals):
            let found = try await world.store.watermark(flow: flow, entity: entity)
            return found == equals ? nil : "expected the \(entity) watermark at \(equals ?? "nothing"), found \(found ?? "nothing")"
        case .summary(let path, let equals):
            guard let summary = state.last else { return "no sync or replay has finished yet to read \(path) from" }
            let parts = path.split(separator: ".").map(String.init)
            let found = summary[parts[0]].field(parts[1]) ?? -1
            return found == equals ? nil : "expected \(path) = \(equals) in the last cycle, found \(found)"
        case .journal(let system, let method, let path, let status, let count, let atLeast, let atMost):
            let entries = world.core(system).journal.all.filter {
                (method == nil || $0.method == method!.uppercased()) && (path == nil || FaultRule.glob(path!, matches: $0.path))
                    && (status == nil || $0.status == status!)
            }
            let what = "\(system) requests\(method.map { " \($0)" } ?? "")\(path.map { " \($0)" } ?? "")\(status.map { " answered \($0)" } ?? "")"
            if let count, entries.count != count { return "expected \(count) \(what), found \(entries.count)" }
            if let atLeast, entries.count < atLeast { return "expected at least \(atLeast) \(what), found \(entries.count)" }
            if let atMost, entries.count > atMost { return "expected at most \(atMost) \(what), found \(entries.count)" }
            return nil
        case .slept(let seconds):
            let total = world.clock.sleeps.reduce(0) { $0 + $1.timeInterval }
            return total >= seconds ? nil : "expected the engine to back off at least \(Int(seconds)) s in all, it waited \(Int(total)) s"
        case .noExpiredTokenReused:
            var rejections: [String: Int] = [:]
            for entry in world.core(world.tokenSystem).journal.all where entry.status == 401 { rejections[entry.credential ?? "-", default: 0] += 1 }
            // Requests already in flight when the token died carry it too (up to `concurrentWrites`);
            // any more means a token was sent again after it was refused.
            let reused = rejections.filter { $0.value > state.inFlight }
            return reused.isEmpty ? nil : "a rejected \(world.tokenSystem) token was sent again: \(reused.values.max()!) requests carried the same expired token, more than the \(state.inFlight) that can be in flight at once (token refresh is not working)"
        default:
            return try await world.evaluate(assertion, state: state)
        }
    }
}

extension ProcoreWorld {
    func evaluate(_ assertion: Scenario.Assertion, state: RunState) async throws -> String? {
        switch assertion {
        case .commitments(let count):
            let found = await env.procore.commitmentCount
            return found == count ? nil : "expected \(count) commitments in Procore, found \(found)"
        case .requisitions(let count):
            let found = await env.procore.requisitionCount
            return found == count ? nil : "expected \(count) requisitions in Procore, found \(found)"
        case .commitment(let origin, let exists, let total, let lines):
            let matches = await env.procore.allCommitments().filter { $0.originID == origin }
            if !exists { return matches.isEmpty ? nil : "expected no commitment with origin_id \(origin), found \(matches.count)" }
            guard matches.count == 1, let commitment = matches.first else {
                return "expected one commitment with origin_id \(origin), found \(matches.count)"
            }
            if let total, commitment.total.decimalString != total {
                return "commitment \(origin): expected grand total \(total), found \(commitment.total.decimalString)"
            }
            if let lines, commitment.lines != lines { return "commitment \(origin): expected \(lines) line items, found \(commitment.lines)" }
            return nil
        case .requisition(let origin, let exists, let total, let commitmentOrigin):
            let matches = await env.procore.allRequisitions().filter { $0.originID == origin }
            if !exists { return matches.isEmpty ? nil : "expected no requisition with origin_id \(origin), found \(matches.count)" }
            guard matches.count == 1, let requisition = matches.first else {
                return "expected one requisition with origin_id \(origin), found \(matches.count)"
            }
            if let total, requisition.total.decimalString != total {
                return "requisition \(origin): expected total \(total), found \(requisition.total.decimalString)"
            }
            if let commitmentOrigin {
                let parent = await env.procore.allCommitments().first { $0.id == requisition.commitmentID }
                if parent?.originID != commitmentOrigin {
                    return "requisition \(origin): expected it on commitment \(commitmentOrigin), found it on \(parent?.originID ?? "?")"
                }
            }
            return nil
        case .noRepeatedPost:
            // After a POST for a record succeeded, any further POST of the same record is a blind
            // re-write (Procore may refuse it with 422, but the engine should have looked first).
            // Retries of 429/503 answers are fine: those requests were never processed.
            var created: Set<String> = []
            var repeated: [String] = []
            for entry in env.procoreCore.journal.all where entry.method == "POST" {
                guard let origin = entry.origin else { continue }
                let key = "\(Self.resource(entry.path)) \(origin)"
                if [429, 503].contains(entry.status) { continue }
                if created.contains(key) { repeated.append("\(key) (answered \(entry.status))") }
                if (200..<300).contains(entry.status) { created.insert(key) }
            }
            return repeated.isEmpty ? nil : "a record was POSTed again after it had been created: \(repeated.prefix(5).joined(separator: ", ")) — the engine must look it up by origin_id before writing"
        case .noDuplicates:
            let commitments = await env.procore.allCommitments().compactMap(\.originID)
            let requisitions = await env.procore.allRequisitions().compactMap(\.originID)
            let dupes = Dictionary(grouping: commitments + requisitions, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            return dupes.isEmpty ? nil : "duplicate records in Procore for: \(dupes.prefix(5).joined(separator: ", "))"
        case .converged:
            return try await converged()
        case .received(let resource, let event, let count, let distinct, let atLeast):
            let accepted = env.receiver.accepted.compactMap(\.body).filter {
                (resource == nil || ($0["resource_name"] ?? $0["resource_type"])?.stringValue == resource)
                    && (event == nil || ($0["event_type"] ?? $0["reason"])?.stringValue == event)
            }
            let ids = Set(accepted.compactMap { ($0["ulid"] ?? $0["id"])?.canonicalJSON() })
            let what = "webhook deliveries accepted by the receiver\(resource.map { " for \($0)" } ?? "")\(event.map { " (\($0))" } ?? "")"
            if let count, accepted.count != count { return "expected \(count) \(what), found \(accepted.count)" }
            if let distinct, ids.count != distinct { return "expected \(distinct) distinct events among the \(what), found \(ids.count)" }
            if let atLeast, accepted.count < atLeast { return "expected at least \(atLeast) \(what), found \(accepted.count)" }
            return nil
        case .deliveries(let outcome, let count, let atLeast):
            let attempts = await env.webhooks.attempts.filter { outcome == nil || $0.outcome.rawValue == outcome }
            let what = "delivery attempts\(outcome.map { " with outcome \($0)" } ?? "")"
            if let count, attempts.count != count { return "expected \(count) \(what), found \(attempts.count)" }
            if let atLeast, attempts.count < atLeast { return "expected at least \(atLeast) \(what), found \(attempts.count)" }
            return nil
        default:
            return "this assertion does not apply to flow \(SysproProcoreFlow.name)"
        }
    }

    /// Source and destination agree: every SYSPRO PO and invoice is in Procore once with the
    /// source amount, or held in quarantine; nothing in Procore lacks a source.
    func converged() async throws -> String? {
        var problems: [String] = []
        let held = Set(try await env.store.quarantined(flow: SysproProcoreFlow.name, status: .held).map(\.sourceID))  // the main integration
        let commitments = Dictionary(grouping: await env.procore.allCommitments(), by: { $0.originID ?? "" })
        let lines = Dictionary(grouping: await env.syspro.rows("PorMasterDetail"), by: { $0["PurchaseOrder"]?.stringValue ?? "" })
        var sourceOrigins = Set<String>()
        for header in await env.syspro.rows("PorMasterHdr") {
            guard let po = header["PurchaseOrder"]?.stringValue else { continue }
            let origin = "SYSPRO-PO-\(po)"
            sourceOrigins.insert(origin)
            if held.contains(po) { continue }
            guard let found = commitments[origin], found.count == 1 else {
                problems.append("PO \(po): \(commitments[origin]?.count ?? 0) commitments in Procore and not held")
                continue
            }
            let expected = (lines[po] ?? []).reduce(Int64(0)) {
                $0 + Int64((($1["MOrderQty"]?.doubleValue ?? 0) * ($1["MPrice"]?.doubleValue ?? 0) * 100).rounded())
            }
            if found[0].total.minor != expected { problems.append("PO \(po): Procore total \(found[0].total), SYSPRO \(Money(minor: expected))") }
        }
        for origin in commitments.keys where !sourceOrigins.contains(origin) { problems.append("commitment \(origin) has no SYSPRO PO") }
        let requisitions = Dictionary(grouping: await env.procore.allRequisitions(), by: { $0.originID ?? "" })
        var invoiceOrigins = Set<String>()
        for invoice in await env.syspro.rows("ApInvoice") {
            guard let supplier = invoice["Supplier"]?.stringValue, let number = invoice["Invoice"]?.stringValue else { continue }
            let origin = "SYSPRO-AP-\(supplier)-\(number)"
            invoiceOrigins.insert(origin)
            if held.contains("\(supplier)/\(number)") { continue }
            guard let found = requisitions[origin], found.count == 1 else {
                problems.append("invoice \(supplier)/\(number): \(requisitions[origin]?.count ?? 0) requisitions in Procore and not held")
                continue
            }
            if found[0].total != Money.parse(invoice["OrigInvValue"]) {
                problems.append("invoice \(supplier)/\(number): Procore \(found[0].total), SYSPRO \(invoice["OrigInvValue"]?.canonicalJSON() ?? "?")")
            }
        }
        for origin in requisitions.keys where !invoiceOrigins.contains(origin) { problems.append("requisition \(origin) has no SYSPRO invoice") }
        return Scenario.notConverged(problems)
    }

    /// `/rest/v1.0/purchase_order_contracts/123/line_items` → `purchase_order_contracts/*/line_items`.
    static func resource(_ path: String) -> String {
        path.split(separator: "/").dropFirst(2).map { $0.allSatisfy(\.isNumber) ? "*" : String($0) }.joined(separator: "/")
    }
}
