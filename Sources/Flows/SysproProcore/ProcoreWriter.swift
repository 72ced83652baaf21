import Foundation
import ClientKit
import ProcoreClient
import SyncEngine
import SysproClient

/// Flow 000's writer. Resolving a PO against Procore (project, vendor, cost codes, budget) and writing it:
/// always look up by `origin_id` first, then create or complete what is missing.
extension SysproProcore {
    struct CommitmentPlan: Sendable {
        var projectID: Int64
        var projectName: String
        var vendorID: Int64
        var lineCostCodes: [Int64]  // per order line
        var lineItemTypeID: Int64?
        var warning: String?
    }

    func planCommitment(_ order: SysproPurchaseOrder, overrideBudget: Bool) async throws -> CommitmentPlan {
        let label = "PO \(order.number)"
        let project = try await project(number: order.job, label: label)
        let vendor = try await vendor(supplier: order.supplier, label: label)
        let codes = try await costCodes(project: project.id)
        var lineCodes: [Int64] = []
        for line in order.lines {
            let lineLabel = "\(label) line \(line.line)"
            if settings.validateGLAccounts, try await !glExists(line.glCode) {
                throw SyncError(.invalidRecord, "\(lineLabel): GL account \(line.glCode) does not exist in SYSPRO's GenMaster. Correct the line's GL code in SYSPRO.")
            }
            guard let full = settings.costCode(gl: line.glAccount, costCenter: line.costCenter, project: order.job) else {
                throw SyncError(.missingCostCode, "\(lineLabel): no cost code is mapped for GL account \(line.glAccount) / cost center \(line.costCenter) (project \(order.job) \(project.name)). Add the pair to costCodes in the config, then run `ml-connector replay \(order.number)`.")
            }
            guard let id = codes[full] else {
                throw SyncError(.missingCostCode, "\(lineLabel): GL account \(line.glAccount) / cost center \(line.costCenter) maps to cost code \(full), which does not exist in Procore project \(order.job) (\(project.name)). Create cost code \(full) in that project; the PO is released by itself on the next cycle.")
            }
            lineCodes.append(id)
        }
        var warning: String?
        if settings.budgetPolicy != .off {
            let budget = try await budget(project: project.id)
            var perCode: [Int64: Money] = [:]
            for (line, code) in zip(order.lines, lineCodes) { perCode[code, default: .zero] = perCode[code, default: .zero] + line.amount }
            var over: [String] = []
            for (code, amount) in perCode.sorted(by: { $0.key < $1.key }) {
                let row = budget[code] ?? (revised: .zero, committed: .zero)
                let remaining = row.revised - row.committed
                if amount > remaining {
                    let name = codes.first { $0.value == code }?.key ?? String(code)
                    over.append("cost code \(name) needs \(amount) but has \(remaining) left of \(row.revised)")
                }
            }
            if !over.isEmpty {
                let text = "\(label) exceeds the budget of project \(order.job): \(over.joined(separator: "; "))"
                if settings.budgetPolicy == .hold && !overrideBudget {
                    throw SyncError(.overBudget, "\(text). Raise the budget in Procore (the PO is re-checked every cycle) or run `ml-connector replay \(order.number) --override-budget`.")
                }
                warning = text + (overrideBudget ? " (posted by replay --override-budget)" : " (posted under policy post-and-warn)")
            }
        }
        let plan = CommitmentPlan(
            projectID: project.id, projectName: project.name, vendorID: vendor, lineCostCodes: lineCodes,
            lineItemTypeID: try await lineItemType(), warning: warning)
        // Reserved now, not after the write: the runtime plans one record at a time but lets the
        // writes overlap, so the next PO's check must already count this one. A write that then
        // fails leaves the reservation for the rest of the cycle (conservative).
        reserve(order, plan: plan)
        return plan
    }

