import Foundation
import SimulatorKit
import SyncEngine

/// The Procore simulator: OAuth client credentials on the simulated clock, company scoping, bare
/// array lists with `Total`/`Per-Page`/absolute `Link` headers, `X-Rate-Limit-*` on every answer,
/// and the financial tools flow 000 writes to. See `../shared/apis/procore.md` and `COVERAGE.md`.
public struct ProcoreSimulator: BackedSimulator {
    public let name = "procore"
    public let backend: ProcoreBackend
    /// Delivers webhook events to the hooks' destinations (Procore's retry ladder, on the clock).
    public let webhooks: WebhookDispatcher?
    private let routes: RouteTable

    public init(clock: any SyncClock) {
        let backend = ProcoreBackend(clock: clock)
        let dispatcher = WebhookDispatcher(clock: clock)
        self.backend = backend
        self.webhooks = dispatcher
        self.routes = ProcoreRoutes(backend: backend, dispatcher: dispatcher).table
    }


    /// Answers a request; the changes it made become webhook events, delivered in the background
    /// after the answer went out (as Procore does: a receiver sees them a moment later, never
    /// inside the API reply; tests call ``WebhookDispatcher/settle()`` before looking). Deliveries
    /// that failed earlier are retried then too once due, and whenever the simulated clock advances.
    /// An unknown route under `/rest/` still counts against the caller's rate windows.
    public func handle(_ request: SimRequest) async -> SimResponse {
        var response: SimResponse
        if let routed = await routes.dispatch(request) {
            response = routed
        } else {
            response = ProcoreError.notFound("Route not found: \(request.method) \(request.path)").response
            if request.path.hasPrefix("/rest/"), let app = await backend.appID(forAuthorization: request.header("authorization")) {
                let company = request.header("procore-company-id").flatMap(Int64.init)
                do {
                    response.headers += try await backend.countRequest(app: app, company: company)
                } catch let error as ProcoreError {
                    response = error.response
                } catch {}
            }
        }
        if let webhooks {
            let events = await backend.drainEvents()
            for event in events { await webhooks.enqueue(event) }
            let waiting = await webhooks.pending
            if !events.isEmpty || waiting > 0 { await webhooks.deliverSoon() }
        }
        return response
    }

    public func apply(_ action: FaultAction) async {
        if action == .expireTokens { await backend.expireAllTokens() }
    }

    /// Every answer carries the rate-limit headers, fault answers included (procore.md §6).
    public func decorate(_ response: inout SimResponse, for request: SimRequest) async {
        guard response.header("X-Rate-Limit-Limit") == nil, request.path.hasPrefix("/rest/") else { return }
        let app = await backend.appID(forAuthorization: request.header("authorization"))
        let company = request.header("procore-company-id").flatMap(Int64.init)
        for (name, value) in await backend.currentRateHeaders(app: app, company: company) { response.headers.append((name, value)) }
    }

    public func reset() async {
        await backend.reset()
        await webhooks?.reset()
    }

    public func seed(_ data: JSONValue) async throws { try await ProcoreSeed.load(data, into: backend) }
}

/// HTTP handlers: decode the request, call the backend, encode Procore's answer.
struct ProcoreRoutes {
    let backend: ProcoreBackend
    let dispatcher: WebhookDispatcher

    /// Routes that answer alike on v1.0 and v1.1: direct costs (list, one with its lines, its
    /// lines) and the requisitions list.
    var versionedRoutes: [SimRoute] {
        ["v1.0", "v1.1"].flatMap { version in
            [
                SimRoute("GET", "/rest/\(version)/projects/{id}/direct_costs", api { _, params, company, app in
                    .list(await backend.listDirectCosts(project: try await backend.project(params["id"], company: company, app: app).id))
                }),
                SimRoute("GET", "/rest/\(version)/projects/{id}/direct_costs/{cost}", api { _, params, company, app in
                    let project = try await backend.project(params["id"], company: company, app: app)
                    return .object(200, await backend.json(try await backend.directCost(params["cost"] ?? "", project: project), lines: true))
                }),
                SimRoute("GET", "/rest/\(version)/projects/{id}/direct_costs/{cost}/line_items", api { _, params, company, app in
                    let project = try await backend.project(params["id"], company: company, app: app)
                    return .list(await (try await backend.directCost(params["cost"] ?? "", project: project)).lines.asyncMap { await backend.json($0) })
                }),
                SimRoute("GET", "/rest/\(version)/requisitions", api { request, _, company, app in
                    let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                    return .list(await backend.listRequisitions(
                        project: project.id, commitmentID: request.queryValue("filters[commitment_id]").flatMap(Int64.init),
                        originID: request.queryValue("filters[origin_id]")))
                }),
            ]
        }
    }

