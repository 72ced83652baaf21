import Foundation
import SyncEngine

/// Projects, vendors, cost codes, budget, commitments and requisitions: the reads and writes
/// flow 000 needs, with Procore's validation rules.
extension ProcoreBackend {
    // MARK: JSON shapes

    func json(_ p: ProcoreProject) -> JSONValue {
        let company = companies[p.companyID]
        return [
            "id": JSONValue(id: p.id), "name": .string(p.name), "display_name": .string("\(p.projectNumber) - \(p.name)"),
            "project_number": .string(p.projectNumber), "active": .bool(p.active), "origin_id": JSONValue(p.originID),
            "origin_data": nil, "origin_code": nil, "time_zone": "US/Pacific",
            "company": ["id": JSONValue(id: p.companyID), "name": JSONValue(company?.name)],
            "created_at": ProcoreTime.string(p.createdAt), "updated_at": ProcoreTime.string(p.createdAt),
        ]
    }

    func json(_ v: ProcoreVendor) -> JSONValue {
        [
            "id": JSONValue(id: v.id), "name": .string(v.name), "is_active": .bool(v.isActive),
            "origin_id": JSONValue(v.originID), "origin_code": JSONValue(v.originCode), "origin_data": nil,
            "synced_to_erp": false, "created_at": ProcoreTime.string(v.createdAt), "updated_at": ProcoreTime.string(v.updatedAt),
        ]
    }

    func json(_ c: ProcoreCostCode) -> JSONValue {
        let project = projects[c.projectID]
        return [
            "id": JSONValue(id: c.id), "code": .string(c.code), "full_code": .string(c.fullCode), "name": .string(c.name),
            "origin_id": JSONValue(c.originID), "origin_data": nil, "budgeted": .bool(budgetLines.values.contains { $0.costCodeID == c.id }),
            "biller": JSONValue(project?.name), "biller_id": JSONValue(id: c.projectID), "biller_type": "Project",
            "created_at": ProcoreTime.string(c.createdAt), "updated_at": ProcoreTime.string(c.createdAt), "deleted_at": nil,
        ]
    }

    func costCodeRef(_ id: Int64) -> JSONValue {
        guard let c = costCodes[id] else { return nil }
        return ["id": JSONValue(id: c.id), "code": .string(c.code), "full_code": .string(c.fullCode), "name": .string(c.name)]
    }

    func json(_ line: ProcoreCommitmentLine, holder: ProcoreCommitment) -> JSONValue {
        [
            "id": JSONValue(id: line.id), "position": .number(Double(line.position)), "description": .string(line.description),
            "amount": .string(line.amount.decimalString), "quantity": line.quantity.map { .number($0) } ?? nil,
            "unit_cost": line.unitCost.map { .number($0) } ?? nil, "uom": JSONValue(line.uom),
            "total_amount": .number(Double(line.amount.minor) / 100), "cost_code": costCodeRef(line.costCodeID),
            "line_item_type": line.lineItemTypeID.flatMap { lineItemTypes[$0] }.map {
                ["id": JSONValue(id: $0.id), "name": .string($0.name), "code": .string($0.code)]
            } ?? nil,
            "origin_id": JSONValue(line.originID), "origin_data": nil,
            "holder": ["id": JSONValue(id: holder.id), "holder_type": "PurchaseOrderContract"],
            "created_at": ProcoreTime.string(line.createdAt), "updated_at": ProcoreTime.string(line.updatedAt),
        ]
    }