    /// Writes a PO as a commitment with Procore's sync actions, which upsert by `origin_id`: the
    /// header in one call, the lines in one more. No look-up is needed first — a retry, replay or
    /// crash recovery finds the commitment by its `origin_id` inside Procore — and the answers
    /// carry the records, so nothing is read back. 2 requests per new PO, whatever its lines.
    ///
    /// An amendment (the PO changed after it was written) reads the commitment's lines once and
    /// sends only those that differ, so an approved commitment whose lines did not change is not
    /// refused for a header-only edit; a line change Procore refuses (an approved, locked
    /// schedule of values) holds the PO with Procore's words while its cross-reference stays done.
    func writeCommitment(_ order: SysproPurchaseOrder, plan: CommitmentPlan, originID: String, previous: CrossReference?) async throws -> Written {
        let what = "commitment for PO \(order.number)"
        var existing = previous?.state == .done ? previous?.destinationID.flatMap(CommitmentRef.init) : nil
        if let existing, existing.projectID != plan.projectID {
            throw SyncError(.rejected, "PO \(order.number) moved from Procore project \(existing.projectID) to job \(order.job) (project \(plan.projectID), \(plan.projectName)); its commitment \(existing.commitmentID) stays in the first project, because a Procore commitment cannot change project and a second one would commit the money twice. Move the lines back to the first job in SYSPRO, or void commitment \(existing.commitmentID) in Procore and run `ml-connector replay \(order.number)` after clearing its cross-reference.")
        }
        if previous?.state == .pending {
            // An earlier attempt may have landed: look it up, as ARCHITECTURE.md asks of a pending
            // intent, so the audit can say "completed" rather than "created".
            let found = try await procore.list(
                "/rest/v1.0/purchase_order_contracts",
                query: [("project_id", String(plan.projectID)), ("filters[origin_id]", originID)], what: what)
            if let id = found.first?["id"].flatMap(Self.int64) { existing = CommitmentRef(projectID: plan.projectID, commitmentID: id) }
        }
        var header: [String: JSONValue] = [
            "number": .string(settings.numberPrefix + order.number), "title": .string("PO \(settings.numberPrefix)\(order.number)"),
            "vendor_id": .number(Double(plan.vendorID)),
            "description": .string("Imported from SYSPRO PO \(order.number), supplier \(order.supplier)"),
            "contract_date": .string(order.entryDate), "delivery_date": order.dueDate.map { .string($0) } ?? .null,
            "origin_id": .string(originID), "origin_code": .string(order.number), "origin_data": "syspro:PorMasterHdr",
        ]
        if let existing {
            header["id"] = .number(Double(existing.commitmentID))  // matched by id: Procore's documented way for a known record
        } else {
            header["status"] = "Draft"  // a new commitment only: an amendment never resets Procore's approval
        }
        let headerAnswer = try await procore.json(
            "PATCH", "/rest/v1.0/purchase_order_contracts/sync",
            body: ["project_id": .number(Double(plan.projectID)), "updates": [.object(header)]], what: "sync \(what)")
        let commitment = try Self.syncedEntity(headerAnswer, what: what, order: order.number)
        guard let commitmentID = commitment["id"].flatMap(Self.int64) else {
            throw SyncError(.unexpectedResponse, "Procore synced \(what) but answered no id")
        }

        var lines: [JSONValue] = []
        for (line, costCode) in zip(order.lines, plan.lineCostCodes) {
            var body: [String: JSONValue] = [
                "description": .string(line.description), "cost_code_id": .number(Double(costCode)),
                "quantity": .string(String(line.quantity)), "unit_cost": .string(String(line.price)),
                "amount": .string(line.amount.decimalString), "origin_id": .string("\(originID)-\(line.line)"),
            ]
            if let uom = line.uom { body["uom"] = .string(uom) }
            if let type = plan.lineItemTypeID { body["line_item_type_id"] = .number(Double(type)) }
            lines.append(.object(body))
        }
        var toSend = lines
        if existing != nil {
            let current = try await procore.list(
                "/rest/v1.0/purchase_order_contracts/\(commitmentID)/line_items", query: [("project_id", String(plan.projectID))],
                what: "line items of \(what)")
            var byOrigin: [String: JSONValue] = [:]
            for line in current { if let origin = line["origin_id"]?.stringValue { byOrigin[origin] = line } }
            toSend = lines.filter { line in
                guard let origin = line["origin_id"]?.stringValue, let now = byOrigin[origin] else { return true }
                return Money.parse(now["amount"]) != Money.parse(line["amount"])
                    || now["cost_code"]?["id"].flatMap(Self.int64) != line["cost_code_id"].flatMap(Self.int64)
                    || now["quantity"].flatMap(Self.double) != line["quantity"].flatMap(Self.double)
            }
        }
        if !toSend.isEmpty {
            let answer = try await procore.json(
                "PATCH", "/rest/v1.0/purchase_order_contracts/\(commitmentID)/line_items/sync",
                body: ["project_id": .number(Double(plan.projectID)), "updates": .array(toSend)], what: "sync the lines of \(what)")
            try Self.checkSynced(answer, sent: toSend.count, what: "the lines of \(what) (commitment \(commitmentID))", order: order.number)
        }
        let outcome: Outcome = existing == nil ? .created : .updated
        let response: String
        switch (existing, toSend.count) {
        case (nil, _): response = "created commitment \(commitmentID) with \(lines.count) lines"
        case (_, 0): response = "commitment \(commitmentID): header synced, lines unchanged"
        default: response = "commitment \(commitmentID): header synced, \(toSend.count) of \(lines.count) lines changed"
        }
        return Written(
            outcome: outcome, destinationID: CommitmentRef(projectID: plan.projectID, commitmentID: commitmentID).text,
            transformed: ["project_id": .number(Double(plan.projectID)), "purchase_order_contract": .object(header), "line_items": .array(lines)],
            response: response, warning: plan.warning)
    }