    var table: RouteTable {
        RouteTable(versionedRoutes + [
            SimRoute("POST", "/oauth/token", token),
            SimRoute("GET", "/oauth/token/info", tokenInfo),
            SimRoute("POST", "/oauth/revoke", { request, _ in
                let fields = SimRequest.parseQuery(String(decoding: request.body, as: UTF8.self))
                await backend.revoke(fields.first { $0.name == "token" }?.value ?? request.jsonBody()?["token"]?.stringValue)
                return .json(200, [:])
            }),
            SimRoute("GET", "/rest/v1.0/companies", api(companyScoped: false) { _, _, _, app in
                .list(await backend.companies.values.filter { app.companyIDs.contains($0.id) }.sorted { $0.id < $1.id }.map {
                    ["id": JSONValue(id: $0.id), "name": .string($0.name), "is_active": true, "my_company": true]
                })
            }),
            SimRoute("GET", "/rest/v1.0/me", api(companyScoped: false) { _, _, _, _ in
                .object(200, ["id": 160586, "login": "svc-ml-connector@example.com", "name": "ml-connector DMSA"])
            }),
            SimRoute("GET", "/rest/v1.0/projects", api { request, _, company, _ in
                .list(await backend.listProjects(
                    company: try requireCompany(company), originID: request.queryValue("filters[origin_id]"),
                    number: request.queryValue("filters[project_number]"), byStatus: request.queryValue("filters[by_status]")))
            }),
            // v1.1: the same list; default page 100, at most 300 (procore.md §5)
            SimRoute("GET", "/rest/v1.1/projects", api(maxPerPage: 300) { request, _, company, _ in
                .list(await backend.listProjects(
                    company: try requireCompany(company), originID: request.queryValue("filters[origin_id]"),
                    number: request.queryValue("filters[project_number]"), byStatus: request.queryValue("filters[by_status]")))
            }),
            SimRoute("GET", "/rest/v1.0/companies/{company_id}/projects", api { request, params, company, app in
                guard let id = Int64(params["company_id"] ?? ""), app.companyIDs.contains(id), company == nil || company == id else {
                    throw ProcoreError.notFound("Company \(params["company_id"] ?? "") not found")
                }
                return .list(await backend.companyProjects(company: id, status: request.queryValue("filters[by_status]")))
            }),
            SimRoute("GET", "/rest/v1.0/projects/{id}/users", api { _, params, company, app in
                .list(await backend.projectUsers(project: try await backend.project(params["id"], company: company, app: app)))
            }),
            SimRoute("GET", "/rest/v1.0/project_roles", api { request, _, company, app in
                .list(await backend.projectRoles(project: try await backend.project(request.queryValue("project_id"), company: company, app: app)))
            }),
            SimRoute("GET", "/rest/v1.0/folders", api { request, _, company, app in
                .object(200, try await backend.folder(project: try await backend.project(request.queryValue("project_id"), company: company, app: app), id: nil))
            }),
            SimRoute("GET", "/rest/v1.0/folders/{id}", api { request, params, company, app in
                .object(200, try await backend.folder(
                    project: try await backend.project(request.queryValue("project_id"), company: company, app: app), id: params["id"]))
            }),
            SimRoute("GET", "/rest/v1.0/change_order_packages", api { request, _, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                let contract = request.queryValue("contract_id").flatMap(Int64.init)
                if let contract { _ = try await backend.commitment(String(contract), project: project) }  // 404 for an unknown contract
                return .list(await backend.listChangeOrders(project: project.id, contractID: contract))
            }),
            SimRoute("GET", "/rest/v1.0/change_order_packages/{co}", api { request, params, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                return .object(200, await backend.json(try await backend.changeOrder(params["co"] ?? "", project: project), lines: true))
            }),
            SimRoute("GET", "/rest/v1.0/projects/{id}/commitment_change_orders", api { request, params, company, app in
                let project = try await backend.project(params["id"], company: company, app: app)
                return .list(await backend.listChangeOrders(project: project.id, contractID: request.queryValue("filters[contract_id]").flatMap(Int64.init)))
            }),
            SimRoute("GET", "/rest/v1.0/projects/{id}/commitment_change_orders/{co}", api { _, params, company, app in
                let project = try await backend.project(params["id"], company: company, app: app)
                return .object(200, await backend.json(try await backend.changeOrder(params["co"] ?? "", project: project), lines: true))
            }),
            SimRoute("GET", "/rest/v1.0/projects/{id}/billing_periods", api { request, params, company, app in
                let project = try await backend.project(params["id"], company: company, app: app)
                return .list(await backend.listBillingPeriods(project: project.id, status: nil))
            }),
            SimRoute("POST", "/rest/v1.0/projects/{id}/billing_periods", api { request, params, company, app in
                let project = try await backend.project(params["id"], company: company, app: app)
                return .object(201, try await backend.createBillingPeriod(project: project, body: try Self.body(request, key: "billing_period")))
            }),
            SimRoute("PATCH", "/rest/v1.0/projects/{id}/billing_periods/{period}", api { request, params, company, app in
                let project = try await backend.project(params["id"], company: company, app: app)
                return .object(200, try await backend.updateBillingPeriod(
                    project: project, id: params["period"] ?? "", body: try Self.body(request, key: "billing_period")))
            }),
            SimRoute("GET", "/rest/v1.0/projects/{id}", api { _, params, company, app in
                .object(200, await backend.json(try await backend.project(params["id"], company: company, app: app)))
            }),
            SimRoute("GET", "/rest/v1.0/vendors", api { request, _, company, _ in
                .list(await backend.listVendors(
                    company: try requireCompany(company), originID: request.queryValue("filters[origin_id]"),
                    search: request.queryValue("filters[search]")))
            }),
            SimRoute("POST", "/rest/v1.0/vendors", api { request, _, company, _ in
                let body = try Self.body(request, key: "vendor")
                return .object(201, try await backend.createVendor(company: try requireCompany(company), body: body))
            }),
            SimRoute("GET", "/rest/v1.0/line_item_types", api { _, _, _, _ in .list(await backend.listLineItemTypes()) }),
            SimRoute("GET", "/rest/v1.0/cost_codes", api { request, _, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                return .list(await backend.listCostCodes(project: project.id, originID: request.queryValue("filters[origin_id]")))
            }),
            SimRoute("POST", "/rest/v1.0/cost_codes", api { request, _, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                return .object(201, try await backend.createCostCode(project: project, body: try Self.body(request, key: "cost_code")))
            }),
            SimRoute("GET", "/rest/v1.0/budget_views", api { request, _, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                return .list(await backend.budgetViews(project: project))
            }),
            SimRoute("GET", "/rest/v1.0/budget_views/{id}/detail_rows", api { request, params, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                guard let view = Int64(params["id"] ?? "") else { throw ProcoreError.notFound("Budget View not found") }
                let codes = request.queryValues("cost_code_id[]").compactMap(Int64.init)
                return .list(try await backend.detailRows(project: project, viewID: view, costCodeIDs: codes))
            }),
            SimRoute("POST", "/rest/v1.0/budget_line_items", api { request, _, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                return .object(201, try await backend.createBudgetLine(project: project, body: try Self.body(request, key: "budget_line_item")))
            }),
            SimRoute("GET", "/rest/v1.0/purchase_order_contracts", api { request, _, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                return .list(await backend.listCommitments(
                    project: project.id, originID: request.queryValue("filters[origin_id]"), status: request.queryValue("filters[status]")))
            }),
            SimRoute("POST", "/rest/v1.0/purchase_order_contracts", api { request, _, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let body = try Self.body(request, key: "purchase_order_contract")
                return .object(201, try await backend.createCommitment(project: project, body: body))
            }),
            SimRoute("PATCH", "/rest/v1.0/purchase_order_contracts/sync", api { request, _, company, app in
                let body = request.jsonBody()
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                return .object(200, await backend.syncCommitments(project: project, updates: try ProcoreBackend.syncUpdates(body)))
            }),
            SimRoute("PATCH", "/rest/v1.0/purchase_order_contracts/{id}/line_items/sync", api { request, params, company, app in
                let body = request.jsonBody()
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let c = try await backend.commitment(params["id"] ?? "", project: project)
                return .object(200, try await backend.syncLines(commitment: c.id, updates: try ProcoreBackend.syncUpdates(body)))
            }),
            SimRoute("PATCH", "/rest/v1.0/requisitions/{id}/bulk_item_update", api { request, params, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let r = try await backend.requisition(params["id"] ?? "", project: project)
                return .object(200, .array(try await backend.bulkUpdateItems(requisition: r.id, body: request.jsonBody())))
            }),
            SimRoute("GET", "/rest/v1.0/purchase_order_contracts/{id}", api { request, params, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                let c = try await backend.commitment(params["id"] ?? "", project: project)
                return .object(200, await backend.json(c, full: true))
            }),
            SimRoute("PATCH", "/rest/v1.0/purchase_order_contracts/{id}", api { request, params, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let c = try await backend.commitment(params["id"] ?? "", project: project)
                return .object(200, try await backend.updateCommitment(c.id, body: try Self.body(request, key: "purchase_order_contract")))
            }),
            SimRoute("GET", "/rest/v1.0/purchase_order_contracts/{id}/line_items", api { request, params, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                let c = try await backend.commitment(params["id"] ?? "", project: project)
                return .list(await c.lines.asyncMap { await backend.json($0, holder: c) })
            }),
            SimRoute("POST", "/rest/v1.0/purchase_order_contracts/{id}/line_items", api { request, params, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let c = try await backend.commitment(params["id"] ?? "", project: project)
                return .object(201, try await backend.addLine(to: c.id, body: try Self.body(request, key: "line_item")))
            }),
            SimRoute("PATCH", "/rest/v1.0/purchase_order_contracts/{id}/line_items/{line}", api { request, params, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let c = try await backend.commitment(params["id"] ?? "", project: project)
                return .object(200, try await backend.updateLine(
                    commitment: c.id, line: params["line"] ?? "", body: try Self.body(request, key: "line_item")))
            }),
            SimRoute("POST", "/rest/v1.0/requisitions", api { request, _, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let body = try Self.body(request, key: "requisition")
                return .object(201, try await backend.createRequisition(
                    project: project, commitmentText: Self.scope(request, "commitment_id"), body: body))
            }),
            SimRoute("GET", "/rest/v1.0/requisitions/{id}", api { request, params, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                return .object(200, await backend.json(try await backend.requisition(params["id"] ?? "", project: project)))
            }),
            SimRoute("GET", "/rest/v1.0/requisitions/{id}/contract_items", api { request, params, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                let r = try await backend.requisition(params["id"] ?? "", project: project)
                return .list(await r.items.asyncMap { await backend.json($0) })
            }),
            SimRoute("GET", "/rest/v1.0/contract_payments", api { request, _, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                return .list(try await backend.listContractPayments(project: project, contractText: request.queryValue("contract_id")))
            }),
            SimRoute("POST", "/rest/v1.0/contract_payments", api { request, _, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let body = try Self.body(request, key: "contract_payment")
                return .object(201, try await backend.createContractPayment(project: project, contractText: Self.scope(request, "contract_id"), body: body))
            }),
            SimRoute("GET", "/rest/v1.0/contract_payments/{id}", api { request, params, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                return .object(200, await backend.json(try await backend.contractPayment(params["id"] ?? "", project: project)))
            }),
            SimRoute("PATCH", "/rest/v1.0/contract_payments/{id}", api { request, params, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let p = try await backend.contractPayment(params["id"] ?? "", project: project)
                return .object(200, try await backend.changeContractPayment(p.id, body: try Self.body(request, key: "contract_payment")) ?? .null)
            }),
            SimRoute("DELETE", "/rest/v1.0/contract_payments/{id}", api { request, params, company, app in
                let project = try await backend.project(request.queryValue("project_id"), company: company, app: app)
                let p = try await backend.contractPayment(params["id"] ?? "", project: project)
                _ = try await backend.changeContractPayment(p.id, body: nil)
                return .object(204, nil)
            }),
            SimRoute("POST", "/rest/v1.0/webhooks/hooks", api { request, _, company, app in
                let (companyID, projectID) = try await hookScope(request, company: company, app: app)
                return .object(201, try await backend.createHook(company: companyID, project: projectID, body: try Self.body(request, key: "hook")))
            }),
            SimRoute("GET", "/rest/v1.0/webhooks/hooks", api { request, _, company, app in
                let (companyID, projectID) = try await hookScope(request, company: company, app: app)
                return .list(await backend.listHooks(company: companyID, project: projectID, namespace: request.queryValue("namespace")))
            }),
            SimRoute("PATCH", "/rest/v1.0/webhooks/hooks/{id}", api { request, params, company, _ in
                let hook = try await backend.hook(params["id"] ?? "", company: company)
                return .object(200, try await backend.updateHook(hook.id, body: try Self.body(request, key: "hook")))
            }),
            SimRoute("DELETE", "/rest/v1.0/webhooks/hooks/{id}", api { _, params, company, _ in
                let hook = try await backend.hook(params["id"] ?? "", company: company)
                await backend.deleteHook(hook.id)
                return .object(204, nil)
            }),
            SimRoute("POST", "/rest/v1.0/webhooks/hooks/{id}/triggers", api { request, params, company, _ in
                let hook = try await backend.hook(params["id"] ?? "", company: company)
                guard let json = request.jsonBody() else { throw ProcoreError.badRequest("Malformed JSON in request body") }
                // Some clients nest the trigger inside "hook"; Procore's reference puts it at the top.
                guard let trigger = json["trigger"]?.objectValue ?? json["hook"]?["trigger"]?.objectValue else {
                    throw ProcoreError.badRequest("param is missing or the value is empty: trigger")
                }
                return .object(201, try await backend.createTrigger(hook: hook, body: trigger))
            }),
            SimRoute("POST", "/rest/v1.0/webhooks/hooks/{id}/triggers/bulk", api { request, params, company, _ in
                let hook = try await backend.hook(params["id"] ?? "", company: company)
                guard let list = request.jsonBody()?["triggers"]?.arrayValue else { throw ProcoreError.badRequest("param is missing or the value is empty: triggers") }
                guard list.count <= 100 else { return .object(413, ["errors": "Too many triggers in one request (at most 100)"]) }
                var created: [JSONValue] = []
                var failed: [JSONValue] = []
                for item in list {
                    do {
                        created.append(try await backend.createTrigger(hook: hook, body: item.objectValue ?? [:]))
                    } catch let error as ProcoreError {
                        failed.append(["trigger": item, "errors": .string("\(error)")])
                    }
                }
                return .object(failed.isEmpty ? 200 : 207, ["created": .array(created), "failed": .array(failed)])
            }),
            SimRoute("GET", "/rest/v1.0/webhooks/hooks/{id}/triggers", api { _, params, company, _ in
                let hook = try await backend.hook(params["id"] ?? "", company: company)
                return .list(await backend.listTriggers(hook: hook.id))
            }),
            SimRoute("DELETE", "/rest/v1.0/webhooks/hooks/{id}/triggers/{trigger}", api { _, params, company, _ in
                let hook = try await backend.hook(params["id"] ?? "", company: company)
                try await backend.deleteTrigger(hook: hook.id, params["trigger"] ?? "")
                return .object(204, nil)
            }),
            SimRoute("GET", "/rest/v1.0/webhooks/hooks/{id}/deliveries", api { request, params, company, _ in
                let hook = try await backend.hook(params["id"] ?? "", company: company)
                return .object(200, await deliveries(hook: hook.id, request: request))
            }),
            SimRoute("GET", "/rest/v1.0/webhooks/resources", api { _, _, _, _ in .object(200, .array(await backend.resourceCatalogue())) }),
            SimRoute("PATCH", "/rest/v1.0/requisitions/{id}/contract_items/{item}", api { request, params, company, app in
                let project = try await backend.project(Self.scope(request, "project_id"), company: company, app: app)
                let r = try await backend.requisition(params["id"] ?? "", project: project)
                return .object(200, try await backend.updateContractItem(
                    requisition: r.id, item: params["item"] ?? "", body: try Self.body(request, key: "requisition_contract_item")))
            }),
        ])
    }

