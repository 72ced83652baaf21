import Foundation
import SimulatorKit
import SyncEngine

/// Project-level resources published clients read beside the financial tools: billing periods
/// (and the rules requisitions follow in them), direct costs, the document folders, project
/// roles and users, and the lighter company project list (procore.md §§8, 13, 15).
extension ProcoreBackend {
    // MARK: billing periods

    func json(_ p: ProcoreBillingPeriod) -> JSONValue {
        [
            "id": JSONValue(id: p.id), "project_id": JSONValue(id: p.projectID), "start_date": .string(p.startDate),
            "end_date": .string(p.endDate), "due_date": .string(p.dueDate), "status": .string(p.status),
            "position": .number(Double(p.position)), "created_at": ProcoreTime.string(p.createdAt), "updated_at": ProcoreTime.string(p.updatedAt),
        ]
    }

    /// Adds a billing period to a project. Only one may be open (procore.md §13: "only one
    /// billing period can be Open at any given time"), so opening one is refused while another is.
    @discardableResult
    public func addBillingPeriod(projectID: Int64, start: String, end: String, due: String, status: String) throws -> Int64 {
        guard projects[projectID] != nil else { throw ProcoreError.notFound("Project \(projectID) not found") }
        for (name, value) in [("start_date", start), ("end_date", end), ("due_date", due)] where CalendarDay.date(value) == nil {
            throw ProcoreError.unprocessable([name: ["is not a date (YYYY-MM-DD)"]])
        }
        guard ["open", "closed"].contains(status) else { throw ProcoreError.unprocessable(["status": ["must be open or closed"]]) }
        guard start <= end else { throw ProcoreError.unprocessable(["end_date": ["must be on or after the start date"]]) }
        let existing = billingPeriods.values.filter { $0.projectID == projectID }
        if status == "open", existing.contains(where: { $0.status == "open" }) {
            throw ProcoreError.unprocessable(["status": ["Only one billing period can be open at a time; close the open one first"]])
        }
        if existing.contains(where: { $0.startDate <= end && start <= $0.endDate }) {
            throw ProcoreError.unprocessable(["start_date": ["overlaps another billing period"]])
        }
        let id = newID()
        billingPeriods[id] = ProcoreBillingPeriod(
            id: id, projectID: projectID, startDate: start, endDate: end, dueDate: due, status: status,
            position: existing.count + 1, createdAt: now, updatedAt: now)
        return id
    }

    func createBillingPeriod(project: ProcoreProject, body: [String: JSONValue]) throws -> JSONValue {
        var missing: [String: [String]] = [:]
        for name in ["start_date", "end_date", "due_date", "status"] where body[name]?.stringValue == nil { missing[name] = ["can't be blank"] }
        guard missing.isEmpty else { throw ProcoreError.unprocessable(missing) }
        let id = try addBillingPeriod(
            projectID: project.id, start: body["start_date"]!.stringValue!, end: body["end_date"]!.stringValue!,
            due: body["due_date"]!.stringValue!, status: body["status"]!.stringValue!)
        return json(billingPeriods[id]!)
    }

    /// `PATCH …/billing_periods/{id}` `{"billing_period":{"status":"closed"}}` (inferred route).
    func updateBillingPeriod(project: ProcoreProject, id text: String, body: [String: JSONValue]) throws -> JSONValue {
        guard let id = Int64(text), var period = billingPeriods[id], period.projectID == project.id else {
            throw ProcoreError.notFound("Billing Period \(text) not found")
        }
        if let status = body["status"]?.stringValue {
            guard ["open", "closed"].contains(status) else { throw ProcoreError.unprocessable(["status": ["must be open or closed"]]) }
            if status == "open", billingPeriods.values.contains(where: { $0.projectID == project.id && $0.status == "open" && $0.id != id }) {
                throw ProcoreError.unprocessable(["status": ["Only one billing period can be open at a time; close the open one first"]])
            }
            period.status = status
        }
        if let due = body["due_date"]?.stringValue {
            guard CalendarDay.date(due) != nil else { throw ProcoreError.unprocessable(["due_date": ["is not a date (YYYY-MM-DD)"]]) }
            period.dueDate = due
        }
        period.updatedAt = now
        billingPeriods[id] = period
        return json(period)
    }

    func listBillingPeriods(project: Int64, status: String?) -> [JSONValue] {
        billingPeriods.values.filter { $0.projectID == project && (status == nil || $0.status == status) }
            .sorted { $0.position < $1.position }.map(json)
    }