    func json(_ c: ProcoreCommitment, full: Bool) -> JSONValue {
        let total = c.grandTotal
        let paid = (requisitionsByCommitment[c.id] ?? []).compactMap { requisitions[$0] }.reduce(Money.zero) { $0 + $1.totalClaimed }
        var object: [String: JSONValue] = [
            "id": JSONValue(id: c.id), "number": .string(c.number), "title": .string(c.title), "status": .string(c.status),
            "executed": false, "private": false, "description": JSONValue(c.description), "accounting_method": "amount",
            "origin_id": JSONValue(c.originID), "origin_code": JSONValue(c.originCode), "origin_data": JSONValue(c.originData),
            "grand_total": .string(total.decimalString), "approved_change_orders": "0.00", "pending_change_orders": "0.00",
            "revised_contract": .string(total.decimalString), "total_requisitions_amount": .string(paid.decimalString),
            "remaining_balance_outstanding": .string((total - paid).decimalString), "requisitions_are_enabled": true,
            "payment_terms": JSONValue(c.paymentTerms), "contract_date": JSONValue(c.contractDate),
            "delivery_date": JSONValue(c.deliveryDate),
            "vendor": c.vendorID.flatMap { vendors[$0] }.map { ["id": JSONValue(id: $0.id), "company": .string($0.name)] } ?? nil,
            "project": ["id": JSONValue(id: c.projectID), "name": JSONValue(projects[c.projectID]?.name)],
            "currency_configuration": ["currency_iso_code": "USD"],
            "created_at": ProcoreTime.string(c.createdAt), "updated_at": ProcoreTime.string(c.updatedAt), "deleted_at": nil,
        ]
        let issued = payments(ofContract: c.id)
        object["total_payments"] = .string(issued.reduce(Money.zero) { $0 + $1.amount }.decimalString)
        if full {
            object["line_items"] = .array(c.lines.map { json($0, holder: c) })
            object["payments_issued"] = .array(issued.map { p in
                [
                    "id": JSONValue(id: p.id), "amount": .string(p.amount.decimalString), "date": .string(p.date),
                    "invoice_number": JSONValue(p.invoiceNumber), "check_number": JSONValue(p.checkNumber),
                    "payment_number": .number(Double(p.paymentNumber)), "origin_id": JSONValue(p.originID),
                ]
            })
        }
        return .object(object)
    }

    func json(_ item: ProcoreContractItem) -> JSONValue {
        [
            "id": JSONValue(id: item.id), "item_type": "contract_item", "line_item_id": JSONValue(id: item.lineItemID),
            "cost_code_id": JSONValue(id: item.costCodeID), "description_of_work": .string(item.description),
            "scheduled_value": .string(item.scheduledValue.decimalString),
            "work_completed_from_previous_application": "0.00",
            "work_completed_this_period": .string(item.workCompletedThisPeriod.decimalString),
            "materials_presently_stored": "0.00",
            "total_completed_and_stored_to_date": .string(item.workCompletedThisPeriod.decimalString),
            "status": .string(item.status), "position": .number(Double(item.position)),
        ]
    }

    func json(_ r: ProcoreRequisition) -> JSONValue {
        let commitment = commitments[r.commitmentID]
        let total = r.totalClaimed
        return [
            "id": JSONValue(id: r.id), "project_id": JSONValue(id: r.projectID), "commitment_id": JSONValue(id: r.commitmentID),
            "commitment_type": "PurchaseOrderContract", "contract_name": JSONValue(commitment?.title),
            "number": .number(Double(r.number)), "invoice_number": JSONValue(r.invoiceNumber), "status": .string(r.status),
            "period_id": r.periodID.map { JSONValue(id: $0) } ?? nil,
            "billing_date": JSONValue(r.billingDate), "requisition_start": JSONValue(r.periodStart),
            "requisition_end": JSONValue(r.periodEnd), "origin_id": JSONValue(r.originID), "origin_data": JSONValue(r.originData),
            "total_claimed_amount": .string(total.decimalString),
            "vendor_name": JSONValue(commitment?.vendorID.flatMap { vendors[$0]?.name }),
            "summary": [
                "original_contract_sum": .string((commitment?.grandTotal ?? .zero).decimalString),
                "total_completed_and_stored_to_date": .string(total.decimalString),
            ],
            "created_at": ProcoreTime.string(r.createdAt), "updated_at": ProcoreTime.string(r.updatedAt),
        ]
    }

    // MARK: reads

    func listProjects(company: Int64, originID: String?, number: String?, byStatus: String? = nil) -> [JSONValue] {
        projects.values.filter {
            $0.companyID == company && (originID == nil || $0.originID == originID) && (number == nil || $0.projectNumber == number)
                && Self.matches(project: $0, byStatus: byStatus)
        }.sorted { $0.id < $1.id }.map(json)
    }

    func listVendors(company: Int64, originID: String?, search: String?) -> [JSONValue] {
        if let originID, search == nil {
            return originIndex["vendor|\(company)|\(originID)"].flatMap { vendors[$0] }.map { [json($0)] } ?? []
        }
        return vendors.values.filter { v in
            v.companyID == company && (originID == nil || v.originID == originID)
                && (search == nil || v.name.localizedCaseInsensitiveContains(search!) || v.originCode == search)
        }.sorted { $0.id < $1.id }.map(json)
    }