    /// A hook is scoped to the company, or to one project when `project_id` is given.
    func hookScope(_ request: SimRequest, company: Int64?, app: ProcoreApp) async throws -> (Int64, Int64?) {
        if let projectText = Self.scope(request, "project_id") {
            let project = try await backend.project(projectText, company: company, app: app)
            return (project.companyID, project.id)
        }
        return (try requireCompany(company), nil)
    }

    /// The deliveries log: cursor paging by `page_start` (last id seen) and `page_size`,
    /// `filters[status]` any | successful | failing | discarded.
    func deliveries(hook: Int64, request: SimRequest) async -> JSONValue {
        let status = request.queryValue("filters[status]") ?? "any"
        let size = max(1, min(Int(request.queryValue("page_size") ?? "") ?? 100, 1000))
        let start = Int64(request.queryValue("page_start") ?? "") ?? 0
        let attempts = await dispatcher.attempts.filter { attempt in
            guard attempt.event.hookID == hook, attempt.id > start else { return false }
            switch status {
            case "successful": return attempt.outcome == .ok
            case "failing": return attempt.outcome == .retried || attempt.outcome == .failed
            case "discarded": return attempt.outcome == .discarded
            default: return true
            }
        }
        return .array(attempts.prefix(size).map { attempt in
            [
                "id": JSONValue(id: attempt.id), "event_id": attempt.event.payload["id"] ?? nil, "outcome": .string(attempt.outcome.rawValue),
                "started_at": .string(ProcoreTime.microseconds(attempt.startedAt)),
                "completed_at": .string(ProcoreTime.microseconds(attempt.completedAt)),
                "response_status": attempt.responseStatus.map { .number(Double($0)) } ?? nil,
                "response_headers": [:], "response_body": JSONValue(attempt.responseBody), "response_error": JSONValue(attempt.responseError),
                "event": attempt.event.payload,
            ]
        })
    }

