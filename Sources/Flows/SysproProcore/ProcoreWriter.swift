import Foundation
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
        return CommitmentPlan(
            projectID: project.id, projectName: project.name, vendorID: vendor, lineCostCodes: lineCodes,
            lineItemTypeID: try await lineItemType(), warning: warning)
    }

    func writeCommitment(_ order: SysproPurchaseOrder, plan: CommitmentPlan, originID: String) async throws -> Written {
        let what = "commitment for PO \(order.number)"
        let found = try await procore.list(
            "/rest/v1.0/purchase_order_contracts",
            query: [("project_id", String(plan.projectID)), ("filters[origin_id]", originID)], what: what)
        let header: JSONValue = [
            "number": .string(settings.numberPrefix + order.number), "title": .string("PO \(settings.numberPrefix)\(order.number)"), "vendor_id": .number(Double(plan.vendorID)),
            "status": "Draft", "description": .string("Imported from SYSPRO PO \(order.number), supplier \(order.supplier)"),
            "contract_date": .string(order.entryDate), "delivery_date": order.dueDate.map { .string($0) } ?? .null,
            "origin_id": .string(originID), "origin_code": .string(order.number), "origin_data": "syspro:PorMasterHdr",
        ]
        var commitmentID: Int64
        var outcome: Outcome = .updated
        var changed = false
        var response = ""
        if let existing = found.first, let id = existing["id"].flatMap(Self.int64) {
            commitmentID = id
        } else {
            let created = try await procore.json(
                "POST", "/rest/v1.0/purchase_order_contracts",
                body: ["project_id": .number(Double(plan.projectID)), "purchase_order_contract": header], what: "create \(what)")
            guard let id = created["id"].flatMap(Self.int64) else {
                throw SyncError(.unexpectedResponse, "Procore created \(what) but answered no id")
            }
            commitmentID = id
            outcome = .created
            response = "created commitment \(id)"
        }
        // Lines: add what is missing, correct what differs (looked up by their own origin_id).
        let existingLines = try await procore.list(
            "/rest/v1.0/purchase_order_contracts/\(commitmentID)/line_items",
            query: [("project_id", String(plan.projectID))], what: "line items of \(what)")
        var byOrigin: [String: JSONValue] = [:]
        for line in existingLines { if let origin = line["origin_id"]?.stringValue { byOrigin[origin] = line } }
        var lines: [JSONValue] = []
        for (line, costCode) in zip(order.lines, plan.lineCostCodes) {
            let lineOrigin = "\(originID)-\(line.line)"
            var body: [String: JSONValue] = [
                "description": .string(line.description), "cost_code_id": .number(Double(costCode)),
                "quantity": .string(String(line.quantity)), "unit_cost": .string(String(line.price)),
                "amount": .string(line.amount.decimalString), "origin_id": .string(lineOrigin),
            ]
            if let uom = line.uom { body["uom"] = .string(uom) }
            if let type = plan.lineItemTypeID { body["line_item_type_id"] = .number(Double(type)) }
            lines.append(.object(body))
            if let current = byOrigin[lineOrigin] {
                let sameAmount = Money.parse(current["amount"]) == line.amount
                let sameCode = current["cost_code"]?["id"].flatMap(Self.int64) == costCode
                if !(sameAmount && sameCode), let lineID = current["id"].flatMap(Self.int64) {
                    _ = try await procore.json(
                        "PATCH", "/rest/v1.0/purchase_order_contracts/\(commitmentID)/line_items/\(lineID)",
                        body: ["project_id": .number(Double(plan.projectID)), "line_item": .object(body)], what: "update line \(line.line) of \(what)")
                    changed = true
                }
            } else {
                _ = try await procore.json(
                    "POST", "/rest/v1.0/purchase_order_contracts/\(commitmentID)/line_items",
                    body: ["project_id": .number(Double(plan.projectID)), "line_item": .object(body)], what: "line \(line.line) of \(what)")
                changed = true
            }
        }
        if outcome == .updated && !changed { outcome = .skippedDuplicate }
        if outcome == .updated { response = "updated commitment \(commitmentID)" }
        if outcome == .skippedDuplicate { response = "commitment \(commitmentID) already complete in Procore" }
        if outcome != .skippedDuplicate { addCommitted(order, plan: plan) }
        return Written(
            outcome: outcome, destinationID: CommitmentRef(projectID: plan.projectID, commitmentID: commitmentID).text,
            transformed: ["project_id": .number(Double(plan.projectID)), "purchase_order_contract": header, "line_items": .array(lines)],
            response: response, warning: plan.warning)
    }

    func writeRequisition(_ invoice: SysproInvoice, on target: CommitmentRef, originID: String) async throws -> Written {
        let what = "requisition for invoice \(invoice.key)"
        let project = String(target.projectID)
        let found = try await procore.list(
            "/rest/v1.0/requisitions",
            query: [("project_id", project), ("filters[commitment_id]", String(target.commitmentID)), ("filters[origin_id]", originID)],
            what: what)
        let month = String(invoice.invoiceDate.prefix(7))
        let body: JSONValue = [
            "invoice_number": .string(invoice.invoice), "status": "draft", "billing_date": .string(invoice.invoiceDate),
            "requisition_start": .string("\(month)-01"), "requisition_end": .string(invoice.invoiceDate),
            "origin_id": .string(originID), "origin_data": "syspro:ApInvoice",
        ]
        var outcome: Outcome = .updated
        let requisitionID: Int64
        if let existing = found.first, let id = existing["id"].flatMap(Self.int64) {
            requisitionID = id
        } else {
            let created = try await procore.json(
                "POST", "/rest/v1.0/requisitions",
                body: ["project_id": .number(Double(target.projectID)), "commitment_id": .number(Double(target.commitmentID)), "requisition": body],
                what: "create \(what)")
            guard let id = created["id"].flatMap(Self.int64) else { throw SyncError(.unexpectedResponse, "Procore created \(what) but answered no id") }
            requisitionID = id
            outcome = .created
        }
        // Spread the invoice over the contract items in proportion to their scheduled value.
        let items = try await procore.list(
            "/rest/v1.0/requisitions/\(requisitionID)/contract_items", query: [("project_id", project)], what: "contract items of \(what)")
        let scheduled = items.map { Money.parse($0["scheduled_value"]) ?? .zero }
        let total = scheduled.reduce(Money.zero, +)
        guard total.minor > 0 else {
            throw SyncError(.rejected, "\(what): the commitment has no scheduled value to bill against")
        }
        var allocated = Money.zero
        var changed = false
        var allocation: [JSONValue] = []
        for (index, item) in items.enumerated() {
            let share: Money
            if index == items.count - 1 {
                share = invoice.amount - allocated
            } else {
                share = Money(minor: Int64((Double(invoice.amount.minor) * Double(scheduled[index].minor) / Double(total.minor)).rounded()))
            }
            allocated = allocated + share
            allocation.append(["contract_item_id": item["id"] ?? .null, "work_completed_this_period": .string(share.decimalString)])
            if Money.parse(item["work_completed_this_period"]) != share, let itemID = item["id"].flatMap(Self.int64) {
                _ = try await procore.json(
                    "PATCH", "/rest/v1.0/requisitions/\(requisitionID)/contract_items/\(itemID)", query: [("project_id", project)],
                    body: ["requisition_contract_item": ["work_completed_this_period": .string(share.decimalString)]],
                    what: "contract item of \(what)")
                changed = true
            }
        }
        if outcome == .updated && !changed { outcome = .skippedDuplicate }
        return Written(
            outcome: outcome, destinationID: String(requisitionID),
            transformed: ["project_id": .number(Double(target.projectID)), "commitment_id": .number(Double(target.commitmentID)),
                          "requisition": body, "contract_items": .array(allocation)],
            response: "\(outcome == .created ? "created" : "completed") requisition \(requisitionID)")
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
        case .number(let n): return Int64(exactly: n.rounded())
        case .string(let s): return Int64(s)
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

    /// Counts a just-written PO against the cached budget so later POs in the same cycle see it.
    func addCommitted(_ order: SysproPurchaseOrder, plan: CommitmentPlan) {
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