    func listCostCodes(project: Int64, originID: String?) -> [JSONValue] {
        costCodes.values.filter { $0.projectID == project && (originID == nil || $0.originID == originID) }
            .sorted { $0.fullCode < $1.fullCode }.map(json)
    }

    func listLineItemTypes() -> [JSONValue] {
        lineItemTypes.values.sorted { $0.id < $1.id }.map {
            ["id": JSONValue(id: $0.id), "name": .string($0.name), "code": .string($0.code), "base_type": .string($0.baseType), "origin_id": nil]
        }
    }

    func budgetViewID(project: Int64) -> Int64 { 117_000 + project }

    func budgetViews(project: ProcoreProject) -> [JSONValue] {
        [[
            "id": JSONValue(id: budgetViewID(project: project.id)), "name": "Procore Standard Budget", "description": nil,
            "role": "default", "created_at": ProcoreTime.string(project.createdAt), "updated_at": ProcoreTime.string(project.createdAt),
        ]]
    }

    /// Budget detail rows: one per budget line item, with revised budget and the committed costs
    /// the project's commitments put on its cost code (and line item type).
    func detailRows(project: ProcoreProject, viewID: Int64, costCodeIDs: [Int64]) throws -> [JSONValue] {
        guard viewID == budgetViewID(project: project.id) else { throw ProcoreError.notFound("Budget View \(viewID) not found") }
        let lines = budgetLines.values.filter {
            $0.projectID == project.id && (costCodeIDs.isEmpty || costCodeIDs.contains($0.costCodeID))
        }.sorted { $0.id < $1.id }
        return lines.map { line in
            let code = costCodes[line.costCodeID]
            let committed = commitments.values.filter { $0.projectID == project.id }.flatMap(\.lines)
                .filter { $0.costCodeID == line.costCodeID && ($0.lineItemTypeID == nil || $0.lineItemTypeID == line.lineItemTypeID) }
                .reduce(Money.zero) { $0 + $1.amount }
            let revised = line.originalBudget + line.modifications
            let type = lineItemTypes[line.lineItemTypeID]
            return [
                "id": JSONValue(id: line.id), "company_id": JSONValue(id: project.companyID), "project_id": JSONValue(id: project.id),
                "biller_id": JSONValue(id: project.id), "biller": .string(project.name), "biller_type": "Project",
                "cost_code_id": JSONValue(id: line.costCodeID),
                "cost_code": .string("\(code?.fullCode ?? "") - \(code?.name ?? "")"),
                "cost_code_origin_id": JSONValue(code?.originID), "category_id": JSONValue(id: line.lineItemTypeID),
                "category": JSONValue(type?.name), "original_budget_amount": .number(Double(line.originalBudget.minor) / 100),
                "budget_modifications": .number(Double(line.modifications.minor) / 100),
                "currency_configuration": ["currency_iso_code": "USD"],
                "Revised Budget": .string(String(Double(revised.minor) / 100)),
                "Committed Costs": .string(String(Double(committed.minor) / 100)),
                "Direct Costs": "0.0", "Pending Budget Changes": "0.0",
            ]
        }
    }

    func listCommitments(project: Int64, originID: String?, status: String?) -> [JSONValue] {
        if let originID, let company = projects[project]?.companyID {
            guard let c = originIndex["commitment|\(company)|\(originID)"].flatMap({ commitments[$0] }), c.projectID == project,
                status == nil || c.status == status
            else { return [] }
            return [json(c, full: false)]
        }
        return commitments.values.filter {
            $0.projectID == project && (originID == nil || $0.originID == originID) && (status == nil || $0.status == status)
        }.sorted { $0.id < $1.id }.map { json($0, full: false) }
    }

    func commitment(_ text: String, project: ProcoreProject) throws -> ProcoreCommitment {
        guard let id = Int64(text), let c = commitments[id], c.projectID == project.id else {
            throw ProcoreError.notFound("Purchase Order Contract \(text) not found")
        }
        return c
    }

    func listRequisitions(project: Int64, commitmentID: Int64?, originID: String?) -> [JSONValue] {
        if let originID, let company = projects[project]?.companyID {
            guard let r = originIndex["requisition|\(company)|\(originID)"].flatMap({ requisitions[$0] }), r.projectID == project,
                commitmentID == nil || r.commitmentID == commitmentID
            else { return [] }
            return [json(r)]
        }
        return requisitions.values.filter {
            $0.projectID == project && (commitmentID == nil || $0.commitmentID == commitmentID)
                && (originID == nil || $0.originID == originID)
        }.sorted { $0.id < $1.id }.map(json)
    }