    /// The one entity a single-item sync call answered, or its error entry as a hold reason.
    static func syncedEntity(_ answer: JSONValue, what: String, order: String) throws -> JSONValue {
        if let refusal = answer["errors"]?.arrayValue?.first {
            throw SyncError(.rejected, "Procore refused \(what): \(Self.errorText(refusal)). Correct it in Procore or SYSPRO, then run `ml-connector replay \(order)`.")
        }
        guard let entity = answer["entities"]?.arrayValue?.first else {
            throw SyncError(.unexpectedResponse, "Procore's sync answer for \(what) has neither an entity nor an error")
        }
        return entity
    }

    /// Checks that every item of a sync call landed; the first refusal becomes the hold reason.
    static func checkSynced(_ answer: JSONValue, sent: Int, what: String, order: String) throws {
        let errors = answer["errors"]?.arrayValue ?? []
        if let refusal = errors.first {
            let line = refusal["origin_id"]?.stringValue.map { " (line \($0))" } ?? ""
            throw SyncError(.rejected, "Procore refused \(errors.count) of \(sent) changes to \(what)\(line): \(Self.errorText(refusal)). An approved commitment's schedule of values is locked: change it in Procore (a change order) or set it back to Draft, then run `ml-connector replay \(order)`; invoices keep finding the commitment meanwhile.")
        }
        guard (answer["entities"]?.arrayValue?.count ?? 0) == sent else {
            throw SyncError(.unexpectedResponse, "Procore's sync answer for \(what) confirms \(answer["entities"]?.arrayValue?.count ?? 0) of \(sent) items")
        }
    }

    /// `field: message; field: message` from a sync error entry's `errors` object.
    static func errorText(_ entry: JSONValue) -> String {
        guard let errors = entry["errors"]?.objectValue else { return "no reason given" }
        return errors.sorted { $0.key < $1.key }.map { key, value in
            "\(key) \((value.arrayValue ?? [value]).compactMap(\.stringValue).joined(separator: ", "))"
        }.joined(separator: "; ")
    }

