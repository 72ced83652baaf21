import Foundation
import SimulatorKit
import SyncEngine

/// The write side of e.net as flow 001 uses it (syspro.md §§6–8): PORTOI (purchase order add /
/// change / cancel), APSTIN (AP invoice) and APSSSP (supplier add / update). Each call validates
/// the whole document first, then applies it in one step on this actor, so concurrent posts
/// cannot both take the same PO number or both add the same invoice. What is written lands in
/// the same tables the OData service, COMFND and PORQ60 read.
///
/// Validation failures are answered inside the normal envelope (HTTP 200): the failing element
/// repeated with `Value`, `ErrorNumber`, `ErrorDescription` children and a non-zero invalid
/// counter. Error numbers 100028 (date format) and 100030 (blank element) and 240004 (stock code
/// not found) are SYSPRO's recorded ones; the others are inferred in the same style.
extension SysproBackend {
    /// A field error as e.net nests it inside the item.
    struct FieldError {
        var element: String
        var value: String
        var number: Int
        var description: String

        var xml: String {
            "<\(element)><Value>\(SysproBackend.text(value))</Value><ErrorNumber>\(number)</ErrorNumber>"
                + "<ErrorDescription>\(SysproBackend.text(description))</ErrorDescription></\(element)>"
        }
    }