    /// A Procore user closing the open period and opening the next (the month after it ends):
    /// what a project's invoice administrator does each month. - Returns: the new period's id.
    @discardableResult
    public func openNextBillingPeriod(projectNumber: String) throws -> Int64 {
        guard let project = projects.values.first(where: { $0.projectNumber == projectNumber }) else {
            throw ProcoreError.notFound("Project \(projectNumber) not found")
        }
        let periods = billingPeriods.values.filter { $0.projectID == project.id }.sorted { $0.position < $1.position }
        var start = CalendarDay.string(now.addingTimeInterval(-Double(Int(now.timeIntervalSince1970) % 86_400)))
        if let last = periods.last, let end = CalendarDay.date(last.endDate) {
            start = CalendarDay.string(end.addingTimeInterval(86_400))
        }
        for period in periods where period.status == "open" {
            billingPeriods[period.id]?.status = "closed"
            billingPeriods[period.id]?.updatedAt = now
        }
        let startDate = CalendarDay.date(start)!
        let end = CalendarDay.string(CalendarDay.lastDayOfMonth(startDate))
        let due = CalendarDay.string(CalendarDay.lastDayOfMonth(startDate).addingTimeInterval(10 * 86_400))
        return try addBillingPeriod(projectID: project.id, start: start, end: end, due: due, status: "open")
    }

    /// Every project's number, in id order.
    public func projectNumbers() -> [String] { projects.values.sorted { $0.id < $1.id }.map(\.projectNumber) }


    /// The period a new requisition on `commitment` lands in, under Procore's rules: the one it
    /// names, else the open one; a commitment's invoices go one per period, in period order.
    /// - Returns: `nil` when the rules are relaxed and no period applies.
    func billingPeriod(for commitment: Int64, project: ProcoreProject, requested: JSONValue?) throws -> Int64? {
        let periods = billingPeriods.values.filter { $0.projectID == project.id }
        if settings.relaxBillingPeriods && requested == nil {
            return periods.first { $0.status == "open" }?.id
        }
        let period: ProcoreBillingPeriod
        if let requested {
            guard let id = Self.int64(requested), let found = billingPeriods[id], found.projectID == project.id else {
                throw ProcoreError.unprocessable(["period_id": ["is invalid"]])
            }
            period = found
        } else {
            guard let open = periods.first(where: { $0.status == "open" }) else {
                throw ProcoreError.unprocessable(["period_id": ["There is no open billing period in this project; an invoicing administrator must open one"]])
            }
            period = open
        }
        guard !settings.relaxBillingPeriods else { return period.id }
        let earlier = (requisitionsByCommitment[commitment] ?? []).compactMap { requisitions[$0]?.periodID }.compactMap { billingPeriods[$0] }
        if let billed = earlier.first(where: { $0.id == period.id }) {
            throw ProcoreError.unprocessable(["period_id": ["This commitment already has an invoice in the billing period \(billed.startDate)...\(billed.endDate)"]])
        }
        if let later = earlier.first(where: { $0.position > period.position }) {
            throw ProcoreError.unprocessable(["period_id": ["A later invoice exists for this commitment (billing period \(later.startDate)...\(later.endDate))"]])
        }
        return period.id
    }

    // MARK: direct costs

