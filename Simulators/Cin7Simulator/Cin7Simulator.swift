import Foundation
import SimulatorKit
import SyncEngine

/// The Cin7 Core simulator: `/ExternalApi/v2/…` matched case-insensitively (query names too),
/// `api-auth-accountid` + `api-auth-applicationkey` on every call, errors as
/// `[{"ErrorCode":…,"Exception":…}]`, 60 calls per minute per application.
public struct Cin7Simulator: BackedSimulator {
    public let name = "cin7"
    public let backend: Cin7Backend
    public static let root = "/ExternalApi/v2"

    public init(clock: any SyncClock) { backend = Cin7Backend(clock: clock) }

    public func handle(_ request: SimRequest) async -> SimResponse {
        let lower = request.path.lowercased()
        let prefix = Self.root.lowercased() + "/"
        guard lower.hasPrefix(prefix) else { return SimResponse(status: 404, headers: [("Content-Type", "text/html")], body: Data("<h1>Not Found</h1>".utf8)) }
        switch await backend.admit(accountID: request.header("api-auth-accountid"), key: request.header("api-auth-applicationkey")) {
        case .forbidden: return Self.error(403, "Incorrect credentials!")
        case .throttled(let seconds):
            let settings = await backend.settings
            var answer = Self.error(settings.throttleStatus, "You reached \(settings.callsPerMinute) calls per minute API limit")
            if settings.retryAfter { answer.headers.append(("Retry-After", String(seconds))) }
            return answer
        case .ok: break
        }
        let endpoint = String(lower.dropFirst(prefix.count))
        let page = max(1, Int(request.queryValueIgnoringCase("Page") ?? "") ?? 1)
        let limit = min(1000, max(1, Int(request.queryValueIgnoringCase("Limit") ?? "") ?? 100))
        do {
            switch (request.method, endpoint) {
            case ("GET", "me"): return .json(200, await backend.profile)
            case ("GET", "supplier"):
                let since = try request.queryValueIgnoringCase("ModifiedSince").map(Self.instant)
                let list = await backend.supplierList(
                    id: request.queryValueIgnoringCase("ID"), name: request.queryValueIgnoringCase("Name"), modifiedSince: since,
                    includeDeprecated: request.queryValueIgnoringCase("IncludeDeprecated")?.lowercased() == "true")
                return .json(200, Self.page(list, key: "SupplierList", page: page, limit: limit))
            case ("POST", "supplier"), ("PUT", "supplier"):
                let saved = try await backend.saveSupplier(try Self.object(request), update: request.method == "PUT")
                return .json(200, ["Total": 1, "Page": 1, "SupplierList": [saved]])
            case ("GET", "ref/account"):
                let list = await backend.accountList(
                    code: request.queryValueIgnoringCase("Code"), name: request.queryValueIgnoringCase("Name"),
                    type: request.queryValueIgnoringCase("Type"), status: request.queryValueIgnoringCase("Status"))
                return .json(200, Self.page(list, key: "AccountsList", page: page, limit: limit))
            case ("GET", "product"):
                let list = await backend.productList(
                    id: request.queryValueIgnoringCase("ID"), sku: request.queryValueIgnoringCase("Sku"), name: request.queryValueIgnoringCase("Name"))
                return .json(200, Self.page(list, key: "Products", page: page, limit: limit))
            case ("POST", "purchase"): return .json(200, try await backend.createPurchase(try Self.object(request)))
            case ("GET", "purchase"): return .json(200, .object(try await backend.purchase(request.queryValueIgnoringCase("ID")).value))
            case ("POST", "purchase/order"), ("POST", "purchase/invoice"), ("POST", "purchase/stock"):
                let kind = String(endpoint.dropFirst("purchase/".count))
                return .json(200, try await backend.postDocument(kind, try Self.object(request)))
            case ("GET", "purchase/order"), ("GET", "purchase/invoice"), ("GET", "purchase/stock"):
                let purchase = try await backend.purchase(request.queryValueIgnoringCase("TaskID")).value
                let key = ["purchase/order": "Order", "purchase/invoice": "Invoice", "purchase/stock": "StockReceived"][endpoint]!
                var document = purchase[key]?.objectValue ?? [:]
                document["TaskID"] = purchase["ID"] ?? .null
                return .json(200, .object(document))
            case ("POST", "advanced-purchase"): return .json(200, try await backend.createAdvancedPurchase(try Self.object(request)))
            case ("GET", "advanced-purchase"):
                let combine = request.queryValueIgnoringCase("CombineAdditionalCharges")?.lowercased() == "true"
                return .json(200, try await backend.advancedView(request.queryValueIgnoringCase("ID"), combineCharges: combine))
            case ("POST", "advanced-purchase/stock"), ("POST", "advanced-purchase/invoice"), ("POST", "advanced-purchase/creditnote"),
                ("POST", "advanced-purchase/put-away"):
                return .json(200, try await backend.postAdvancedDocument(String(endpoint.dropFirst("advanced-purchase/".count)), try Self.object(request)))
            case ("GET", "purchaselist"):
                let since = try request.queryValueIgnoringCase("UpdatedSince").map(Self.instant)
                let list = await backend.purchaseList(search: request.queryValueIgnoringCase("Search"), updatedSince: since)
                return .json(200, Self.page(list, key: "PurchaseList", page: page, limit: limit))
            case (_, "me"), (_, "supplier"), (_, "ref/account"), (_, "product"), (_, "purchase"), (_, "purchaselist"),
                (_, "purchase/order"), (_, "purchase/invoice"), (_, "purchase/stock"), (_, "advanced-purchase"), (_, "advanced-purchase/stock"),
                (_, "advanced-purchase/invoice"), (_, "advanced-purchase/creditnote"), (_, "advanced-purchase/put-away"):
                return Self.error(405, "The requested resource does not support http method '\(request.method)'.")
            default:
                return SimResponse(status: 404, headers: [("Content-Type", "text/html")], body: Data("<h1>Not Found</h1>".utf8))
            }
        } catch let refusal as Cin7Backend.Refusal {
            return Self.error(400, refusal.text)
        } catch {
            return Self.error(400, "\(error)")
        }
    }

    static func object(_ request: SimRequest) throws -> [String: JSONValue] {
        guard let body = request.jsonBody()?.objectValue else { throw Cin7Backend.Refusal("The request body is not a JSON object.") }
        return body
    }

    static func instant(_ text: String) throws -> Date {
        guard let date = SimDates.parse(text) else { throw Cin7Backend.Refusal("'\(text)' is not a valid date.") }
        return date
    }

    /// The list envelope `{"Total","Page","<Name>List"}`.
    static func page(_ items: [JSONValue], key: String, page: Int, limit: Int) -> JSONValue {
        let start = min(items.count, (page - 1) * limit)
        return ["Total": .number(Double(items.count)), "Page": .number(Double(page)), key: .array(Array(items[start..<min(items.count, start + limit)]))]
    }

    public func apply(_ action: FaultAction) async {}
    public func reset() async { await backend.reset() }
    public func seed(_ data: JSONValue) async throws { try await backend.seed(data) }
}