    /// Procore's billing-period rules refusing a new requisition (422 on `period_id`): no open
    /// period in the project, or this commitment already invoiced in the open one (Procore takes
    /// one invoice per commitment per billing period, in period order). Nothing was written, and
    /// nothing in the SYSPRO record is wrong: the invoice waits, retried every cycle, and goes
    /// through once the project's next billing period is open.
    static func billingPeriodRefusal(_ reply: HTTPReply, invoice: SysproInvoice, target: CommitmentRef) -> SyncError? {
        guard reply.status == 422, let refusal = try? JSONValue(parsing: reply.body),
            let reason = refusal["errors"]?["period_id"]?.arrayValue?.first?.stringValue
        else { return nil }
        return SyncError(.waitingForDependency, "\(invoice.key): Procore has no billing period this invoice can go into yet (\(reason)). "
            + "Procore takes one invoice per commitment per billing period; the invoice waits and is retried every cycle, "
            + "and goes through once the next billing period of project \(target.projectID) is open (Invoicing tool → Billing Periods).")
    }

    /// Writes an AP invoice as a requisition on its commitment, spread over the contract items in
    /// proportion to their scheduled value: the create, a read of the items it made, and one bulk
    /// update of their amounts — 3 requests per invoice.
    ///
    /// Requisitions have no sync action, so the look-up by `origin_id` is done only when an
    /// earlier attempt may have landed (a pending intent). A first attempt creates directly; if
    /// Procore answers that the `origin_id` is taken (the state database was lost, or another
    /// installation wrote it), the flow looks it up and completes that one — never a second.
    func writeRequisition(_ invoice: SysproInvoice, on target: CommitmentRef, originID: String, previous: CrossReference?) async throws -> Written {
        let what = "requisition for invoice \(invoice.key)"
        let project = String(target.projectID)
        let month = String(invoice.invoiceDate.prefix(7))
        let body: JSONValue = [
            "invoice_number": .string(invoice.invoice), "status": "draft", "billing_date": .string(invoice.invoiceDate),
            "requisition_start": .string("\(month)-01"), "requisition_end": .string(invoice.invoiceDate),
            "origin_id": .string(originID), "origin_data": "syspro:ApInvoice",
        ]
        var requisitionID: Int64?
        var outcome: Outcome = .updated
        if previous?.state == .done, let known = previous?.destinationID.flatMap({ Int64($0) }) {
            requisitionID = known
        } else if previous == nil {
            let reply = try await procore.call(
                "POST", "/rest/v1.0/requisitions",
                body: ["project_id": .number(Double(target.projectID)), "commitment_id": .number(Double(target.commitmentID)), "requisition": body])
            if reply.status == 422, let refusal = try? JSONValue(parsing: reply.body), refusal["errors"]?["origin_id"] != nil {
                requisitionID = nil  // written before by someone: find it below
            } else if let waiting = Self.billingPeriodRefusal(reply, invoice: invoice, target: target) {
                throw waiting
            } else {
                let created = try ProcoreClient.decode(reply, what: "create \(what)")
                guard let id = created["id"].flatMap(Self.int64) else { throw SyncError(.unexpectedResponse, "Procore created \(what) but answered no id") }
                requisitionID = id
                outcome = .created
            }
        }
        if requisitionID == nil {
            let found = try await procore.list(
                "/rest/v1.0/requisitions",
                query: [("project_id", project), ("filters[commitment_id]", String(target.commitmentID)), ("filters[origin_id]", originID)],
                what: what)
            if let id = found.first?["id"].flatMap(Self.int64) {
                requisitionID = id
            } else {
                let reply = try await procore.call(
                    "POST", "/rest/v1.0/requisitions",
                    body: ["project_id": .number(Double(target.projectID)), "commitment_id": .number(Double(target.commitmentID)), "requisition": body])
                if let waiting = Self.billingPeriodRefusal(reply, invoice: invoice, target: target) { throw waiting }
                let created = try ProcoreClient.decode(reply, what: "create \(what)")
                guard let id = created["id"].flatMap(Self.int64) else { throw SyncError(.unexpectedResponse, "Procore created \(what) but answered no id") }
                requisitionID = id
                outcome = .created
            }
        }
        guard let requisitionID else { throw SyncError(.unexpectedResponse, "no requisition id for \(what)") }

        let items = try await procore.list(
            "/rest/v1.0/requisitions/\(requisitionID)/contract_items", query: [("project_id", project)], what: "contract items of \(what)")
        let shares = try Self.allocate(invoice.amount, over: items.map { Money.parse($0["scheduled_value"]) ?? .zero }, what: what)
        var allocation: [JSONValue] = []
        var changes: [JSONValue] = []
        for (item, share) in zip(items, shares) {
            allocation.append(["contract_item_id": item["id"] ?? .null, "work_completed_this_period": .string(share.decimalString)])
            if Money.parse(item["work_completed_this_period"]) != share, let itemID = item["id"].flatMap(Self.int64) {
                changes.append([
                    "id": .number(Double(itemID)), "item_type": .string(item["item_type"]?.stringValue ?? "contract_item"),
                    "work_completed_this_period": .string(share.decimalString),
                ])
            }
        }
        if !changes.isEmpty {
            _ = try await procore.json(
                "PATCH", "/rest/v1.0/requisitions/\(requisitionID)/bulk_item_update", query: [("project_id", project)],
                body: ["requisition_items": .array(changes)], what: "contract items of \(what)")
        }
        if outcome == .updated && changes.isEmpty { outcome = .skippedDuplicate }
        return Written(
            outcome: outcome, destinationID: String(requisitionID),
            transformed: ["project_id": .number(Double(target.projectID)), "commitment_id": .number(Double(target.commitmentID)),
                          "requisition": body, "contract_items": .array(allocation)],
            response: "\(outcome == .created ? "created" : "completed") requisition \(requisitionID)")
    }