    func requisition(_ text: String, project: ProcoreProject) throws -> ProcoreRequisition {
        guard let id = Int64(text), let r = requisitions[id], r.projectID == project.id else {
            throw ProcoreError.notFound("Requisition \(text) not found")
        }
        return r
    }

    // MARK: writes

    private func checkOriginID(_ originID: String?, company: Int64, kind: String, except: Int64? = nil) throws {
        guard let originID, !originID.isEmpty else { return }
        let holder = originIndex["\(kind)|\(company)|\(originID)"]
        let taken = holder != nil && holder != except
        if taken { throw ProcoreError.unprocessable(["origin_id": ["has already been taken"]]) }
    }

    func createVendor(company: Int64, body: [String: JSONValue]) throws -> JSONValue {
        guard let name = body["name"]?.stringValue, !name.isEmpty else { throw ProcoreError.unprocessable(["name": ["can't be blank"]]) }
        try checkOriginID(body["origin_id"]?.stringValue, company: company, kind: "vendor")
        let id = addVendor(companyID: company, name: name, originID: body["origin_id"]?.stringValue, originCode: body["origin_code"]?.stringValue)
        emit("Company Vendors", "create", id: id, company: company, project: nil)
        return json(vendors[id]!)
    }

    func createCostCode(project: ProcoreProject, body: [String: JSONValue]) throws -> JSONValue {
        guard let code = body["code"]?.stringValue, !code.isEmpty else { throw ProcoreError.unprocessable(["code": ["can't be blank"]]) }
        guard let name = body["name"]?.stringValue, !name.isEmpty else { throw ProcoreError.unprocessable(["name": ["can't be blank"]]) }
        var full = code
        if let parent = body["parent_id"].flatMap(Self.int64), let parentCode = costCodes[parent] {
            full = "\(parentCode.code)-\(code)"
        } else if let division = body["division"]?.stringValue {
            full = "\(division)-\(code)"
        }
        let id = try addCostCode(projectID: project.id, fullCode: full, name: name, originID: body["origin_id"]?.stringValue)
        emit("Cost Codes", "create", id: id, company: project.companyID, project: project.id)
        return json(costCodes[id]!)
    }

    func createBudgetLine(project: ProcoreProject, body: [String: JSONValue]) throws -> JSONValue {
        guard let code = body["cost_code_id"].flatMap(Self.int64) else { throw ProcoreError.unprocessable(["cost_code_id": ["can't be blank"]]) }
        guard let type = body["line_item_type_id"].flatMap(Self.int64) else {
            throw ProcoreError.unprocessable(["line_item_type_id": ["can't be blank"]])
        }
        guard let amount = Money.parse(body["original_budget_amount"]) else {
            throw ProcoreError.unprocessable(["original_budget_amount": ["is not a number"]])
        }
        let id = try addBudget(projectID: project.id, costCodeID: code, lineItemTypeID: type, amount: amount)
        emit("Budget Line Items", "create", id: id, company: project.companyID, project: project.id)
        return ["id": JSONValue(id: id), "cost_code": costCodeRef(code), "original_budget_amount": .number(Double(amount.minor) / 100)]
    }

    static let poStatuses = ["Draft", "Processing", "Submitted", "Partially Received", "Received", "Approved", "Closed"]

    func createCommitment(project: ProcoreProject, body: [String: JSONValue]) throws -> JSONValue {
        var errors: [String: [String]] = [:]
        let vendorID = body["vendor_id"].flatMap(Self.int64)
        if let vendorID, vendors[vendorID]?.companyID != project.companyID { errors["vendor_id"] = ["is invalid"] }
        let status = body["status"]?.stringValue ?? "Draft"
        if !Self.poStatuses.contains(status) { errors["status"] = ["is not included in the list"] }
        let number = body["number"]?.stringValue ?? String(commitments.count + 1)
        if commitmentNumbers.contains("\(project.id)|\(number)") {
            errors["number"] = ["has already been taken"]
        }
        if !errors.isEmpty { throw ProcoreError.unprocessable(errors) }
        try checkOriginID(body["origin_id"]?.stringValue, company: project.companyID, kind: "commitment")
        nextBigID += 1
        let c = ProcoreCommitment(
            id: nextBigID, projectID: project.id, companyID: project.companyID, number: number,
            title: body["title"]?.stringValue ?? "PO \(number)", status: status, vendorID: vendorID,
            description: body["description"]?.stringValue, contractDate: body["contract_date"]?.stringValue,
            deliveryDate: body["delivery_date"]?.stringValue, paymentTerms: body["payment_terms"]?.stringValue,
            originID: body["origin_id"]?.stringValue, originCode: body["origin_code"]?.stringValue,
            originData: body["origin_data"]?.stringValue, createdAt: now, updatedAt: now)
        commitments[c.id] = c
        commitmentNumbers.insert("\(project.id)|\(number)")
        if let origin = c.originID { originIndex["commitment|\(c.companyID)|\(origin)"] = c.id }
        emit("Purchase Order Contracts", "create", id: c.id, company: c.companyID, project: c.projectID)
        return json(c, full: true)
    }

