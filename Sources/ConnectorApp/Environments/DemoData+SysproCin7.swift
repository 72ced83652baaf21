import Flows
import Foundation
import SyncEngine

extension DemoData {
    /// The Cin7 products of flow 004's data set, one per GL account of the cost codes, with the
    /// SYSPRO stock code as SKU (`SKU-5100` …).
    static let cin7Products: [(sku: String, name: String)] = costCodes.map { ("SKU-\($0.gl)", "\($0.name) material") }

    /// Flow 004's data set: SYSPRO company EDU1 with the eight demo suppliers (terms, e-mail,
    /// phone), `purchaseOrders` POs on the Cin7 products' stock codes spread over the 30 days before
    /// `today` — every third received in full before it reaches Cin7 (a stock-first purchase),
    /// every second with its AP invoice for the PO's amount; plus PO `DEMO-NEWGL`, whose line posts
    /// to GL 5500-240, an account Cin7's chart does not have, with its invoice, and invoice
    /// `LATE-INV-1` whose PO (`DEMO-LATE`, in ``latePurchaseOrder``) is not in SYSPRO yet.
    ///
    /// Cin7: one API application, the chart of accounts (800 payable, 5100–5400 expenses), the
    /// products, and six of the suppliers entered by hand — names written differently ("Pacific
    /// Rebar Supply Pty Ltd"), no SYSPRO code — plus "Metro Fasteners", which SYSPRO lacks.
    public static func sysproCin7(purchaseOrders: Int, today: Date, seed: UInt64 = 2004) -> DemoData {
        var random = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let day: (Int) -> String = { offset in Self.dayString(today.addingTimeInterval(-Double(offset) * 86400)) + "T00:00:00Z" }
        var headers: [JSONValue] = []
        var details: [JSONValue] = []
        var invoices: [JSONValue] = []
        func order(_ po: String, supplier: String, offset: Int, lines: [(code: (gl: String, cc: String, code: String, name: String), quantity: Double, price: Double)], received: Bool) -> Double {
            headers.append([
                "PurchaseOrder": .string(po), "Supplier": .string(supplier), "OrderStatus": received ? "4" : "1", "CancelledFlag": "",
                "OrderType": "L", "OrderEntryDate": .string(day(offset)), "OrderDueDate": .string(day(offset - 21)),
                "Currency": "$", "Buyer": "JDS", "Warehouse": "MN",
            ])
            var total = 0.0
            for (index, line) in lines.enumerated() {
                total += ((line.quantity * line.price) * 100).rounded() / 100
                details.append([
                    "PurchaseOrder": .string(po), "Line": .number(Double(index + 1)), "LineType": "1",
                    "MStockCode": .string("SKU-\(line.code.gl)"), "MStockDes": .string("\(line.code.name) material"),
                    "MOrderUom": "EA", "MOrderQty": .number(line.quantity), "MReceivedQty": .number(received ? line.quantity : 0),
                    "MPrice": .number(line.price), "MGlCode": .string("\(line.code.gl)-\(line.code.cc)"), "MCompleteFlag": "",
                ])
            }
            return (total * 100).rounded() / 100
        }
        for index in 0..<purchaseOrders {
            let po = String(format: "%015d", 160_800 + index)
            let supplier = suppliers[pick(suppliers.count)].0
            let offset = 30 - (index * 30 / max(1, purchaseOrders))
            let lines = (0..<(1 + pick(3))).map { _ in
                (code: costCodes[pick(costCodes.count)], quantity: Double(1 + pick(40)), price: Double(20 + pick(900)) + Double(pick(100)) / 100)
            }
            let total = order(po, supplier: supplier, offset: offset, lines: lines, received: index % 3 == 2)
            if index % 2 == 1 {
                invoices.append([
                    "Supplier": .string(supplier), "Invoice": .string("INV-\(po.suffix(6))"),
                    "InvoiceDate": .string(day(max(0, offset - 2))), "DueDate": .string(day(max(0, offset - 32))),
                    "OrigInvValue": .number(total), "MthInvBal1": .number(total), "Currency": "$",
                    "PurchaseOrder": .string(po), "JournalDate": .string(day(max(0, offset - 2))),
                ])
            }
        }
        // a line on GL 5500-240: Cin7's chart has no account 5500 until finance adds it
        let earthwork = (gl: "5500", cc: "240", code: "31-100", name: "Earthwork")
        details.append([
            "PurchaseOrder": "DEMO-NEWGL", "Line": 1, "LineType": "1", "MStockCode": "SKU-5100", "MStockDes": "Site excavation and grading",
            "MOrderUom": "EA", "MOrderQty": 2, "MReceivedQty": 0, "MPrice": 4_850.0, "MGlCode": .string("\(earthwork.gl)-\(earthwork.cc)"), "MCompleteFlag": "",
        ])
        headers.append([
            "PurchaseOrder": "DEMO-NEWGL", "Supplier": "SUP006", "OrderStatus": "1", "OrderType": "L",
            "OrderEntryDate": .string(day(1)), "OrderDueDate": .string(day(-20)), "Currency": "$",
        ])
        invoices.append([
            "Supplier": "SUP006", "Invoice": "INV-NEWGL", "InvoiceDate": .string(day(1)), "OrigInvValue": 9_700.0, "MthInvBal1": 9_700.0,
            "Currency": "$", "PurchaseOrder": "DEMO-NEWGL", "JournalDate": .string(day(1)),
        ])
        // the invoice that arrives before its PO
        invoices.append([
            "Supplier": "SUP007", "Invoice": "LATE-INV-1", "InvoiceDate": .string(day(1)), "OrigInvValue": 24_800.0,
            "MthInvBal1": 24_800.0, "Currency": "$", "PurchaseOrder": "DEMO-LATE", "JournalDate": .string(day(1)),
        ])
        let late: [String: JSONValue] = [
            "PurchaseOrder": "DEMO-LATE", "Supplier": "SUP007", "OrderStatus": "1", "OrderType": "L",
            "OrderEntryDate": .string(day(0)), "OrderDueDate": .string(day(-14)), "Currency": "$",
        ]
        let lateLines: [[String: JSONValue]] = [[
            "PurchaseOrder": "DEMO-LATE", "Line": 1, "LineType": "1", "MStockCode": "SKU-5200", "MStockDes": "Excavator rental, 4 weeks",
            "MOrderUom": "WK", "MOrderQty": 4, "MReceivedQty": 0, "MPrice": 6_200.0, "MGlCode": "5200-210",
        ]]
        let supplierRows: [JSONValue] = suppliers.enumerated().map { index, supplier in
            let domain = supplier.1.lowercased().filter { $0.isLetter }.prefix(16)
            return [
                "Supplier": .string(supplier.0), "SupplierName": .string(supplier.1), "SupShortName": .string(String(supplier.1.prefix(10)).uppercased()),
                "Currency": "$", "TermsCode": index % 3 == 0 ? "15" : "30", "Email": .string("ap@\(domain).example"),
                "Telephone": .string(String(format: "555-01%02d", index + 10)), "TaxRegnNum": "", "OnHold": "N", "Branch": "10",
            ]
        }
        let gl: [JSONValue] = (costCodes + [earthwork]).map {
            ["Company": .string(sysproCompany), "GlCode": .string("\($0.gl)-\($0.cc)"), "Description": .string($0.name), "AccountType": "E"]
        }
        let syspro: JSONValue = [
            "company": .string(sysproCompany), "companyName": "Acme Builders Supply",
            "operators": [[
                "code": .string(operatorCode), "password": .string(operatorPassword), "companyPassword": "", "odataPassword": .string(odataPassword),
            ]],
            "tables": [
                "PorMasterHdr": .array(headers), "PorMasterDetail": .array(details), "ApInvoice": .array(invoices), "GenMaster": .array(gl),
                "TblCurrency": [["Currency": "$", "Description": "US Dollar", "BuyExchangeRate": 1, "SellExchangeRate": 1]],
                "ApSupplier": .array(supplierRows),
            ],
        ]
        // six suppliers entered in Cin7 by hand: the names as people type them, no SYSPRO code
        let typed = ["Pacific Rebar Supply Pty Ltd", "Harbor Ready-Mix", "SUMMIT STEEL FABRICATORS", "Northside Drywall Co.", "Bayline Electrical Wholesale", "Granite State Aggregates LLC"]
        var cin7Suppliers: [JSONValue] = typed.enumerated().map { index, name in
            [
                "ID": .string(String(format: "57144411-51ce-446f-9c96-%012d", index + 1)), "Name": .string(name), "Currency": "USD",
                "PaymentTerm": "30 days", "AccountPayable": "800", "TaxRule": "Tax on Purchases", "Status": "Active",
                "TaxNumber": .string(String(format: "94-10%05d", index * 37)), "LastModifiedOn": "2026-01-05T10:00:00.000Z", "Addresses": [],
                "Contacts": [["ID": .string(String(format: "96af9b70-d9cd-4f05-af47-%012d", index + 1)), "Name": "Accounts",
                              "Email": .string("accounts@\(name.lowercased().filter { $0.isLetter }.prefix(16)).example"), "Phone": "", "Default": true]],
            ]
        }
        cin7Suppliers.append([
            "ID": "57144411-51ce-446f-9c96-000000000099", "Name": "Metro Fasteners", "Currency": "USD", "PaymentTerm": "15 days",
            "AccountPayable": "800", "TaxRule": "Tax on Purchases", "Status": "Active", "TaxNumber": "94-1099999",
            "LastModifiedOn": "2026-01-05T10:00:00.000Z", "Addresses": [],
            "Contacts": [["ID": "96af9b70-d9cd-4f05-af47-000000000099", "Name": "Sales", "Email": "orders@metrofasteners.example", "Phone": "555-0199", "Default": true]],
        ])
        var accounts: [JSONValue] = [["Code": "800", "Name": "Accounts Payable", "Type": "CURRLIAB", "Class": "LIABILITY", "Status": "ACTIVE", "SystemAccount": "CREDITORS"]]
        accounts += costCodes.map { ["Code": .string($0.gl), "Name": .string($0.name), "Type": "DIRECTCOSTS", "Class": "EXPENSE", "Status": "ACTIVE"] }
        let cin7: JSONValue = [
            "applications": [["accountId": .string(cin7AccountID), "applicationKey": .string(cin7ApplicationKey)]],
            "company": ["Company": "Acme Builders Supply", "Currency": "USD"],
            "suppliers": .array(cin7Suppliers),
            "chartOfAccounts": .array(accounts),
            "products": .array(cin7Products.enumerated().map { index, product in
                ["ID": .string(String(format: "c08b3876-89cc-46c4-af52-%012d", index + 1)), "SKU": .string(product.sku),
                 "Name": .string(product.name), "UOM": "Item", "Status": "Active"]
            }),
        ]
        return DemoData(
            syspro: syspro, procore: [:], cin7: cin7, mappings: [], purchaseOrderCount: headers.count, invoiceCount: invoices.count,
            latePurchaseOrder: (late, lateLines))
    }

    /// Flow 004's settings for the data set: each SYSPRO GL code onto the Cin7 account of its
    /// first segment (`5100-200` → `5100`).
    public static var sysproCin7Settings: SysproCin7Settings {
        var settings = SysproCin7Settings()
        settings.glAccounts = Dictionary(uniqueKeysWithValues: (costCodes.map { ($0.gl, $0.cc) } + [("5500", "240")]).map { ("\($0.0)-\($0.1)", $0.0) })
        settings.pageSize = 50
        return settings
    }
}
