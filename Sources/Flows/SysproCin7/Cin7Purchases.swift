import Cin7Client
import Foundation
import SyncEngine

/// A SYSPRO PO checked and ready to become a Cin7 purchase.
public struct PurchasePlan: Sendable {
    var number: String
    var supplierID: String
    var supplierName: String
    /// `INVOICE` or `STOCK`.
    var approach: String
    /// `AUTHORISED`, or `DRAFT` for a suspended PO.
    var orderStatus: String
    var requiredBy: String?
    var lines: [JSONValue]
    /// The stock-received lines when SYSPRO has received every line in full (its receipt, the
    /// seed's RECEIVE stage); `nil` while goods are still to come.
    var receipt: [JSONValue]?
}

/// A SYSPRO AP invoice checked and ready to become its purchase's invoice stage.
public struct InvoicePlan: Sendable {
    var supplier: String
    var invoice: String
    var invoiceDate: String
    var purchaseID: String
    var approach: String
    /// Order lines with the GL account each posts to.
    var lines: [JSONValue]
    /// What a stock-first purchase receives before the invoice.
    var stockLines: [JSONValue]
    /// Whether SYSPRO has received every line in full: an invoice-first purchase then gets its
    /// stock received after the invoice, and is complete.
    var received: Bool
}

extension SysproCin7 {
    // MARK: purchase orders

