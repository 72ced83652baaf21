import Foundation
import SimulatorKit
import SyncEngine

/// Purchase orders, order items and bills: the reads flow 001 (Procurify → SYSPRO) polls
/// (procurify.md §4–§6). All read-only, as in Procurify: POs exist only once purchased.
extension ProcurifySimulator {
    /// The answer for a PO, order-item or bill route, or `nil` when the path is none of them.
    func orders(path: String, request: SimRequest, settings: ProcurifyBackend.Settings) async -> SimResponse? {
        let parts = path.split(separator: "/").map(String.init)
        switch parts.count {
        case 5 where parts[1] == "v2" && parts[2] == "purchase_orders":
            guard ["purchased", "receivable"].contains(parts[3]), Self.poStatuses.keys.contains(parts[4]) else { return Self.detail(404, "Not found.") }
            return await purchaseOrderList(status: parts[4], request: request, path: path, settings: settings)
        case 4 where parts[1] == "v2" && parts[2] == "purchase_orders":
            let key = parts[3].lowercased()
            let found = await backend.purchaseOrders.first {
                $0["procurify_PO"]?.scalarText == key || $0["uuid"]?.stringValue?.lowercased() == key
            }
            guard let found else { return Self.detail(404, "Not found.") }
            return .json(200, ["metadata": ["can_edit": false, "can_delete": false], "data": found])
        case 3 where parts[1] == "v3" && parts[2] == "order-items", 4 where parts[1] == "v2" && parts[2] == "global" && parts[3] == "order_items":
            return await orderItems(request: request, path: path, settings: settings)
        case 4 where parts[1] == "v3" && parts[2] == "ap" && parts[3] == "bills":
            return await billList(request: request, path: path, settings: settings)
        case 5 where parts[1] == "v2" && parts[2] == "ap" && parts[3] == "bills":
            let key = parts[4].lowercased().replacingOccurrences(of: "-", with: "")
            guard key.allSatisfy(\.isHexDigit) else { return Self.detail(404, "Not found.") }
            guard let bill = await backend.bills.first(where: { $0["uuid"]?.stringValue?.lowercased().replacingOccurrences(of: "-", with: "") == key }) else {
                return Self.detail(404, "Not found.")
            }
            let summary: JSONValue = ["has_multiple_currency": false, "total_cost": bill["total_cost"] ?? .null]
            return .json(200, ["metadata": ["summary": summary, "permissions": ["can_edit": false, "can_delete": false, "can_approve": false]], "data": bill])
        default:
            return nil
        }
    }

    /// Which POs each status segment lists (`state`: 0 purchased, 1 cancelled, 3 closed, 4 paid, 5 reopened).
    static let poStatuses: [String: @Sendable (JSONValue) -> Bool] = [
        "all": { _ in true },
        "open": { [0, 5].contains(Int($0["state"]?.doubleValue ?? -1)) && $0["fulfilment_status"]?.stringValue != "full" },
        "partial": { $0["fulfilment_status"]?.stringValue == "partial" },
        "closed": { $0["state"]?.doubleValue == 3 },
        "cancelled": { $0["state"]?.doubleValue == 1 },
        "paid": { $0["state"]?.doubleValue == 4 },
    ]

    func purchaseOrderList(status: String, request: SimRequest, path: String, settings: ProcurifyBackend.Settings) async -> SimResponse {
        let all = await backend.purchaseOrders
        var rows = all.filter { Self.poStatuses[status]!($0) }
        for (parameter, field) in [("modified_date", "last_modified"), ("date", "date"), ("promise_date", "promise_date")] {
            switch Self.window(rows, request, parameter: parameter, field: field, dayOnly: true) {
            case .success(let kept): rows = kept
            case .failure(let refusal): return refusal.response
            }
        }
        if let vendor = request.queryValue("pref_vendor") { rows = rows.filter { $0["pref_vendor"]?["id"]?.scalarText == vendor } }
        rows = Self.ordered(rows, request.queryValue("order_by"))
        var counts: [String: JSONValue] = [:]
        for (name, test) in Self.poStatuses { counts[name] = .number(Double(all.filter(test).count)) }
        let listed: [JSONValue] = rows.map { row in
            var fields = row.objectValue ?? [:]
            fields["item_count"] = .number(Double(fields["order_items"]?.arrayValue?.count ?? 0))
            fields["order_items"] = nil  // the list carries no lines; the detail call does
            return .object(fields)
        }
        return page(listed, request: request, path: path, settings: settings,
                    handled: ["modified_date_0", "modified_date_1", "date_0", "date_1", "promise_date_0", "promise_date_1", "pref_vendor"],
                    metadata: ["counts": ["purchased": .object(counts), "receivable": .object(counts)]])
    }