    func json(_ d: ProcoreDirectCost, lines: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": JSONValue(id: d.id), "direct_cost_type": .string(d.type), "invoice_number": JSONValue(d.invoiceNumber),
            "description": JSONValue(d.description), "direct_cost_date": .string(d.date), "status": .string(d.status),
            "terms": JSONValue(d.terms), "received_date": JSONValue(d.receivedDate), "payment_date": JSONValue(d.paymentDate),
            "amount": .string(d.total.decimalString), "grand_total": .string(d.total.decimalString),
            "vendor_id": d.vendorID.map { JSONValue(id: $0) } ?? nil, "vendor_name": JSONValue(d.vendorID.flatMap { vendors[$0]?.name }),
            "vendor": JSONValue(d.vendorID.flatMap { vendors[$0]?.name }), "employee": nil,
            "origin_id": JSONValue(d.originID), "origin_data": nil, "currency_configuration": ["currency_iso_code": "USD"],
            "created_at": ProcoreTime.string(d.createdAt), "updated_at": ProcoreTime.string(d.updatedAt), "deleted_at": nil,
        ]
        if lines { object["line_items"] = .array(d.lines.map { json($0) }) }
        return .object(object)
    }

    func json(_ line: ProcoreDirectCostLine) -> JSONValue {
        let code = costCodes[line.costCodeID]
        return [
            "id": JSONValue(id: line.id), "description": .string(line.description), "quantity": .number(line.quantity),
            "unit_cost": .number(line.unitCost), "uom": JSONValue(line.uom), "amount": .string(line.amount.decimalString),
            "cost_code": code.map { ["id": JSONValue(id: $0.id), "full_code": .string($0.fullCode), "name": .string($0.name)] } ?? nil,
            "line_item_type": line.lineItemTypeID.flatMap { lineItemTypes[$0] }.map { ["id": JSONValue(id: $0.id), "name": .string($0.name)] } ?? nil,
            "origin_id": JSONValue(line.originID),
        ]
    }

    /// Seeds a direct cost: `{"direct_cost_type","invoice_number","direct_cost_date","status",
    /// "vendor_origin_id","origin_id","line_items":[{"cost_code":"03-300","description","quantity","unit_cost","uom"}]}`.
    @discardableResult
    public func addDirectCost(projectID: Int64, seed: JSONValue) throws -> Int64 {
        guard let project = projects[projectID] else { throw ProcoreError.notFound("Project \(projectID) not found") }
        let type = seed["direct_cost_type"]?.stringValue ?? "invoice"
        guard ["invoice", "expense", "payroll"].contains(type) else { throw ProcoreError.unprocessable(["direct_cost_type": ["is not included in the list"]]) }
        if type == "invoice", seed["invoice_number"]?.stringValue == nil { throw ProcoreError.unprocessable(["invoice_number": ["can't be blank"]]) }
        var lines: [ProcoreDirectCostLine] = []
        for line in seed["line_items"]?.arrayValue ?? [] {
            let full = line["cost_code"]?.stringValue ?? ""
            guard let code = costCodes.values.first(where: { $0.projectID == projectID && $0.fullCode == full }) else {
                throw ProcoreError.unprocessable(["cost_code_id": ["is invalid"]])
            }
            let quantity = line["quantity"]?.doubleValue ?? 1
            let unit = line["unit_cost"]?.doubleValue ?? 0
            lines.append(ProcoreDirectCostLine(
                id: nextBigID + 1, description: line["description"]?.stringValue ?? "", quantity: quantity, unitCost: unit,
                uom: line["uom"]?.stringValue, amount: Money.parse(.number(quantity * unit)) ?? .zero, costCodeID: code.id,
                lineItemTypeID: lineItemTypes.keys.min(), originID: line["origin_id"]?.stringValue))
            nextBigID += 1
        }
        let vendor = seed["vendor_origin_id"]?.stringValue.flatMap { originIndex["vendor|\(project.companyID)|\($0)"] }
        nextBigID += 1
        let id = nextBigID  // above 2^32, as commitments: catches 32-bit truncation
        directCosts[id] = ProcoreDirectCost(
            id: id, projectID: projectID, type: type, invoiceNumber: seed["invoice_number"]?.stringValue,
            description: seed["description"]?.stringValue, date: seed["direct_cost_date"]?.stringValue ?? CalendarDay.string(now),
            status: seed["status"]?.stringValue ?? "approved", terms: seed["terms"]?.stringValue, receivedDate: seed["received_date"]?.stringValue,
            paymentDate: seed["payment_date"]?.stringValue, vendorID: vendor, originID: seed["origin_id"]?.stringValue, lines: lines,
            createdAt: now, updatedAt: now)
        emit("Direct Costs", "create", id: id, company: project.companyID, project: projectID)
        return id
    }

    func listDirectCosts(project: Int64) -> [JSONValue] {
        directCosts.values.filter { $0.projectID == project }.sorted { $0.id < $1.id }.map { json($0, lines: false) }
    }

    func directCost(_ text: String, project: ProcoreProject) throws -> ProcoreDirectCost {
        guard let id = Int64(text), let cost = directCosts[id], cost.projectID == project.id else {
            throw ProcoreError.notFound("Direct Cost \(text) not found")
        }
        return cost
    }

    // MARK: company project list, folders, roles, users

    /// `GET /rest/v1.0/companies/{id}/projects`: the lighter list (procore.md §8).
    func companyProjects(company: Int64, status: String?) -> [JSONValue] {
        projects.values.filter { $0.companyID == company && Self.matches(project: $0, byStatus: status) }.sorted { $0.id < $1.id }.map {
            [
                "id": JSONValue(id: $0.id), "name": .string($0.name), "project_number": .string($0.projectNumber),
                "address": nil, "stage_name": "Course of Construction", "status_name": .string($0.active ? "Active" : "Inactive"),
                "type_name": "Commercial", "active": .bool($0.active),
            ]
        }
    }

    /// `filters[by_status]`: `Active` (the default), `Inactive` or `All`.
    static func matches(project: ProcoreProject, byStatus status: String?) -> Bool {
        switch status?.lowercased() ?? "active" {
        case "all": return true
        case "inactive": return !project.active
        default: return project.active
        }
    }

    public func setProjectActive(number: String, active: Bool) -> Bool {
        guard let id = projects.values.first(where: { $0.projectNumber == number })?.id else { return false }
        projects[id]?.active = active
        return true
    }

    /// The document tool's root folder of a project, with its subfolders and files; or one of
    /// the subfolders by id. Ids derive from the project id, so every project has its own tree.
    func folder(project: ProcoreProject, id text: String?) throws -> JSONValue {
        let root = project.id * 10
        let names = ["Drawings", "Specifications", "Submittals"]
        func file(_ id: Int64, _ name: String, parent: Int64, path: String) -> JSONValue {
            [
                "id": JSONValue(id: id), "name": .string(name), "parent_id": JSONValue(id: parent), "size": 24_576, "description": nil,
                "private": false, "is_tracked": false, "is_deleted": false, "file_type": "pdf", "name_with_path": .string("\(path)/\(name)"),
                "created_at": ProcoreTime.string(project.createdAt), "updated_at": ProcoreTime.string(project.createdAt),
                "file_versions": [["id": JSONValue(id: id * 10 + 1), "number": 1, "size": 24_576, "created_at": ProcoreTime.string(project.createdAt)]],
            ]
        }
        func node(_ id: Int64, _ name: String, parent: Int64?, path: String, children: [JSONValue], files: [JSONValue]) -> JSONValue {
            [
                "id": JSONValue(id: id), "name": .string(name), "parent_id": parent.map { JSONValue(id: $0) } ?? nil, "private": false,
                "is_tracked": false, "is_deleted": false, "is_recycle_bin": false, "read_only": false, "name_with_path": .string(path),
                "has_children": .bool(!children.isEmpty || !files.isEmpty), "has_children_folders": .bool(!children.isEmpty),
                "has_children_files": .bool(!files.isEmpty), "updated_at": ProcoreTime.string(project.createdAt),
                "folders": .array(children), "files": .array(files),
            ]
        }
        let subfolders = names.enumerated().map { index, name -> JSONValue in
            let id = root + Int64(index) + 1
            return node(id, name, parent: root, path: name, children: [], files: [file(id * 100 + 1, "\(name) index.pdf", parent: id, path: name)])
        }
        guard let text else {
            return node(root, "Project Root", parent: nil, path: "", children: subfolders.map {
                var shallow = $0.objectValue ?? [:]
                shallow["folders"] = []
                shallow["files"] = []
                return .object(shallow)
            }, files: [file(root * 100 + 1, "Project directory.pdf", parent: root, path: "")])
        }
        guard let id = Int64(text) else { throw ProcoreError.notFound("Folder \(text) not found") }
        if id == root { return try self.folder(project: project, id: nil) }
        guard let found = subfolders.first(where: { $0["id"] == JSONValue(id: id) }) else { throw ProcoreError.notFound("Folder \(text) not found") }
        return found
    }

    /// The people of a project: the service account plus a project manager and a
    /// superintendent (`GET /rest/v1.0/projects/{id}/users`).
    func projectUsers(project: ProcoreProject) -> [JSONValue] {
        let people: [(Int64, String, String, String, String)] = [
            (160_586, "ml-connector", "DMSA", "svc-ml-connector@example.com", "Integration"),
            (project.id * 100 + 1, "Dana", "Ortiz", "dana.ortiz@example.com", "Project Manager"),
            (project.id * 100 + 2, "Sam", "Reyes", "sam.reyes@example.com", "Superintendent"),
        ]
        return people.map { id, first, last, email, title in
            [
                "id": JSONValue(id: id), "name": .string("\(first) \(last)"), "first_name": .string(first), "last_name": .string(last),
                "email_address": .string(email), "job_title": .string(title), "is_active": true, "is_employee": true,
                "vendor": ["id": nil, "name": .string(companies[project.companyID]?.name ?? "")],
            ]
        }
    }

    /// `GET /rest/v1.0/project_roles?project_id=`: the roles filled on the project.
    func projectRoles(project: ProcoreProject) -> [JSONValue] {
        projectUsers(project: project).dropFirst().enumerated().map { index, user in
            [
                "id": JSONValue(id: project.id * 1_000 + Int64(index) + 1), "role": user["job_title"] ?? nil, "name": user["name"] ?? nil,
                "user_id": user["id"] ?? nil, "contact_id": nil, "is_active": true,
            ]
        }
    }
}

struct ProcoreDirectCostLine: Sendable {
    var id: Int64
    var description: String
    var quantity: Double
    var unitCost: Double
    var uom: String?
    var amount: Money
    var costCodeID: Int64
    var lineItemTypeID: Int64?
    var originID: String?
}

struct ProcoreDirectCost: Sendable {
    var id: Int64
    var projectID: Int64
    var type: String
    var invoiceNumber: String?
    var description: String?
    var date: String
    var status: String
    var terms: String?
    var receivedDate: String?
    var paymentDate: String?
    var vendorID: Int64?
    var originID: String?
    var lines: [ProcoreDirectCostLine]
    var createdAt: Date
    var updatedAt: Date
    var total: Money { lines.reduce(.zero) { $0 + $1.amount } }
}