    /// The Cin7 order lines of a SYSPRO PO: each stock code a Cin7 product (by SKU), quantities
    /// of at least 1 (Cin7's rule), totals to the cent.
    func cin7Lines(_ order: SysproPurchaseOrder) async throws -> [(line: SysproPurchaseOrder.Line, json: [String: JSONValue])] {
        let products = try await products()
        return try order.lines.map { line in
            let sku: String
            if line.stockCode.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let service = settings.nonStockProduct else {
                    throw SyncError(.missingMapping, "PO \(order.number) line \(line.line) is a non-stock line (no stock code); set settings.nonStockProduct to the SKU of a Cin7 service product it can go on")
                }
                sku = service
            } else {
                sku = settings.products[line.stockCode] ?? line.stockCode
            }
            guard let product = products[sku.uppercased()] else {
                let mapped = sku == line.stockCode ? "" : " (mapped from stock code \(line.stockCode))"
                throw SyncError(.missingMapping, "PO \(order.number) line \(line.line): Cin7 has no product with SKU \(sku)\(mapped); add the product in Cin7 or map the stock code in settings.products. The PO is retried each cycle.")
            }
            guard line.quantity >= 1 else {
                throw SyncError(.invalidRecord, "PO \(order.number) line \(line.line): quantity \(line.quantity) is below 1, which Cin7 refuses on a purchase line; order in a unit of at least 1 in SYSPRO")
            }
            let total = (line.quantity * line.price * 100).rounded() / 100
            return (line, [
                "ProductID": product["ID"] ?? .null, "SKU": .string(sku), "Name": product["Name"] ?? .string(line.description),
                "Quantity": .number(line.quantity), "Price": .number(line.price), "Discount": 0, "Tax": 0,
                "TaxRule": .string(settings.taxRule), "Total": .number(total), "Comment": .string("SYSPRO line \(line.line)"),
            ])
        }
    }

    /// A stock-received line for an order line: the product, the quantity, the day, the location.
    func stockLine(_ json: [String: JSONValue], date: String) -> JSONValue {
        ["ProductID": json["ProductID"] ?? .null, "SKU": json["SKU"] ?? .null, "Quantity": json["Quantity"] ?? 1,
         "Date": .string("\(date)T00:00:00"), "Location": .string(settings.location)]
    }

    /// The Cin7 supplier id of a SYSPRO supplier: where the supplier entity wrote it, else the
    /// Cin7 supplier carrying its code.
    func cin7SupplierID(_ code: String, run: RunContext) async throws -> (id: String, name: String)? {
        let normalised = SupplierMatch.normalisedCode(code)
        if let id = try await run.destinationID(entity: Self.sysproSuppliers.name, sourceID: normalised),
            let supplier = try await cin7Suppliers().first(where: { $0["ID"]?.stringValue?.lowercased() == id.lowercased() })
        {
            return (id, supplier["Name"]?.stringValue ?? code)
        }
        guard let supplier = try await cin7Suppliers().first(where: { SupplierMatch.normalisedCode($0[settings.codeAttribute]?.stringValue ?? "") == normalised }),
            let id = supplier["ID"]?.stringValue
        else { return nil }
        return (id, supplier["Name"]?.stringValue ?? code)
    }

    func planPurchase(_ record: SourceRecord, run: RunContext) async throws -> Planned<Plan> {
        let order = try SysproPurchaseOrder.parse(
            header: record.payload["header"] ?? .null, lines: record.payload["lines"]?.arrayValue ?? [], shape: settings.shape, latest: reader.latestDate)
        guard let supplier = try await cin7SupplierID(order.supplier, run: run) else {
            throw SyncError(.unknownSupplier, "PO \(order.number): SYSPRO supplier \(order.supplier) is not in Cin7 yet (see `ml-connector audit --source-id \(order.supplier)`); the PO goes through once the supplier syncs")
        }
        let lines = try await cin7Lines(order)
        let approach = settings.approach == "auto" ? (order.lines.contains { $0.received > 0 } ? "STOCK" : "INVOICE") : settings.approach
        let status = settings.draftOrderStatuses.contains(order.status) ? "DRAFT" : "AUTHORISED"
        let plan = PurchasePlan(
            number: order.number, supplierID: supplier.id, supplierName: supplier.name, approach: approach, orderStatus: status,
            requiredBy: order.dueDate.map { "\($0)T00:00:00" }, lines: lines.map { .object($0.json) },
            receipt: order.lines.allSatisfy { $0.received >= $0.quantity } ? lines.map { stockLine($0.json, date: CalendarDay.string(clock.now())) } : nil)
        return Planned(key: "\(settings.originPrefix)-PO-\(order.number)", plan: .purchase(plan), links: ["approach": approach])
    }

    /// The purchase carrying `key`, looked up after a write whose answer was lost: the supplier's
    /// purchases changed since shortly before the intent (Cin7's `Search` matches the supplier
    /// name, not our reference), each read until one carries the reference.
    func findPurchase(key: String, supplierName: String, since: Date) async throws -> JSONValue? {
        let candidates = try await cin7.all(
            "purchaseList", key: "PurchaseList", query: [("Search", supplierName), ("UpdatedSince", Cin7Client.stamp(since.addingTimeInterval(-3600)))])
        for candidate in candidates.reversed() {
            guard let id = candidate["ID"]?.stringValue else { continue }
            let purchase = try await cin7.get("purchase", query: [("ID", id)])
            if purchase["AdditionalAttributes"]?[settings.codeAttribute]?.stringValue == key { return purchase }
        }
        return nil
    }

    /// Header, then order: `POST /purchase` with the reference, `POST /purchase/order` with the
    /// lines. A purchase that exists (an earlier attempt, an amendment) gets only what it lacks;
    /// an order Cin7 has authorised takes no second POST, so a PO changed in SYSPRO after that is
    /// held for a person.
    func writePurchase(_ plan: PurchasePlan, key: String, previous: CrossReference?, run: RunContext) async throws -> Written {
        var purchase: JSONValue?
        if let previous, previous.state == .done, let id = previous.destinationID {
            purchase = try await cin7.get("purchase", query: [("ID", id)])
        } else if let previous, previous.state == .pending {
            purchase = try await findPurchase(key: key, supplierName: plan.supplierName, since: previous.updatedAt)
        }
        var created = false
        if purchase == nil {
            var header: [String: JSONValue] = [
                "SupplierID": .string(plan.supplierID), "Approach": .string(plan.approach), "Location": .string(settings.location),
                "TaxRule": .string(settings.taxRule), "Note": .string("SYSPRO PO \(plan.number)"),
                "AdditionalAttributes": .object([settings.codeAttribute: .string(key)]),
            ]
            if let required = plan.requiredBy { header["RequiredBy"] = .string(required) }
            purchase = try await cin7.call("POST", "purchase", body: .object(header))
            created = true
            try await run.betweenStages(plan.number)
        }
        guard let purchase, let id = purchase["ID"]?.stringValue else {
            throw SyncError(.unexpectedResponse, "Cin7 answered POST /purchase for PO \(plan.number) without the purchase's ID")
        }
        let order: [String: JSONValue] = ["TaskID": .string(id), "Status": .string(plan.orderStatus), "Lines": .array(plan.lines)]
        let number = purchase["OrderNumber"]?.scalarText ?? id
        var done: [String] = []
        if purchase["Order"]?["Status"]?.stringValue == "AUTHORISED" {
            guard Self.sameLines(purchase["Order"]?["Lines"]?.arrayValue ?? [], plan.lines) else {
                throw SyncError(.rejected, "PO \(plan.number) changed in SYSPRO after Cin7 authorised its order on \(number); Cin7 takes no second order, so amend the purchase in Cin7 by hand (or void it there and replay this PO)")
            }
        } else {
            let answer = try await cin7.call("POST", "purchase/order", body: .object(order))
            done.append("order \(answer["Status"]?.scalarText ?? plan.orderStatus), total \(answer["Total"]?.scalarText ?? "?")")
        }
        // the receipt: on a stock-first purchase once SYSPRO has received everything; on an
        // invoice-first one only after its invoice (Cin7's rule), which the invoice write handles
        let invoiced = purchase["Invoice"]?["Status"]?.stringValue == "AUTHORISED"
        if let receipt = plan.receipt, plan.orderStatus == "AUTHORISED", purchase["StockReceived"]?["Status"]?.stringValue != "AUTHORISED",
            plan.approach == "STOCK" || invoiced
        {
            try await run.betweenStages(plan.number)
            _ = try await cin7.call("POST", "purchase/stock", body: ["TaskID": .string(id), "Status": "AUTHORISED", "Lines": .array(receipt)])
            done.append("stock received")
        }
        guard !done.isEmpty else {
            return Written(outcome: .skippedDuplicate, destinationID: id, transformed: .object(order), response: "\(number) already has every stage SYSPRO has reached")
        }
        return Written(
            outcome: created ? .created : .updated, destinationID: id, transformed: .object(order),
            response: "\(number) (\(plan.approach)): \(done.joined(separator: "; "))")
    }

    /// Whether an authorised order has the lines a plan would send (product, quantity, price).
    static func sameLines(_ existing: [JSONValue], _ wanted: [JSONValue]) -> Bool {
        func key(_ line: JSONValue) -> String {
            "\(line["SKU"]?.stringValue?.uppercased() ?? line["ProductID"]?.stringValue ?? "")|\(line["Quantity"]?.doubleValue ?? 0)|\(line["Price"]?.doubleValue ?? 0)"
        }
        return existing.map(key).sorted() == wanted.map(key).sorted()
    }

    // MARK: AP invoices

    func planInvoice(_ record: SourceRecord, run: RunContext) async throws -> Planned<Plan> {
        let invoice = try SysproInvoice.parse(record.payload, shape: settings.shape, latest: reader.latestDate)
        guard let po = try await run.crossReference(entity: Self.purchaseOrders.name, key: "\(settings.originPrefix)-PO-\(invoice.purchaseOrder)"),
            po.state == .done, let purchaseID = po.destinationID
        else {
            throw SyncError(.waitingForDependency, "\(record.id): invoice waits for PO \(invoice.purchaseOrder), which has not reached Cin7 yet (see `ml-connector audit --source-id \(invoice.purchaseOrder)`); it goes through by itself once the PO lands")
        }
        guard let source = try await reader.purchaseOrder(invoice.purchaseOrder) else {
            throw SyncError(.waitingForDependency, "\(record.id): PO \(invoice.purchaseOrder) is no longer found in SYSPRO's PorMasterHdr; the invoice stays held until it reads again")
        }
        let order = try SysproPurchaseOrder.parse(
            header: source.payload["header"] ?? .null, lines: source.payload["lines"]?.arrayValue ?? [], shape: settings.shape, latest: reader.latestDate)
        let difference = Double((invoice.amount - order.total).minor.magnitude) / 100
        guard difference <= settings.invoiceTolerance + 1e-9 else {
            throw SyncError(.invalidRecord, "\(record.id): invoice \(invoice.invoice) is \(invoice.amount) but PO \(order.number)'s lines add up to \(order.total); a Cin7 simple purchase takes one invoice for the order. Correct the invoice or the PO in SYSPRO (or raise settings.invoiceTolerance), then replay")
        }
        let chart = try await accounts()
        var lines: [JSONValue] = []
        var stock: [JSONValue] = []
        for (line, json) in try await cin7Lines(order) {
            let account = settings.glAccounts[line.glCode] ?? line.glCode
            guard let found = chart[account], (found["Status"]?.stringValue ?? "ACTIVE").uppercased() == "ACTIVE" else {
                let mapped = account == line.glCode ? "" : " (mapped from SYSPRO GL \(line.glCode))"
                let state = chart[account] == nil ? "is not in Cin7's chart of accounts" : "is \(chart[account]?["Status"]?.scalarText ?? "inactive") in Cin7's chart of accounts"
                throw SyncError(.missingAccount, "\(record.id): PO \(order.number) line \(line.line) posts to GL account \(account)\(mapped), which \(state). Add or reactivate account \(account) in Cin7 (Settings → Chart of Accounts), or map \(line.glCode) to an existing account in settings.glAccounts; the invoice is retried each cycle.")
            }
            var invoiceLine = json
            invoiceLine["Account"] = .string(account)
            lines.append(.object(invoiceLine))
            stock.append(stockLine(json, date: invoice.invoiceDate))
        }
        let plan = InvoicePlan(
            supplier: invoice.supplier, invoice: invoice.invoice, invoiceDate: invoice.invoiceDate, purchaseID: purchaseID,
            approach: po.links?["approach"] ?? "INVOICE", lines: lines, stockLines: stock,
            received: order.lines.allSatisfy { $0.received >= $0.quantity })
        return Planned(key: "\(settings.originPrefix)-AP-\(invoice.supplier)-\(invoice.invoice)", plan: .invoice(plan))
    }

    /// The invoice stage: on a stock-first purchase the stock received first (Cin7 refuses the
    /// invoice before it), then the invoice. A first attempt posts at once; a retry reads the
    /// purchase and posts only what it lacks; a refusal because the invoice exists is checked
    /// against the purchase before it counts as done.
    func writeInvoice(_ plan: InvoicePlan, key: String, previous: CrossReference?, run: RunContext) async throws -> Written {
        let sourceID = "\(plan.supplier)/\(plan.invoice)"
        var purchase: JSONValue?
        // a retry reads what landed; so does a stock-first purchase (its receipt may be in already)
        if previous != nil || plan.approach == "STOCK" { purchase = try await cin7.get("purchase", query: [("ID", plan.purchaseID)]) }
        if let purchase, let done = try invoiceDone(purchase, plan) {
            // the invoice landed before a crash; the receipt that follows it may not have
            guard plan.approach == "INVOICE", plan.received, purchase["StockReceived"]?["Status"]?.stringValue != "AUTHORISED" else { return done }
            _ = try await cin7.call("POST", "purchase/stock", body: ["TaskID": .string(plan.purchaseID), "Status": "AUTHORISED", "Lines": .array(plan.stockLines)])
            return Written(outcome: .updated, destinationID: plan.purchaseID, transformed: done.transformed, response: "invoice \(plan.invoice) was in; the stock SYSPRO received is now too")
        }
        let body: JSONValue = [
            "TaskID": .string(plan.purchaseID), "InvoiceNumber": .string(plan.invoice), "InvoiceDate": .string("\(plan.invoiceDate)T00:00:00"),
            "Status": "AUTHORISED", "Lines": .array(plan.lines),
        ]
        let stocked = purchase?["StockReceived"]?["Status"]?.stringValue == "AUTHORISED"
        if plan.approach == "STOCK" && !stocked {
            _ = try await cin7.call("POST", "purchase/stock", body: ["TaskID": .string(plan.purchaseID), "Status": "AUTHORISED", "Lines": .array(plan.stockLines)])
            try await run.betweenStages(sourceID)
        }
        let answer: JSONValue
        do {
            answer = try await cin7.call("POST", "purchase/invoice", body: body)
        } catch let error as SyncError where error.code == .rejected {
            // an invoice that exists already (a write whose answer was lost, the xref lost with it)
            let now = try await cin7.get("purchase", query: [("ID", plan.purchaseID)])
            if let done = try invoiceDone(now, plan) { return done }
            throw error
        }
        var receipt = ""
        if plan.approach == "INVOICE", plan.received, purchase?["StockReceived"]?["Status"]?.stringValue != "AUTHORISED" {
            try await run.betweenStages(sourceID)
            _ = try await cin7.call("POST", "purchase/stock", body: ["TaskID": .string(plan.purchaseID), "Status": "AUTHORISED", "Lines": .array(plan.stockLines)])
            receipt = " (then the stock SYSPRO received)"
        }
        return Written(
            outcome: .created, destinationID: plan.purchaseID, transformed: body,
            response: "invoice \(plan.invoice) \(answer["Status"]?.scalarText ?? "AUTHORISED") on \(plan.purchaseID), total \(answer["Total"]?.scalarText ?? "?")\(plan.approach == "STOCK" ? " (stock received first)" : receipt)")
    }

    /// `Written` when the purchase already carries this invoice, authorised; an error when it
    /// carries another one (a simple purchase takes one); `nil` when the invoice is still to post.
    func invoiceDone(_ purchase: JSONValue, _ plan: InvoicePlan) throws -> Written? {
        let invoice = purchase["Invoice"]
        let status = invoice?["Status"]?.stringValue ?? "NOT AVAILABLE"
        guard status == "AUTHORISED" || status == "PAID" else { return nil }
        let number = invoice?["InvoiceNumber"]?.stringValue ?? invoice?["InvocieNumber"]?.stringValue ?? purchase["InvoiceNumber"]?.stringValue
        guard number == plan.invoice else {
            throw SyncError(.rejected, "purchase \(purchase["OrderNumber"]?.scalarText ?? plan.purchaseID) already has invoice \(number ?? "?"); SYSPRO invoice \(plan.invoice) is a second invoice on one PO, which a Cin7 simple purchase cannot take — enter it in Cin7 by hand")
        }
        return Written(outcome: .skippedDuplicate, destinationID: plan.purchaseID, transformed: ["InvoiceNumber": .string(plan.invoice)], response: "invoice \(plan.invoice) already on the purchase")
    }
}