    /// The lines of every PO, flattened with flat ids and decimal-string numbers as the list serves them.
    func orderItems(request: SimRequest, path: String, settings: ProcurifyBackend.Settings) async -> SimResponse {
        var rows: [JSONValue] = []
        for po in await backend.purchaseOrders {
            for item in po["order_items"]?.arrayValue ?? [] {
                var fields = item.objectValue ?? [:]
                fields["purchase_order"] = po["procurify_PO"] ?? .null
                fields["PO"] = .array([po["procurify_PO"] ?? .null])
                fields["po_created_date"] = po["date"] ?? .null
                fields["account"] = item["account"]?["id"] ?? .null
                fields["currency"] = item["currency"]?["id"] ?? .null
                fields["pref_vendor"] = po["pref_vendor"]?["id"] ?? .null
                for key in ["quantity", "receivedPassQty", "receivedFailQty"] {
                    if let number = fields[key]?.doubleValue { fields[key] = .string(String(format: "%.2f", number)) }
                }
                rows.append(.object(fields))
            }
        }
        for (parameter, field) in [("last_modified", "last_modified"), ("po_created_date", "po_created_date")] {
            switch Self.window(rows, request, parameter: parameter, field: field, dayOnly: true) {
            case .success(let kept): rows = kept
            case .failure(let refusal): return refusal.response
            }
        }
        return page(Self.ordered(rows, request.queryValue("order_by")), request: request, path: path, settings: settings,
                    handled: ["last_modified_0", "last_modified_1", "po_created_date_0", "po_created_date_1"])
    }

    /// Bills as `SimpleBill`s: vendor `{id, name}`, `items` as ids; `last_modified_datetime_0/1`
    /// compare date-times, `modified_date_0/1` days.
    func billList(request: SimRequest, path: String, settings: ProcurifyBackend.Settings) async -> SimResponse {
        var rows = await backend.bills
        for (parameter, dayOnly) in [("last_modified_datetime", false), ("modified_date", true)] {
            switch Self.window(rows, request, parameter: parameter, field: "last_modified_datetime", dayOnly: dayOnly) {
            case .success(let kept): rows = kept
            case .failure(let refusal): return refusal.response
            }
        }
        if let vendor = request.queryValue("vendor") { rows = rows.filter { $0["vendor"]?["id"]?.scalarText == vendor } }
        let listed: [JSONValue] = Self.ordered(rows, request.queryValue("order_by")).map { bill in
            var fields = bill.objectValue ?? [:]
            fields["vendor"] = ["id": bill["vendor"]?["id"] ?? .null, "name": bill["vendor"]?["name"] ?? .null]
            fields["items"] = .array((bill["items"]?.arrayValue ?? []).map { $0["id"] ?? .null })
            for key in ["costs", "bill_statuses", "added_purchase_orders", "subtotal_cost"] { fields[key] = nil }
            return .object(fields)
        }
        let total = rows.reduce(0.0) { $0 + ($1["total_cost_with_tax"]?.doubleValue ?? 0) }
        return page(listed, request: request, path: path, settings: settings,
                    handled: ["last_modified_datetime_0", "last_modified_datetime_1", "modified_date_0", "modified_date_1", "vendor"],
                    metadata: ["summary": ["has_multiple_currency": false, "total_cost": .number(total)],
                               "permissions": ["can_edit": false, "can_delete": false, "can_approve": false]])
    }

    struct Refusal: Error {
        var response: SimResponse
    }

    /// Keeps the rows whose `field` lies in the inclusive window `{parameter}_0` … `{parameter}_1`.
    /// Day windows compare the `YYYY-MM-DD` part (a record edited twice in one day shows in both
    /// polls of that day: the client dedupes); date-time windows compare instants. A value in
    /// another format is refused as DRF does, `{"modified_date_0": ["Enter a valid date."]}`.
    static func window(_ rows: [JSONValue], _ request: SimRequest, parameter: String, field: String, dayOnly: Bool) -> Result<[JSONValue], Refusal> {
        var kept = rows
        for (suffix, isStart) in [("_0", true), ("_1", false)] {
            guard let text = request.queryValue(parameter + suffix) else { continue }
            let name = parameter + suffix
            if dayOnly {
                guard text.count == 10, SimDates.parse(text) != nil else {
                    return .failure(Refusal(response: .json(400, [name: ["Enter a valid date."]])))
                }
                kept = kept.filter { row in
                    guard let value = row[field]?.stringValue?.prefix(10) else { return false }
                    return isStart ? value >= text : value <= text
                }
            } else {
                guard let bound = SimDates.parse(text) else {
                    return .failure(Refusal(response: .json(400, [name: ["Enter a valid date/time."]])))
                }
                kept = kept.filter { row in
                    guard let value = row[field]?.stringValue.flatMap(SimDates.parse) else { return false }
                    return isStart ? value >= bound : value <= bound
                }
            }
        }
        return .success(kept)
    }

    /// `order_by=field` or `-field`; the stored order otherwise.
    static func ordered(_ rows: [JSONValue], _ order: String?) -> [JSONValue] {
        guard let order, !order.isEmpty else { return rows }
        let descending = order.hasPrefix("-")
        let field = descending ? String(order.dropFirst()) : order
        return rows.sorted { a, b in
            let (x, y) = (a[field]?.scalarText ?? "", b[field]?.scalarText ?? "")
            return descending ? x > y : x < y
        }
    }
}