    func updateCommitment(_ id: Int64, body: [String: JSONValue]) throws -> JSONValue {
        guard var c = commitments[id] else { throw ProcoreError.notFound("Purchase Order Contract \(id) not found") }
        if ["Approved", "Closed"].contains(c.status), let vendor = body["vendor_id"], Self.int64(vendor) != c.vendorID {
            throw ProcoreError.unprocessable(["base": ["An approved commitment's vendor cannot change"]])
        }
        if let status = body["status"]?.stringValue {
            guard Self.poStatuses.contains(status) else { throw ProcoreError.unprocessable(["status": ["is not included in the list"]]) }
            c.status = status
        }
        if let origin = body["origin_id"]?.stringValue {
            try checkOriginID(origin, company: c.companyID, kind: "commitment", except: id)
            if let old = c.originID { originIndex["commitment|\(c.companyID)|\(old)"] = nil }
            originIndex["commitment|\(c.companyID)|\(origin)"] = id
            c.originID = origin
        }
        if let title = body["title"]?.stringValue { c.title = title }
        if let description = body["description"]?.stringValue { c.description = description }
        if let date = body["delivery_date"]?.stringValue { c.deliveryDate = date }
        if let terms = body["payment_terms"]?.stringValue { c.paymentTerms = terms }
        if let vendor = body["vendor_id"].flatMap(Self.int64) {
            guard vendors[vendor]?.companyID == c.companyID else { throw ProcoreError.unprocessable(["vendor_id": ["is invalid"]]) }
            c.vendorID = vendor
        }
        c.updatedAt = now
        commitments[id] = c
        emit("Purchase Order Contracts", "update", id: id, company: c.companyID, project: c.projectID)
        return json(c, full: true)
    }

    func addLine(to id: Int64, body: [String: JSONValue]) throws -> JSONValue {
        guard var c = commitments[id] else { throw ProcoreError.notFound("Purchase Order Contract \(id) not found") }
        if ["Approved", "Closed"].contains(c.status) {
            throw ProcoreError.unprocessable(["base": ["The schedule of values of an approved commitment is locked"]])
        }
        var errors: [String: [String]] = [:]
        let costCode = body["cost_code_id"].flatMap(Self.int64)
        if costCode == nil || costCodes[costCode!]?.projectID != c.projectID { errors["cost_code_id"] = ["is invalid"] }
        let type = body["line_item_type_id"].flatMap(Self.int64)
        if let type, lineItemTypes[type] == nil { errors["line_item_type_id"] = ["is invalid"] }
        let amount = Money.parse(body["amount"])
        if amount == nil { errors["amount"] = ["is not a number"] }
        if let origin = body["origin_id"]?.stringValue, c.lines.contains(where: { $0.originID == origin }) {
            errors["origin_id"] = ["has already been taken"]
        }
        if !errors.isEmpty { throw ProcoreError.unprocessable(errors) }
        let line = ProcoreCommitmentLine(
            id: newID(), position: c.lines.count + 1, description: body["description"]?.stringValue ?? "",
            amount: amount!, quantity: body["quantity"].flatMap(Self.double), unitCost: body["unit_cost"].flatMap(Self.double),
            uom: body["uom"]?.stringValue, costCodeID: costCode!, lineItemTypeID: type, originID: body["origin_id"]?.stringValue,
            createdAt: now, updatedAt: now)
        c.lines.append(line)
        c.updatedAt = now
        commitments[id] = c
        emit("Purchase Order Contract Line Items", "create", id: line.id, company: c.companyID, project: c.projectID)
        return json(line, holder: c)
    }