    enum Answer {
        case object(Int, JSONValue)
        case list([JSONValue])
    }

    typealias APIHandler = @Sendable (SimRequest, [String: String], Int64?, ProcoreApp) async throws -> Answer

    /// Wraps an API handler with what every Procore call does: bearer auth, company scope,
    /// rate-limit counting and headers, list options and pagination, errors in Procore's shape.
    /// Every request of a known app counts against its windows, 4xx answers included
    /// (procore.md §6: "a 400, 403, or 404 response consumes quota exactly like a successful call").
    func api(companyScoped: Bool = true, maxPerPage: Int = 2000, _ handler: @escaping APIHandler) -> SimRoute.Handler {
        { request, params in
            var rateHeaders: [(String, String)] = []
            let appID = await backend.appID(forAuthorization: request.header("authorization"))
            let headerCompany = request.header("procore-company-id")
            let parameter = request.queryValue("company_id") ?? request.jsonBody()?["company_id"].map(ProcoreRoutes.text)
            let countedCompany = (headerCompany ?? parameter).flatMap { Int64($0) }
            do {
                if let appID { rateHeaders = try await backend.countRequest(app: appID, company: countedCompany) }
                let app = try await backend.authenticate(request.header("authorization"))
                var companyID: Int64?
                if companyScoped {
                    companyID = try await backend.company(header: headerCompany, parameter: parameter, app: app)
                } else if let headerCompany {
                    companyID = Int64(headerCompany)
                }
                var response: SimResponse
                switch try await handler(request, params, companyID, app) {
                case .object(let status, let value): response = status == 204 ? SimResponse(status: 204) : .json(status, value)
                case .list(let items): response = await paginate(try Self.listOptions(items, request), request: request, maxPerPage: maxPerPage)
                }
                response.headers += rateHeaders
                return response
            } catch let error as ProcoreError {
                var response = error.response
                if rateHeaders.isEmpty { rateHeaders = await backend.currentRateHeaders(app: appID, company: countedCompany) }
                for (name, value) in rateHeaders where response.header(name) == nil { response.headers.append((name, value)) }
                return response
            } catch {
                return .json(500, ["errors": .string("\(error)")])
            }
        }
    }