    /// Splits an amount over scheduled values in proportion, in cents, the rounding remainder on
    /// the last item, so the shares add up to the amount exactly.
    static func allocate(_ amount: Money, over scheduled: [Money], what: String) throws -> [Money] {
        let total = scheduled.reduce(Money.zero, +)
        guard total.minor > 0, total.isWithinLimit, scheduled.allSatisfy({ $0 >= .zero }) else {
            throw SyncError(.rejected, "\(what): the commitment has no positive scheduled value to bill against")
        }
        var shares: [Money] = []
        var allocated = Money.zero
        for (index, value) in scheduled.enumerated() {
            let share: Money
            if index == scheduled.count - 1 {
                share = amount - allocated
            } else {
                share = Money(units: Double(amount.minor) * Double(value.minor) / Double(total.minor) / 100) ?? .zero
            }
            allocated = allocated + share
            shares.append(share)
        }
        return shares
    }

    // MARK: look-ups (cached per cycle)

    func project(number: String, label: String) async throws -> (id: Int64, name: String) {
        if let cached = cachedProject(number) { return cached }
        let found = try await procore.list(
            "/rest/v1.0/projects", query: [("company_id", String(procore.connection.companyID)), ("filters[project_number]", number)],
            what: "project \(number)")
        var match = found.first { $0["project_number"]?.stringValue == number }
        if match == nil {
            match = try await procore.list(
                "/rest/v1.0/projects", query: [("company_id", String(procore.connection.companyID)), ("filters[origin_id]", number)],
                what: "project \(number)").first
        }
        guard let match, let id = match["id"].flatMap(Self.int64) else {
            throw SyncError(.unknownProject, "\(label): job \(number) is not a project in Procore company \(procore.connection.companyID) (no project_number or origin_id \(number)). Create the project in Procore or correct the job on the PO lines; the PO is retried every cycle.")
        }
        let result = (id, match["name"]?.stringValue ?? number)
        cacheProject(number, result)
        return result
    }

    func vendor(supplier: String, label: String) async throws -> Int64 {
        if let cached = cachedVendor(supplier) { return cached }
        let found = try await procore.list(
            "/rest/v1.0/vendors", query: [("company_id", String(procore.connection.companyID)), ("filters[origin_id]", supplier)],
            what: "vendor for supplier \(supplier)")
        guard let id = found.first?["id"].flatMap(Self.int64) else {
            throw SyncError(.unknownSupplier, "\(label): supplier \(supplier) has no vendor in Procore (no vendor with origin_id \(supplier)). Add the vendor to the company directory with origin_id \(supplier); the PO is retried every cycle.")
        }
        cacheVendor(supplier, id)
        return id
    }