    func updateLine(commitment id: Int64, line lineText: String, body: [String: JSONValue]) throws -> JSONValue {
        guard var c = commitments[id] else { throw ProcoreError.notFound("Purchase Order Contract \(id) not found") }
        guard let lineID = Int64(lineText), let index = c.lines.firstIndex(where: { $0.id == lineID }) else {
            throw ProcoreError.notFound("Line Item \(lineText) not found")
        }
        if ["Approved", "Closed"].contains(c.status) {
            throw ProcoreError.unprocessable(["base": ["The schedule of values of an approved commitment is locked"]])
        }
        if let amount = body["amount"] {
            guard let value = Money.parse(amount) else { throw ProcoreError.unprocessable(["amount": ["is not a number"]]) }
            c.lines[index].amount = value
        }
        if let code = body["cost_code_id"].flatMap(Self.int64) {
            guard costCodes[code]?.projectID == c.projectID else { throw ProcoreError.unprocessable(["cost_code_id": ["is invalid"]]) }
            c.lines[index].costCodeID = code
        }
        if let description = body["description"]?.stringValue { c.lines[index].description = description }
        if let quantity = body["quantity"].flatMap(Self.double) { c.lines[index].quantity = quantity }
        if let unit = body["unit_cost"].flatMap(Self.double) { c.lines[index].unitCost = unit }
        c.lines[index].updatedAt = now
        c.updatedAt = now
        commitments[id] = c
        emit("Purchase Order Contract Line Items", "update", id: lineID, company: c.companyID, project: c.projectID)
        return json(c.lines[index], holder: c)
    }

    func createRequisition(project: ProcoreProject, commitmentText: String?, body: [String: JSONValue]) throws -> JSONValue {
        guard let commitmentText, let commitmentID = Int64(commitmentText), let c = commitments[commitmentID],
            c.projectID == project.id
        else { throw ProcoreError.notFound("Commitment \(commitmentText ?? "(missing)") not found") }
        try checkOriginID(body["origin_id"]?.stringValue, company: project.companyID, kind: "requisition")
        guard !c.lines.isEmpty else {
            throw ProcoreError.unprocessable(["base": ["The commitment has no schedule of values to invoice against"]])
        }
        let period = try billingPeriod(for: commitmentID, project: project, requested: body["period_id"])
        let number = (requisitionsByCommitment[commitmentID]?.count ?? 0) + 1
        let items = c.lines.map {
            ProcoreContractItem(
                id: newID(), lineItemID: $0.id, costCodeID: $0.costCodeID, description: $0.description,
                scheduledValue: $0.amount, position: $0.position)
        }
        nextBigID += 1
        let r = ProcoreRequisition(
            id: nextBigID, periodID: period, projectID: project.id, companyID: project.companyID, commitmentID: commitmentID, number: number,
            invoiceNumber: body["invoice_number"]?.stringValue, status: body["status"]?.stringValue ?? "draft",
            billingDate: body["billing_date"]?.stringValue, periodStart: body["requisition_start"]?.stringValue,
            periodEnd: body["requisition_end"]?.stringValue, originID: body["origin_id"]?.stringValue,
            originData: body["origin_data"]?.stringValue, items: items, createdAt: now, updatedAt: now)
        requisitions[r.id] = r
        requisitionsByCommitment[commitmentID, default: []].append(r.id)
        if let origin = r.originID { originIndex["requisition|\(r.companyID)|\(origin)"] = r.id }
        return json(r)
    }

    func updateContractItem(requisition id: Int64, item itemText: String, body: [String: JSONValue]) throws -> JSONValue {
        guard var r = requisitions[id] else { throw ProcoreError.notFound("Requisition \(id) not found") }
        guard let itemID = Int64(itemText), let index = r.items.firstIndex(where: { $0.id == itemID }) else {
            throw ProcoreError.notFound("Contract Item \(itemText) not found")
        }
        if let value = body["work_completed_this_period"] {
            guard let amount = Money.parse(value), amount >= .zero else {
                throw ProcoreError.unprocessable(["work_completed_this_period": ["is not a number"]])
            }
            r.items[index].workCompletedThisPeriod = amount
        }
        if let status = body["status"]?.stringValue { r.items[index].status = status }
        r.updatedAt = now
        requisitions[id] = r
        return json(r.items[index])
    }

    static func int64(_ value: JSONValue) -> Int64? {
        switch value {
        case .number(let n): return n == n.rounded() ? Int64(exactly: n) : nil
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