    /// The list options Procore applies on index actions (procore.md §4): `filters[updated_at]`
    /// and `filters[created_at]` as `START...END` ranges (date-time or date; a date end takes its
    /// whole day), `filters[status]`, `filters[id][]`, and `sort=field,-field`. A malformed range
    /// or an unknown sort field → 400.
    static func listOptions(_ items: [JSONValue], _ request: SimRequest) throws -> [JSONValue] {
        var rows = items
        for field in ["updated_at", "created_at"] {
            guard let text = request.queryValue("filters[\(field)]") else { continue }
            let ends = text.components(separatedBy: "...")
            guard ends.count == 2, let from = SimDates.parse(ends[0].trimmingCharacters(in: .whitespaces)),
                var to = SimDates.parse(ends[1].trimmingCharacters(in: .whitespaces))
            else { throw ProcoreError.badRequest("filters[\(field)] must be a range START...END (ISO 8601 date-times or dates), not \(text)") }
            if ends[1].trimmingCharacters(in: .whitespaces).count == 10 { to = to.addingTimeInterval(86_399.999) }
            rows = rows.filter { row in
                guard let stamp = row[field]?.stringValue.flatMap(SimDates.parse) else { return false }
                return stamp >= from && stamp <= to
            }
        }
        if let status = request.queryValue("filters[status]") {
            rows = rows.filter { $0["status"]?.stringValue == status }
        }
        let ids = Set((request.queryValues("filters[id][]") + request.queryValues("filters[id]")).flatMap { $0.split(separator: ",") }.compactMap { Int64($0) })
        if !ids.isEmpty { rows = rows.filter { $0["id"].flatMap(ProcoreBackend.int64).map(ids.contains) ?? false } }
        if let sort = request.queryValue("sort"), !sort.isEmpty {
            let keys = sort.split(separator: ",").map { part -> (String, Bool) in
                part.hasPrefix("-") ? (String(part.dropFirst()), true) : (String(part), false)
            }
            for (key, _) in keys where !rows.isEmpty && !rows.contains(where: { $0[key] != nil }) {
                throw ProcoreError.badRequest("sort: unknown attribute '\(key)'")
            }
            rows = rows.enumerated().sorted { a, b in
                for (key, descending) in keys {
                    let order = ODataQuery.order(a.element[key] ?? .null, b.element[key] ?? .null)
                    if order != .orderedSame { return descending ? order == .orderedDescending : order == .orderedAscending }
                }
                return a.offset < b.offset
            }.map(\.element)
        }
        return rows
    }