    static func int64(_ value: JSONValue) -> Int64? {
        switch value {
        case .number(let n): return n.isFinite && abs(n) < 9e18 ? Int64(exactly: n.rounded()) : nil
        case .string(let s): return Int64(s)
        default: return nil
        }
    }

    static func double(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let n): return n
        case .string(let s): return Double(s)
        default: return nil
        }
    }
}

extension SysproProcore {
    func cachedProject(_ number: String) -> (id: Int64, name: String)? { projectsByNumber[number] }
    func cacheProject(_ number: String, _ value: (id: Int64, name: String)) { projectsByNumber[number] = value }
    func cachedVendor(_ supplier: String) -> Int64? { vendorsBySupplier[supplier] }
    func cacheVendor(_ supplier: String, _ id: Int64) { vendorsBySupplier[supplier] = id }

    /// The project's cost codes by `full_code`.
    func costCodes(project: Int64) async throws -> [String: Int64] {
        if let cached = costCodesByProject[project] { return cached }
        let list = try await procore.list("/rest/v1.0/cost_codes", query: [("project_id", String(project))], what: "cost codes of project \(project)")
        var codes: [String: Int64] = [:]
        for code in list {
            if let full = code["full_code"]?.stringValue, let id = code["id"].flatMap(Self.int64) { codes[full] = id }
        }
        costCodesByProject[project] = codes
        return codes
    }

    /// Revised budget and committed costs per cost code, from the project's default budget view.
    func budget(project: Int64) async throws -> [Int64: (revised: Money, committed: Money)] {
        if let cached = budgetByProject[project] { return cached }
        let views = try await procore.list("/rest/v1.0/budget_views", query: [("project_id", String(project))], what: "budget views of project \(project)")
        var result: [Int64: (revised: Money, committed: Money)] = [:]
        if let view = views.first?["id"].flatMap(Self.int64) {
            let rows = try await procore.list(
                "/rest/v1.0/budget_views/\(view)/detail_rows", query: [("project_id", String(project))], what: "budget of project \(project)")
            for row in rows {
                guard let code = row["cost_code_id"].flatMap(Self.int64) else { continue }
                let revised = Money.parse(row["Revised Budget"]) ?? Money.parse(row["original_budget_amount"]) ?? .zero
                let committed = Money.parse(row["Committed Costs"]) ?? .zero
                let current = result[code] ?? (revised: .zero, committed: .zero)
                result[code] = (current.revised + revised, current.committed + committed)
            }
        }
        budgetByProject[project] = result
        return result
    }

    /// Counts a planned PO against the cached budget so later POs in the same cycle see it.
    func reserve(_ order: SysproPurchaseOrder, plan: CommitmentPlan) {
        guard var budget = budgetByProject[plan.projectID] else { return }
        for (line, code) in zip(order.lines, plan.lineCostCodes) {
            let current = budget[code] ?? (revised: .zero, committed: .zero)
            budget[code] = (current.revised, current.committed + line.amount)
        }
        budgetByProject[plan.projectID] = budget
    }

    /// Whether a GL code exists in SYSPRO's `GenMaster` (COMFND over the e.net session).
    func glExists(_ code: String) async throws -> Bool {
        if let known = glValid[code] { return known }
        let rows = try await syspro.find(table: "GenMaster", columns: ["GlCode"], whereEqual: [("GlCode", code)], maxRows: 1)
        glValid[code] = !rows.isEmpty
        return !rows.isEmpty
    }

    func lineItemType() async throws -> Int64? {
        if let cached = lineItemTypeID { return cached }
        guard let code = settings.lineItemTypeCode else {
            lineItemTypeID = .some(nil)
            return nil
        }
        let types = try await procore.list(
            "/rest/v1.0/line_item_types", query: [("company_id", String(procore.connection.companyID))], what: "line item types")
        let id = types.first { $0["code"]?.stringValue == code }?["id"].flatMap(Self.int64)
        guard let id else {
            throw SyncError(.invalidConfig, "Procore company \(procore.connection.companyID) has no line item type with code \(code); set lineItemTypeCode in the config (or null to send none)")
        }
        lineItemTypeID = .some(id)
        return id
    }
}