    /// Element content as e.net writes it: `&`, `<` and `>` escaped, quotes left as they are.
    static func text(_ value: String) -> String {
        value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func flag(_ node: XMLElementNode?, _ name: String, default fallback: Bool = false) -> Bool {
        guard let value = node?.value(name)?.trimmingCharacters(in: .whitespaces).uppercased(), !value.isEmpty else { return fallback }
        return value == "Y"
    }

    /// `CCYY-MM-DD` or error 100028.
    static func date(_ node: XMLElementNode, _ name: String, errors: inout [FieldError]) -> String? {
        guard let text = node.value(name)?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        guard text.count == 10, CalendarDay.date(text).map(CalendarDay.string) == text else {
            errors.append(FieldError(element: name, value: text, number: 100028,
                                     description: "Date '\(text)' is invalid for XML element '\(name)' it must be CCYY-MM-DD format"))
            return nil
        }
        return text
    }

    static func number(_ node: XMLElementNode, _ name: String, errors: inout [FieldError]) -> Double? {
        guard let text = node.value(name)?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        guard let value = Double(text), value.isFinite else {
            errors.append(FieldError(element: name, value: text, number: 100029, description: "Value '\(text)' is not numeric for XML element '\(name)'"))
            return nil
        }
        // a PORTOI price holds up to 10 integer and 5 decimal digits (syspro.md §PORTOI)
        if name == "Price" && abs(value) >= 1e10 {
            errors.append(FieldError(element: name, value: text, number: 100035, description: "Value '\(text)' for XML element 'Price' is larger than 10 integer digits"))
            return nil
        }
        return value
    }

    func supplierRow(_ code: String) -> [String: JSONValue]? {
        (tables["ApSupplier"] ?? []).first { $0["Supplier"]?.stringValue?.trimmingCharacters(in: .whitespaces).uppercased() == code.uppercased() }
    }

    func glExists(_ code: String) -> Bool {
        (tables["GenMaster"] ?? []).contains { $0["GlCode"]?.stringValue == code }
    }

    var today: String { CalendarDay.string(now) }

    // MARK: PORTOI

    /// `Transaction/Post` PORTOI: every order of the document, answered in the
    /// `postpurchaseorders` envelope with `StatusofItems` (lower-case o).
    func postPurchaseOrders(parameters: XMLElementNode?, document: XMLElementNode) -> String {
        let options = parameters?.child("Parameters") ?? parameters
        let validateOnly = Self.flag(options, "ValidateOnly")
        let nonStock = options?.value("AllowNonStockItems")?.uppercased() ?? "N"
        let zeroPrice = Self.flag(options, "AllowZeroPrice")
        let blankLedger = Self.flag(options, "AllowBlankLedgerCode")
        let status = options?.value("Status").flatMap { $0.isEmpty ? nil : $0 } ?? "1"
        var body = ""
        var (processed, invalid) = (0, 0)
        for (index, order) in document.children("Orders").enumerated() {
            let number = String(format: "%06d", index + 1)
            guard let header = order.child("OrderHeader") else {
                invalid += 1
                body += "<Order><ItemNumber>\(number)</ItemNumber>\(FieldError(element: "OrderHeader", value: "", number: 100030, description: "XML element '{Orders}{OrderHeader}' cannot be spaces").xml)</Order>\n"
                continue
            }
            var errors: [FieldError] = []
            let action = (header.value("OrderActionType") ?? "A").uppercased()
            let supplier = header.value("Supplier")?.trimmingCharacters(in: .whitespaces) ?? ""
            var poNumber = header.value("PurchaseOrder")?.trimmingCharacters(in: .whitespaces) ?? ""
            if !["A", "C", "D"].contains(action) {
                errors.append(FieldError(element: "OrderActionType", value: action, number: 100031, description: "Action type '\(action)' is invalid; use A, C or D"))
            }
            var existing: [String: JSONValue]?
            if action == "A" {
                if supplier.isEmpty {
                    errors.append(FieldError(element: "Supplier", value: "", number: 100030, description: "XML element '{OrderHeader}{Supplier}' cannot be spaces"))
                } else if supplierRow(supplier) == nil {
                    errors.append(FieldError(element: "Supplier", value: supplier, number: 200085, description: "Supplier '\(supplier)' not found"))
                } else if supplierRow(supplier)?["PurchOrdAllowed"]?.stringValue == "N" {
                    errors.append(FieldError(element: "Supplier", value: supplier, number: 200086, description: "Purchase orders are not allowed for supplier '\(supplier)'"))
                }
            } else {
                if poNumber.isEmpty {
                    errors.append(FieldError(element: "PurchaseOrder", value: "", number: 100030, description: "XML element '{OrderHeader}{PurchaseOrder}' cannot be spaces"))
                } else {
                    let padded = poNumber.count < 15 && poNumber.allSatisfy(\.isNumber) ? String(repeating: "0", count: 15 - poNumber.count) + poNumber : poNumber
                    existing = (tables["PorMasterHdr"] ?? []).first { $0["PurchaseOrder"]?.stringValue == padded }
                    if existing == nil {
                        errors.append(FieldError(element: "PurchaseOrder", value: poNumber, number: 210010, description: "Purchase order '\(poNumber)' not found"))
                    } else {
                        poNumber = padded
                        if existing?["OrderStatus"]?.stringValue == "*" {
                            errors.append(FieldError(element: "PurchaseOrder", value: poNumber, number: 210011, description: "Purchase order '\(poNumber)' is cancelled and cannot be changed"))
                        }
                        if !supplier.isEmpty, existing?["Supplier"]?.stringValue != supplier {
                            errors.append(FieldError(element: "Supplier", value: supplier, number: 210012, description: "The supplier of purchase order '\(poNumber)' cannot be changed"))
                        }
                    }
                }
            }
            let orderDate = Self.date(header, "OrderDate", errors: &errors)
            let dueDate = Self.date(header, "DueDate", errors: &errors)
            if let customerPo = header.value("CustomerPoNumber"), customerPo.count > 30 {
                errors.append(FieldError(element: "CustomerPoNumber", value: customerPo, number: 100032, description: "Value for XML element 'CustomerPoNumber' is longer than 30 characters"))
            }
            // lines: validated against the order as it stands (a change adds after its last line)
            var lines = existing.map { hdr in (tables["PorMasterDetail"] ?? []).filter { $0["PurchaseOrder"] == hdr["PurchaseOrder"] } } ?? []
            var nextLine = (lines.compactMap { $0["Line"]?.doubleValue }.max() ?? 0) + 1
            var lineErrors: [String] = []
            for line in order.child("OrderDetails")?.children ?? [] {
                var errs: [FieldError] = []
                let lineAction = (line.value("LineActionType") ?? "A").uppercased()
                let lineNumber = line.value("PurchaseOrderLine").flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                if lineAction == "C" || lineAction == "D" {
                    guard let lineNumber, let at = lines.firstIndex(where: { $0["Line"]?.doubleValue == lineNumber }) else {
                        errs.append(FieldError(element: "PurchaseOrderLine", value: line.value("PurchaseOrderLine") ?? "", number: 210020,
                                               description: "Purchase order line '\(line.value("PurchaseOrderLine") ?? "")' not found"))
                        lineErrors.append("<\(line.name)>" + errs.map(\.xml).joined() + "</\(line.name)>")
                        continue
                    }
                    if lineAction == "D" {
                        lines.remove(at: at)
                        continue
                    }
                    var row = lines[at]
                    if let qty = Self.number(line, "OrderQty", errors: &errs) {
                        if qty <= 0 { errs.append(FieldError(element: "OrderQty", value: String(qty), number: 210021, description: "Order quantity must be greater than zero")) }
                        row["MOrderQty"] = .number(qty)
                    }
                    if let price = Self.number(line, "Price", errors: &errs) { row["MPrice"] = .number(price) }
                    if let text = line.value("StockDescription") { row["MStockDes"] = .string(text) }
                    if let due = Self.date(line, "LatestDueDate", errors: &errs) { row["MLatestDueDate"] = .string(due + "T00:00:00Z") }
                    if let ledger = line.value("LedgerCode"), !ledger.isEmpty {
                        if glExists(ledger) { row["MGlCode"] = .string(ledger) } else {
                            errs.append(FieldError(element: "LedgerCode", value: ledger, number: 210023, description: "Ledger code '\(ledger)' not found"))
                        }
                    }
                    lines[at] = row
                } else {
                    var row: [String: JSONValue] = ["PurchaseOrder": .string(poNumber), "Line": .number(nextLine), "MReceivedQty": 0, "MCompleteFlag": ""]
                    switch line.name {
                    case "CommentLine":
                        row["LineType"] = "6"
                        row["NComment"] = .string(line.value("Comment") ?? "")
                    case "StockLine", "MiscChargeLine", "FreightLine":
                        let code = line.value("StockCode")?.trimmingCharacters(in: .whitespaces) ?? ""
                        let description = line.value("StockDescription") ?? line.value("Description") ?? ""
                        if line.name == "StockLine" && code.isEmpty {
                            errs.append(FieldError(element: "StockCode", value: "", number: 100030, description: "XML element '{StockLine}{StockCode}' cannot be spaces"))
                        }
                        let stocked = (tables["InvMaster"] ?? []).contains { $0["StockCode"]?.stringValue == code }
                        if line.name == "StockLine" && !stocked && !code.isEmpty && nonStock == "N" {
                            errs.append(FieldError(element: "StockCode", value: code, number: 240004, description: "Stock code '\(code)' not found"))
                        }
                        let quantity = Self.number(line, "OrderQty", errors: &errs) ?? (line.name == "StockLine" ? 0 : 1)
                        if quantity <= 0 { errs.append(FieldError(element: "OrderQty", value: String(quantity), number: 210021, description: "Order quantity must be greater than zero")) }
                        let price = Self.number(line, "Price", errors: &errs) ?? Self.number(line, "Value", errors: &errs) ?? 0
                        if price < 0 || (price == 0 && !zeroPrice) {
                            errs.append(FieldError(element: "Price", value: String(price), number: 210022, description: "A zero or negative price is not allowed (AllowZeroPrice is N)"))
                        }
                        let ledger = line.value("LedgerCode")?.trimmingCharacters(in: .whitespaces) ?? ""
                        if line.name == "StockLine" && !stocked {
                            if (line.value("ProductClass") ?? "").isEmpty {
                                errs.append(FieldError(element: "ProductClass", value: "", number: 100030, description: "XML element '{StockLine}{ProductClass}' cannot be spaces"))
                            }
                            if ledger.isEmpty && !blankLedger {
                                errs.append(FieldError(element: "LedgerCode", value: "", number: 100030, description: "XML element '{StockLine}{LedgerCode}' cannot be spaces"))
                            }
                        }
                        if !ledger.isEmpty && !glExists(ledger) {
                            errs.append(FieldError(element: "LedgerCode", value: ledger, number: 210023, description: "Ledger code '\(ledger)' not found"))
                        }
                        let due = Self.date(line, "LatestDueDate", errors: &errs) ?? dueDate
                        row["LineType"] = .string(line.name == "StockLine" ? (stocked ? "1" : "7") : line.name == "FreightLine" ? "4" : "5")
                        row["MStockCode"] = .string(code)
                        row["MStockDes"] = .string(description)
                        row["MWarehouse"] = .string(line.value("Warehouse") ?? header.value("Warehouse") ?? "")
                        row["MOrderUom"] = .string(line.value("OrderUom") ?? "EA")
                        row["MOrderQty"] = .number(quantity)
                        row["MPrice"] = .number(price)
                        row["MGlCode"] = .string(ledger)
                        row["MJob"] = .string(line.value("Job") ?? "")
                        row["MLatestDueDate"] = due.map { .string($0 + "T00:00:00Z") } ?? .null
                    default:
                        errs.append(FieldError(element: line.name, value: "", number: 100033, description: "XML element '{OrderDetails}{\(line.name)}' is not recognised"))
                    }
                    if errs.isEmpty {
                        lines.append(row)
                        nextLine += 1
                    }
                }
                if !errs.isEmpty { lineErrors.append("<\(line.name)>" + errs.map(\.xml).joined() + "</\(line.name)>") }
            }
            if action == "A" && lines.isEmpty && lineErrors.isEmpty {
                errors.append(FieldError(element: "OrderDetails", value: "", number: 210024, description: "The purchase order has no lines"))
            }
            guard errors.isEmpty && lineErrors.isEmpty else {
                invalid += 1
                body += "<Order>\n<ItemNumber>\(number)</ItemNumber>\n<OrderActionType>\(action)</OrderActionType>\n"
                    + errors.map(\.xml).joined() + lineErrors.joined() + "\n</Order>\n"
                continue
            }
            processed += 1
            if !validateOnly {
                switch action {
                case "A":
                    let highest = (tables["PorMasterHdr"] ?? []).compactMap { Int($0["PurchaseOrder"]?.stringValue ?? "") }.max() ?? 0
                    poNumber = String(format: "%015d", highest + 1)
                    let supplierRow = supplierRow(supplier)
                    tables["PorMasterHdr", default: []].append([
                        "PurchaseOrder": .string(poNumber), "Supplier": .string(supplier), "OrderStatus": .string(status), "CancelledFlag": "",
                        "OrderType": .string(header.value("OrderType") ?? "L"), "OrderEntryDate": .string((orderDate ?? today) + "T00:00:00Z"),
                        "OrderDueDate": dueDate.map { .string($0 + "T00:00:00Z") } ?? .null, "Currency": supplierRow?["Currency"] ?? "$",
                        "Warehouse": .string(header.value("Warehouse") ?? ""), "Buyer": .string(header.value("Buyer") ?? ""),
                        "CustomerPoNumber": .string(header.value("CustomerPoNumber") ?? ""), "DeliveryName": .string(header.value("DeliveryName") ?? ""),
                    ])
                    tables["PorMasterDetail", default: []] += lines.map { row in
                        var line = row
                        line["PurchaseOrder"] = .string(poNumber)
                        return line
                    }
                case "C":
                    var changes: [String: JSONValue] = [:]
                    if let orderDate { changes["OrderEntryDate"] = .string(orderDate + "T00:00:00Z") }
                    if let dueDate { changes["OrderDueDate"] = .string(dueDate + "T00:00:00Z") }
                    for (element, column) in [("CustomerPoNumber", "CustomerPoNumber"), ("Warehouse", "Warehouse"), ("Buyer", "Buyer"), ("DeliveryName", "DeliveryName")] {
                        if let value = header.value(element) { changes[column] = .string(value) }
                    }
                    if let at = tables["PorMasterHdr"]?.firstIndex(where: { $0["PurchaseOrder"]?.stringValue == poNumber }) {
                        tables["PorMasterHdr"]![at].merge(changes) { _, new in new }
                    }
                    tables["PorMasterDetail"]?.removeAll { $0["PurchaseOrder"]?.stringValue == poNumber }
                    tables["PorMasterDetail", default: []] += lines
                default:  // D: cancelled, status '*'
                    if let at = tables["PorMasterHdr"]?.firstIndex(where: { $0["PurchaseOrder"]?.stringValue == poNumber }) {
                        tables["PorMasterHdr"]![at]["OrderStatus"] = "*"
                        tables["PorMasterHdr"]![at]["CancelledFlag"] = "Y"
                    }
                }
                bump("PorMasterHdr")
                bump("PorMasterDetail")
            }
            body += "<Order>\n<Key>\n<PurchaseOrder>\(poNumber)</PurchaseOrder>\n</Key>\n<ItemNumber>\(number)</ItemNumber>\n"
                + "<OrderActionType>\(action)</OrderActionType>\n<Supplier>\(Self.text(supplier.isEmpty ? existing?["Supplier"]?.stringValue ?? "" : supplier))</Supplier>\n</Order>\n"
        }
        body += "<StatusofItems>\n<ItemsProcessed>\(String(format: "%06d", processed))</ItemsProcessed>\n<ItemsInvalid>\(String(format: "%06d", invalid))</ItemsInvalid>\n</StatusofItems>"
        return body
    }

    // MARK: APSTIN

    /// `Transaction/Post` APSTIN: AP invoices (and adjustments, credit and debit notes) in the
    /// `postapinvoice` envelope. An invoice (`I`) must not exist yet for the supplier — SYSPRO's own
    /// duplicate guard; `ApplyIfEntireDocumentValid=Y` applies nothing when any item is invalid.
    func postApInvoices(parameters: XMLElementNode?, document: XMLElementNode) -> String {
        let options = parameters?.child("Parameters") ?? parameters
        let validateOnly = Self.flag(options, "ValidateOnly")
        let allOrNothing = Self.flag(options, "ApplyIfEntireDocumentValid")
        var items: [(xml: String, row: [String: JSONValue]?)] = []
        var seen: Set<String> = []
        for item in document.children("Item") {
            var errors: [FieldError] = []
            let supplier = item.value("Supplier")?.trimmingCharacters(in: .whitespaces) ?? ""
            let invoice = item.value("Invoice")?.trimmingCharacters(in: .whitespaces) ?? ""
            let code = (item.value("TransactionCode") ?? "I").uppercased()
            let supplierRow = supplierRow(supplier)
            if supplier.isEmpty {
                errors.append(FieldError(element: "Supplier", value: "", number: 100030, description: "XML element '{Item}{Supplier}' cannot be spaces"))
            } else if supplierRow == nil {
                errors.append(FieldError(element: "Supplier", value: supplier, number: 200085, description: "Supplier '\(supplier)' not found"))
            }
            if invoice.isEmpty {
                errors.append(FieldError(element: "Invoice", value: "", number: 100030, description: "XML element '{Item}{Invoice}' cannot be spaces"))
            }
            let exists = (tables["ApInvoice"] ?? []).contains { $0["Supplier"]?.stringValue == supplier && $0["Invoice"]?.stringValue == invoice }
                || seen.contains("\(supplier)|\(invoice)")
            if !["I", "A", "C", "D"].contains(code) {
                errors.append(FieldError(element: "TransactionCode", value: code, number: 100031, description: "Transaction code '\(code)' is invalid; use I, A, C or D"))
            } else if code == "I" && exists && !invoice.isEmpty {
                errors.append(FieldError(element: "Invoice", value: invoice, number: 220013, description: "Invoice '\(invoice)' already exists for supplier '\(supplier)'"))
            } else if code != "I" && !exists && !invoice.isEmpty {
                errors.append(FieldError(element: "Invoice", value: invoice, number: 220014, description: "Invoice '\(invoice)' not found for supplier '\(supplier)'"))
            }
            let value = Self.number(item, "TransactionValue", errors: &errors) ?? 0
            let tax = Self.number(item, "TaxValue", errors: &errors) ?? 0
            let invoiceDate = Self.date(item, "InvoiceDate", errors: &errors) ?? today
            let dueDate = Self.date(item, "DueDate", errors: &errors)
            var distributed = 0.0
            let distribution = item.children("LedgerDistribution")
            for ledger in distribution {
                let glCode = ledger.value("LedgerCode")?.trimmingCharacters(in: .whitespaces) ?? ""
                if !glExists(glCode) {
                    errors.append(FieldError(element: "LedgerCode", value: glCode, number: 210023, description: "Ledger code '\(glCode)' not found"))
                }
                distributed += Self.number(ledger, "LedgerValue", errors: &errors) ?? 0
            }
            if !distribution.isEmpty && abs(distributed - (value - tax)) > 0.005 {
                errors.append(FieldError(element: "LedgerDistribution", value: String(format: "%.2f", distributed), number: 220020,
                                         description: String(format: "Distribution total %.2f does not equal the invoice value excluding tax %.2f", distributed, value - tax)))
            }
            guard errors.isEmpty else {
                items.append(("<Item>\n" + errors.map(\.xml).joined() + "\n</Item>\n", nil))
                continue
            }
            seen.insert("\(supplier)|\(invoice)")
            let journal = (tables["ApInvoice"] ?? []).compactMap { $0["Journal"]?.doubleValue }.max().map { Int($0) + 1 } ?? 1
            let entry = items.count + 1
            let year = String(invoiceDate.prefix(4))
            let month = Int(invoiceDate.dropFirst(5).prefix(2)) ?? 1
            let row: [String: JSONValue] = [
                "Supplier": .string(supplier), "Invoice": .string(invoice), "InvoiceDate": .string(invoiceDate + "T00:00:00Z"),
                "DueDate": dueDate.map { .string($0 + "T00:00:00Z") } ?? .null, "JournalDate": .string(today + "T00:00:00Z"),
                "InvoiceYear": .number(Double(year) ?? 0), "InvoiceMonth": .number(Double(month)), "Journal": .number(Double(journal)),
                "EntryNumber": .number(Double(entry)), "OrigInvValue": .number(code == "C" ? -value : value), "OrigDiscValue": 0,
                "MthInvBal1": .number(code == "C" ? -value : value), "Currency": supplierRow?["Currency"] ?? "$", "PostCurrency": supplierRow?["Currency"] ?? "$",
                "ConvRate": 1, "PaymentNumber": "", "Bank": "", "PurchaseOrder": .string(item.value("PurchaseOrder") ?? ""),
                "Reference": .string(item.value("TransactionReference") ?? ""),
            ]
            let xml = "<Item>\n<Transaction>\n<Key>\n<TrnYear>\(year)</TrnYear>\n<TrnMonth>\(month)</TrnMonth>\n<Journal>\(journal)</Journal>\n"
                + "<EntryNumber>\(entry)</EntryNumber>\n</Key>\n<Supplier>\(Self.text(supplier))</Supplier>\n<Invoice>\(Self.text(invoice))</Invoice>\n"
                + "<TransactionCode>\(code)</TransactionCode>\n</Transaction>\n</Item>\n"
            items.append((xml, row))
        }
        let invalid = items.filter { $0.row == nil }.count
        let apply = !validateOnly && !(allOrNothing && invalid > 0)
        if apply {
            let rows = items.compactMap(\.row)
            if !rows.isEmpty {
                tables["ApInvoice", default: []] += rows
                bump("ApInvoice")
            }
        }
        let period = CalendarDay.string(now)
        return items.map(\.xml).joined() + "<StatusOfItems>\n<GlJournal>\n<GlYear>\(period.prefix(4))</GlYear>\n<GlPeriod>\(Int(period.dropFirst(5).prefix(2)) ?? 1)</GlPeriod>\n"
            + "<GlJournal>\(apply ? 1 : 0)</GlJournal>\n<GlJournalError/>\n<GlJournalMessage/>\n</GlJournal>\n"
            + "<ItemsProcessed>\(String(format: "%06d", items.count - invalid))</ItemsProcessed>\n<ItemsInvalid>\(String(format: "%06d", invalid))</ItemsInvalid>\n</StatusOfItems>"
    }

    // MARK: APSSSP

    /// The `ApSupplier` columns APSSSP sets from the elements of the same name.
    static let supplierColumns = ["SupplierName", "SupShortName", "Currency", "Branch", "TermsCode", "Email", "OnHold", "Telephone", "Contact",
                                  "SupplierClass", "PurchOrdAllowed", "TaxRegnNum", "SupAddr1", "SupAddr2", "SupAddr3", "SupPostalCode"]

    /// `Setup/Add` (the supplier must not exist; a name is needed) or `Setup/Update` (it must
    /// exist) APSSSP, answered in `setupapsupplier` with lower-cased document elements and the
    /// `StatusOfItems` block (`RecordsRead`/`RecordsInvalid`) as SYSPRO leaves it.
    func setupSuppliers(update: Bool, parameters: XMLElementNode?, document: XMLElementNode) -> String {
        let options = parameters?.child("Parameters") ?? parameters
        let validateOnly = Self.flag(options, "ValidateOnly")
        var body = ""
        var (read, invalid) = (0, 0)
        for item in document.children("Item") {
            read += 1
            let code = item.child("Key")?.value("Supplier")?.trimmingCharacters(in: .whitespaces) ?? ""
            var errors: [FieldError] = []
            if code.isEmpty {
                errors.append(FieldError(element: "supplier", value: "", number: 100030, description: "XML element '{Item}{Key}{Supplier}' cannot be spaces"))
            } else if code.count > 15 {
                errors.append(FieldError(element: "supplier", value: code, number: 100032, description: "Value for XML element 'Supplier' is longer than 15 characters"))
            } else if update && supplierRow(code) == nil {
                errors.append(FieldError(element: "supplier", value: code, number: 200085, description: "Supplier '\(code)' not found"))
            } else if !update && supplierRow(code) != nil {
                errors.append(FieldError(element: "supplier", value: code, number: 200087, description: "Supplier '\(code)' already exists"))
            }
            if !update && (item.value("SupplierName") ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                errors.append(FieldError(element: "suppliername", value: "", number: 100030, description: "XML element '{Item}{SupplierName}' cannot be spaces"))
            }
            if let currency = item.value("Currency"), !currency.isEmpty, let known = tables["TblCurrency"], !known.contains(where: { $0["Currency"]?.stringValue == currency }) {
                errors.append(FieldError(element: "currency", value: currency, number: 200088, description: "Currency '\(currency)' not found"))
            }
            var changes: [String: JSONValue] = [:]
            for column in Self.supplierColumns { if let value = item.value(column) { changes[column] = .string(value) } }
            guard errors.isEmpty else {
                invalid += 1
                body += "<item>\n<key>\n<supplier>\(Self.text(code))</supplier>\n</key>\n" + errors.map(\.xml).joined() + "\n</item>\n"
                continue
            }
            if !validateOnly {
                if update, let at = tables["ApSupplier"]?.firstIndex(where: { $0["Supplier"]?.stringValue?.uppercased() == code.uppercased() }) {
                    tables["ApSupplier"]![at].merge(changes) { _, new in new }
                } else if !update {
                    var row = changes
                    row["Supplier"] = .string(code)
                    row["Currency"] = row["Currency"] ?? "$"
                    row["OnHold"] = row["OnHold"] ?? "N"
                    tables["ApSupplier", default: []].append(row)
                }
                bump("ApSupplier")
            }
            body += "<item>\n<key>\n<supplier>\(Self.text(code))</supplier>\n</key>\n</item>\n"
        }
        return body + "<StatusOfItems>\n<RecordsRead>\(read)</RecordsRead>\n<RecordsInvalid>\(invalid)</RecordsInvalid>\n</StatusOfItems>"
    }
}