    /// Procore pagination: `page` (1-based) and `per_page`; `Total`, `Per-Page` and `Link` with
    /// absolute URLs that keep every original query parameter; `[]` past the end.
    func paginate(_ items: [JSONValue], request: SimRequest, maxPerPage: Int = 2000) async -> SimResponse {
        let defaultPerPage = await backend.settings.defaultPerPage
        let perPage = max(1, min(Int(request.queryValue("per_page") ?? "") ?? defaultPerPage, maxPerPage))
        let page = max(1, Int(request.queryValue("page") ?? "") ?? 1)
        let start = min(items.count, (page - 1) * perPage)
        let end = min(items.count, start + perPage)
        let lastPage = max(1, (items.count + perPage - 1) / perPage)
        func link(_ target: Int) -> String {
            var query = request.query.filter { $0.name != "page" && $0.name != "per_page" }
            query.append(("page", String(target)))
            query.append(("per_page", String(perPage)))
            let encoded = query.map { "\(Self.encode($0.name))=\(Self.encode($0.value))" }.joined(separator: "&")
            return "<\(request.origin)\(request.path)?\(encoded)>"
        }
        var links: [String] = []
        if page > 1 {
            links.append("\(link(1)); rel=\"first\"")
            links.append("\(link(min(page - 1, lastPage))); rel=\"prev\"")
        }
        if page < lastPage {
            links.append("\(link(lastPage)); rel=\"last\"")
            links.append("\(link(page + 1)); rel=\"next\"")
        }
        var headers = [("Total", String(items.count)), ("Per-Page", String(perPage))]
        if !links.isEmpty { headers.append(("Link", links.joined(separator: ", "))) }
        return .json(200, .array(Array(items[start..<end])), headers: headers)
    }

    static func encode(_ text: String) -> String { text.percentEncoded(keeping: "-._~") }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .number(let n): return String(Int64(n))
        case .string(let s): return s
        default: return ""
        }
    }

    /// A scope id from the query string or the JSON body (writes put it beside the resource).
    static func scope(_ request: SimRequest, _ name: String) -> String? {
        request.queryValue(name) ?? request.jsonBody()?[name].map(text)
    }

    /// The resource object under its singular key; 400 for malformed JSON or a missing key.
    static func body(_ request: SimRequest, key: String) throws -> [String: JSONValue] {
        guard let json = request.jsonBody() else { throw ProcoreError.badRequest("Malformed JSON in request body") }
        guard let object = json[key]?.objectValue else { throw ProcoreError.badRequest("param is missing or the value is empty: \(key)") }
        return object
    }

    func requireCompany(_ company: Int64?) throws -> Int64 {
        guard let company else { throw ProcoreError.badRequest("company_id is required") }
        return company
    }

    // MARK: OAuth

    func token(_ request: SimRequest, _: [String: String]) async -> SimResponse {
        var fields: [String: String] = [:]
        let contentType = request.header("content-type")?.lowercased() ?? ""
        if contentType.contains("json"), let object = request.jsonBody()?.objectValue {
            for (key, value) in object { fields[key] = Self.text(value) }
        } else if contentType.contains("multipart/form-data") {
            fields = Self.multipartFields(request.body, contentType: contentType)
        } else {
            for (name, value) in SimRequest.parseQuery(String(decoding: request.body, as: UTF8.self)) { fields[name] = value }
        }
        for (name, value) in request.query where fields[name] == nil { fields[name] = value }
        if let basic = request.header("authorization"), basic.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(basic.dropFirst(6))), let text = String(data: data, encoding: .utf8),
            let colon = text.firstIndex(of: ":")
        {
            fields["client_id"] = fields["client_id"] ?? String(text[..<colon])
            fields["client_secret"] = fields["client_secret"] ?? String(text[text.index(after: colon)...])
        }
        do {
            let token = try await backend.issueToken(
                clientID: fields["client_id"], clientSecret: fields["client_secret"], grantType: fields["grant_type"], fields: fields)
            return .json(200, token, headers: [("Cache-Control", "no-store"), ("Pragma", "no-cache")])
        } catch let error as ProcoreError {
            return error.response
        } catch {
            return .json(500, ["error": "server_error"])
        }
    }

    func tokenInfo(_ request: SimRequest, _: [String: String]) async -> SimResponse {
        do {
            return .json(200, try await backend.tokenInfo(request.header("authorization")))
        } catch let error as ProcoreError {
            return error.response
        } catch {
            return .json(500, ["error": "server_error"])
        }
    }

    static func multipartFields(_ body: Data, contentType: String) -> [String: String] {
        guard let range = contentType.range(of: "boundary=") else { return [:] }
        let boundary = "--" + contentType[range.upperBound...].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        var fields: [String: String] = [:]
        for part in String(decoding: body, as: UTF8.self).components(separatedBy: boundary) {
            guard let nameRange = part.range(of: "name=\""), let end = part[nameRange.upperBound...].firstIndex(of: "\""),
                let split = part.range(of: "\r\n\r\n")
            else { continue }
            let name = String(part[nameRange.upperBound..<end])
            fields[name] = part[split.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return fields
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var result: [T] = []
        result.reserveCapacity(count)
        for element in self { result.append(await transform(element)) }
        return result
    }
}
