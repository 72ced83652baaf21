import Flows
import Foundation
import SyncEngine

/// A realistic construction-firm data set for the demo, the tests and the benchmark, generated
/// from a seed so every run sees the same records.
///
/// Procore company 8 "Acme Builders" with three projects (jobs 2301–2303), four cost codes each,
/// eight vendors; SYSPRO company EDU1 with the matching suppliers, GL accounts, POs spread over the
/// 30 days before the clock's "today" and invoices for about half of them. Two records are there
/// on purpose: PO `DEMO-UNMAPPED` on GL 5500-240, whose cost code 31-100 does not exist in project
/// 2302 yet, and invoice `LATE-INV-1` whose PO (`DEMO-LATE`) is not in SYSPRO until
/// ``latePurchaseOrder`` is added.
public struct DemoData: Sendable {
    public var syspro: JSONValue
    public var procore: JSONValue
    /// Cin7 Core: one API application, the company profile, the suppliers, a few accounts.
    public var cin7: JSONValue = [:]
    /// Procurify: one API application, currencies, vendors, account codes, departments.
    public var procurify: JSONValue = [:]
    /// SAP Business One: one company database with its user; suppliers, projects, GL accounts.
    public var sapb1: JSONValue = [:]
    /// Infor CloudSuite: one tenant app with its service account; suppliers in company 100.
    public var cloudsuite: JSONValue = [:]
    public var mappings: [CostCodeMapping]
    public var purchaseOrderCount: Int
    public var invoiceCount: Int
    /// The PO that arrives after its invoice: header and lines to insert later.
    public var latePurchaseOrder: (header: [String: JSONValue], lines: [[String: JSONValue]])

    public static let companyID: Int64 = 8
    public static let clientID = "ml-connector-demo"
    /// The simulator's own demo credentials (they open nothing but the in-process simulators).
    public static let clientSecret = "demo-client-secret"
    /// A Procore refresh token the demo data set seeds, for clients that use the user-level
    /// grants (single use: each refresh answers a new one); and an authorization code for
    /// `redirect_uri=urn:ietf:wg:oauth:2.0:oob`. `simulate --write-config` hands both out.
    public static let procoreRefreshToken = "demo-procore-refresh-token-0001"
    public static let procoreAuthorizationCode = "demo-procore-authorization-code"
    public static let operatorCode = "MLCONN"
    public static let operatorPassword = "demo-operator-pw"
    public static let odataPassword = "demo-odata-pw"
    public static let sysproCompany = "EDU1"
    public static let cin7AccountID = "6f1c2d3e-0000-4a5b-9c8d-000000000001"
    /// The Cin7 simulator's demo application key (it opens nothing but the simulator).
    public static let cin7ApplicationKey = "d3m0k3y0-0000-4000-8000-000000000cin"

    /// The mapping table of the demo data: the four cost codes plus GL 5500-240 → 31-100 (the
    /// code that is missing in project 2302 until the demo creates it).
    public static var costCodeMappings: [CostCodeMapping] {
        costCodes.map { CostCodeMapping(glAccount: $0.gl, costCenter: $0.cc, costCode: $0.code) }
            + [CostCodeMapping(glAccount: "5500", costCenter: "240", costCode: "31-100")]
    }

    /// The other simulators' demo credentials (they open nothing but the simulators).
    public static let procurifyClientID = "ml-connector-procurify-demo"
    public static let procurifyClientSecret = "demo-procurify-secret"
    public static let sapCompanyDB = "SBODEMOUS"
    public static let sapUser = "manager"
    public static let sapPassword = "demo-b1-password"
    public static let ionTenant = "ACME_TST"
    public static let ionClientID = "ACME_TST~ml-connector-demo"
    public static let ionClientSecret = "demo-ion-client-secret"
    public static let ionAccessKey = "ACME_TST#ml-connector-demo-service-account"
    public static let ionSecretKey = "demo-ion-service-account-secret"
    public static let m3Company = 100

    static let costCodes: [(gl: String, cc: String, code: String, name: String)] = [
        ("5100", "200", "03-300", "Cast-in-Place Concrete"),
        ("5200", "210", "05-100", "Structural Steel"),
        ("5300", "220", "09-200", "Drywall and Framing"),
        ("5400", "230", "26-100", "Electrical"),
    ]
    static let suppliers = [
        ("SUP001", "Pacific Rebar Supply"), ("SUP002", "Harbor Ready-Mix"), ("SUP003", "Summit Steel Fabricators"),
        ("SUP004", "Northside Drywall Co"), ("SUP005", "Bayline Electrical Wholesale"), ("SUP006", "Granite State Aggregates"),
        ("SUP007", "Coastal Equipment Rental"), ("SUP008", "Redwood Lumber & Hardware"),
    ]
    static let projects: [(id: Int64, number: String, name: String)] = [
        (101, "2301", "Harbor View Tower"), (102, "2302", "Eastgate Medical Center"), (103, "2303", "Riverside Logistics Hub"),
    ]

    /// - Parameters:
    ///   - purchaseOrders: how many ordinary POs (the two special records come on top).
    ///   - today: the clock's "today"; PO dates fall in the 30 days before it.
    ///   - budgetPerCostCode: the original budget of every cost code (large by default, so only
    ///     the over-budget tests hit it).

    public static func generate(purchaseOrders: Int, today: Date, seed: UInt64 = 2026, budgetPerCostCode: Double = 50_000_000) -> DemoData {
        var random = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let day: (Int) -> String = { offset in
            Self.dayString(today.addingTimeInterval(-Double(offset) * 86400)) + "T00:00:00Z"
        }
        var headers: [JSONValue] = []
        var details: [JSONValue] = []
        var invoices: [JSONValue] = []
        for index in 0..<purchaseOrders {
            let po = String(format: "%015d", 150_800 + index)
            let supplier = suppliers[pick(suppliers.count)].0
            let project = projects[pick(projects.count)]
            let offset = 30 - (index * 30 / max(1, purchaseOrders))
            headers.append([
                "PurchaseOrder": .string(po), "Supplier": .string(supplier), "OrderStatus": "1", "CancelledFlag": "",
                "OrderType": "L", "OrderEntryDate": .string(day(offset)), "OrderDueDate": .string(day(offset - 21)),
                "Currency": "$", "Buyer": "JDS", "Warehouse": "MN",
            ])
            var total = 0.0
            for line in 1...(1 + pick(4)) {
                let code = costCodes[pick(costCodes.count)]
                let quantity = Double(1 + pick(40))
                let price = Double(50 + pick(5000)) + Double(pick(100)) / 100
                total += quantity * price
                details.append([
                    "PurchaseOrder": .string(po), "Line": .number(Double(line)), "LineType": "7",
                    "MStockCode": .string("NS-\(code.code)"), "MStockDes": .string("\(code.name) materials, lot \(line)"),
                    "MOrderUom": "EA", "MOrderQty": .number(quantity), "MPrice": .number(price),
                    "MGlCode": .string("\(code.gl)-\(code.cc)"), "MJob": .string(project.number), "MCompleteFlag": "",
                ])
            }
            if index % 2 == 0 {
                let amount = (total * Double(30 + pick(60)) / 100 * 100).rounded() / 100
                invoices.append([
                    "Supplier": .string(supplier), "Invoice": .string("INV-\(po.suffix(6))"),
                    "InvoiceDate": .string(day(max(0, offset - 2))), "DueDate": .string(day(max(0, offset - 32))),
                    "OrigInvValue": .number(amount), "MthInvBal1": .number(amount), "Currency": "$",
                    "PurchaseOrder": .string(po), "JournalDate": .string(day(max(0, offset - 2))),
                ])
            }
        }
        // The PO on a GL pair whose cost code is missing in its project.
        headers.append([
            "PurchaseOrder": "DEMO-UNMAPPED", "Supplier": "SUP006", "OrderStatus": "1", "OrderType": "L",
            "OrderEntryDate": .string(day(1)), "OrderDueDate": .string(day(-20)), "Currency": "$",
        ])
        details.append([
            "PurchaseOrder": "DEMO-UNMAPPED", "Line": 1, "LineType": "7", "MStockCode": "NS-31-100",
            "MStockDes": "Site excavation and grading", "MOrderUom": "LS", "MOrderQty": 1, "MPrice": 48_500.0,
            "MGlCode": "5500-240", "MJob": "2302",
        ])
        // The invoice that arrives before its PO.
        invoices.append([
            "Supplier": "SUP007", "Invoice": "LATE-INV-1", "InvoiceDate": .string(day(1)), "OrigInvValue": 12_400.0,
            "MthInvBal1": 12_400.0, "Currency": "$", "PurchaseOrder": "DEMO-LATE", "JournalDate": .string(day(1)),
        ])
        let late: [String: JSONValue] = [
            "PurchaseOrder": "DEMO-LATE", "Supplier": "SUP007", "OrderStatus": "1", "OrderType": "L",
            "OrderEntryDate": .string(day(0)), "OrderDueDate": .string(day(-14)), "Currency": "$",
        ]
        let lateLines: [[String: JSONValue]] = [[
            "PurchaseOrder": "DEMO-LATE", "Line": 1, "LineType": "7", "MStockCode": "RENT-EXC", "MStockDes": "Excavator rental, 4 weeks",
            "MOrderUom": "WK", "MOrderQty": 4, "MPrice": 6_200.0, "MGlCode": "5200-210", "MJob": "2301",
        ]]
        var gl: [JSONValue] = costCodes.map {
            ["Company": .string(sysproCompany), "GlCode": .string("\($0.gl)-\($0.cc)"), "Description": .string($0.name), "AccountType": "E"]
        }
        gl.append(["Company": .string(sysproCompany), "GlCode": "5500-240", "Description": "Earthwork", "AccountType": "E"])
        let syspro: JSONValue = [
            "company": .string(sysproCompany), "companyName": "Acme Builders Supply",
            "operators": [[
                "code": .string(operatorCode), "password": .string(operatorPassword), "companyPassword": "",
                "odataPassword": .string(odataPassword),
            ]],
            "tables": [
                "PorMasterHdr": .array(headers), "PorMasterDetail": .array(details), "ApInvoice": .array(invoices),
                "GenMaster": .array(gl),
                "TblCurrency": [["Currency": "$", "Description": "US Dollar", "BuyExchangeRate": 1, "SellExchangeRate": 1]],
                "ApSupplier": .array(suppliers.map { ["Supplier": .string($0.0), "SupplierName": .string($0.1), "Currency": "$"] }),
            ],
        ]
        // the open billing period every project invoices into: today's month (only one is open at a time)
        let today10 = Self.dayString(today)
        let monthStart = String(today10.prefix(8)) + "01"
        let monthEnd = Self.dayString(CalendarDay.lastDayOfMonth(today))
        let procore: JSONValue = [
            "companies": [["id": .number(Double(companyID)), "name": "Acme Builders"]],
            "apps": [["clientID": .string(clientID), "clientSecret": .string(clientSecret), "companyIDs": [.number(Double(companyID))]]],
            "lineItemTypes": [["name": "Materials", "code": "M", "base_type": "material"], ["name": "Labor", "code": "L", "base_type": "labor"]],
            "projects": .array(projects.map { project in
                [
                    "id": .number(Double(project.id)), "company_id": .number(Double(companyID)), "name": .string(project.name),
                    "project_number": .string(project.number), "origin_id": .string("JOB-\(project.number)"),
                    "cost_codes": .array(costCodes.map {
                        ["full_code": .string($0.code), "name": .string($0.name), "budget": .number(budgetPerCostCode)]
                    }),
                    "billing_periods": [["start_date": .string(monthStart), "end_date": .string(monthEnd), "due_date": .string(monthEnd), "status": "open"]],
                ]
            }),
            "vendors": .array(suppliers.map {
                ["company_id": .number(Double(companyID)), "name": .string($0.1), "origin_id": .string($0.0), "origin_code": .string($0.0)]
            }),
            // user-level OAuth for third-party clients: a refresh token already held and a consent code
            "refreshTokens": [["token": .string(procoreRefreshToken), "clientID": .string(clientID)]],
            "authorizationCodes": [["code": .string(procoreAuthorizationCode), "clientID": .string(clientID), "redirectURI": "urn:ietf:wg:oauth:2.0:oob"]],
        ]
        let cin7: JSONValue = [
            "applications": [["accountId": .string(cin7AccountID), "applicationKey": .string(cin7ApplicationKey)]],
            "company": ["Company": "Acme Builders Supply", "Currency": "USD"],
            "suppliers": .array(suppliers.map {
                ["ID": .string(UUID(uuidString: "00000000-0000-4000-8000-0000000000\($0.0.suffix(2))")?.uuidString.lowercased() ?? $0.0),
                 "Name": .string($0.1), "Currency": "USD", "PaymentTerm": "30 days", "AccountPayable": "800", "TaxRule": "Tax Exempt",
                 "Status": "Active", "LastModifiedOn": "2026-01-05T10:00:00.000Z", "Addresses": [], "Contacts": []]
            }),
            "chartOfAccounts": [
                ["Code": "800", "Name": "Accounts Payable", "Type": "CURRLIAB", "Class": "LIABILITY", "Status": "ACTIVE"],
                ["Code": "630", "Name": "Inventory", "Type": "INVENTORY", "Class": "ASSET", "Status": "ACTIVE"],
                ["Code": "310", "Name": "Cost of Goods Sold", "Type": "DIRECTCOSTS", "Class": "EXPENSE", "Status": "ACTIVE"],
            ],
            "products": .array(costCodes.enumerated().map { index, code in
                ["ID": .string(String(format: "c08b3876-89cc-46c4-af52-%012d", index + 1)), "SKU": .string("SKU-\(code.gl)"),
                 "Name": .string("\(code.name) material"), "UOM": "Item", "Status": "Active"]
            }),
        ]
        var data = DemoData(syspro: syspro, procore: procore, cin7: cin7, mappings: [], purchaseOrderCount: headers.count,
                            invoiceCount: invoices.count, latePurchaseOrder: (late, lateLines))
        data.addReferenceSystems(today: today)
        data.mappings = costCodeMappings
        return data
    }

    /// Seeds for the systems only `ping` and `contract verify` reach so far: Procurify, SAP B1
    /// and CloudSuite, each with the same eight suppliers and the GL accounts of the cost codes.
    mutating func addReferenceSystems(today: Date) {
        let numbered = Array(Self.suppliers.enumerated())
        let (orders, bills) = Self.procurifyOrders(today: today)
        procurify = [
            "applications": [["clientId": .string(Self.procurifyClientID), "clientSecret": .string(Self.procurifyClientSecret), "email": "api@acme.example"]],
            "currencies": [
                ["id": 3, "name": "USD", "description": "US Dollar", "rate": "1.000000", "base": true, "active": true],
                ["id": 4, "name": "CAD", "description": "Canadian Dollar", "rate": "1.360000", "base": false, "active": true],
            ],
            "vendors": .array(numbered.map { index, supplier in
                ["id": .number(Double(index + 2)), "name": .string(supplier.1), "external_id": .string(supplier.0), "active": true, "type": 3,
                 "email": [], "currency": 3, "dateModified": "2026-01-05T10:00:00Z"]
            }),
            "accountCodes": .array(Self.costCodes.enumerated().map { index, code in
                ["id": .number(Double(index + 1)), "code": .string(code.gl), "description": .string(code.name), "account_type": 2, "active": true, "parent": .null]
            }),
            "departments": [["id": 1, "name": "Head Office", "external_id": "D-100", "active": true, "branch": ["id": 1, "name": "HQ", "headquarter": true]]],
            "purchaseOrders": .array(orders),
            "bills": .array(bills),
        ]
        sapb1 = [
            "companies": [["companyDB": .string(Self.sapCompanyDB), "companyName": "Acme Builders (demo)", "localCurrency": "USD", "totalsAccuracy": 2,
                           "users": [["userName": .string(Self.sapUser), "password": .string(Self.sapPassword)]]]],
            "data": .object([Self.sapCompanyDB: [
                "BusinessPartners": .array(Self.suppliers.map {
                    ["CardCode": .string("V" + $0.0.dropFirst(3)), "CardName": .string($0.1), "CardType": "cSupplier", "Currency": "USD",
                     "Valid": "tYES", "Frozen": "tNO"]
                } + [["CardCode": "C0001", "CardName": "Harbor View Owner LLC", "CardType": "cCustomer", "Currency": "USD", "Valid": "tYES", "Frozen": "tNO"]]),
                "Projects": .array(Self.projects.map { ["Code": .string("PRJ-\($0.number)"), "Name": .string($0.name), "Active": "tYES"] }),
                "ChartOfAccounts": .array(Self.costCodes.map {
                    ["Code": .string($0.gl), "Name": .string($0.name), "FormatCode": .string($0.gl), "ActiveAccount": "tYES", "AccountType": "at_Expenses"]
                } + [
                    ["Code": "2100", "Name": "Accounts Payable", "FormatCode": "2100", "ActiveAccount": "tYES", "AccountType": "at_Other"],
                    ["Code": "5000", "Name": "Cost of Construction (title)", "FormatCode": "5000", "ActiveAccount": "tNO", "AccountType": "at_Expenses"],
                ]),
                "ProfitCenters": .array(Self.costCodes.enumerated().map { index, code in
                    ["CenterCode": .string("PC\(100 + index * 10)"), "CenterName": .string(code.name), "InWhichDimension": 1, "Active": "tYES"]
                }),
            ]]),
        ]
        cloudsuite = [
            "apps": [["clientId": .string(Self.ionClientID), "clientSecret": .string(Self.ionClientSecret), "accessKey": .string(Self.ionAccessKey),
                      "secretKey": .string(Self.ionSecretKey), "companies": [.number(Double(Self.m3Company))]]],
            "suppliers": .object([String(Self.m3Company): .array(Self.suppliers.map {
                ["SUNO": .string("V1" + $0.0.dropFirst(3)), "SUNM": .string($0.1), "STAT": "20", "CUCD": "USD", "SUTY": "0", "CSCD": "US", "LNCD": "GB"]
            })]),
            // the tenant's supplier template: what AddSupplier takes when the caller leaves it out
            "supplierTemplates": .object([String(Self.m3Company): [
                "SUTY": "0", "CSCD": "US", "ECAR": "CA", "LNCD": "GB", "DTFM": "YMD", "MEPF": "STD", "SUCL": "SUB", "QUCL": "1", "ORTY": "PO1",
                "TEDL": "FOB", "MODL": "TRK", "TEAF": "1", "TEPA": "1", "DT4T": "1", "DTCD": "1", "CUCD": "USD", "CRTP": "1", "TEPY": "30",
                "PYME": "CHK", "ATPR": "STD", "ACRF": "AP",
            ]]),
            "facilities": .object([String(Self.m3Company): [["FACI": "A01", "FACN": "Harbor View site"]]]),
            "warehouses": .object([String(Self.m3Company): [["WHLO": "100", "FACI": "A01", "WHNM": "Site store"]]]),
            "items": .object([String(Self.m3Company): .array(Self.costCodes.map { ["ITNO": .string("CC-" + $0.code), "ITDS": .string($0.name)] })]),
            "settings": ["tenant": .string(Self.ionTenant)],
        ]
    }

    /// The demo data set for flow 002: the Procore projects carry `commitments` approved
    /// commitments (one or two lines, spread over the three projects and eight vendors), an
    /// approved change order on every third, a pending one on every seventh, an approved
    /// subcontractor invoice (40 %) on every second, and an approved direct cost for every
    /// second commitment, all dated today; SAP B1 has the vendors as suppliers, the GL accounts,
    /// profit centers PC100–PC130 and posting periods: last month locked, this and next unlocked.
    public static func procoreSAPB1(commitments count: Int, today: Date) -> DemoData {
        var data = generate(purchaseOrders: 1, today: today)
        let day = dayString(today)
        guard case .object(var procore) = data.procore, case .array(var projects) = procore["projects"] else { return data }
        for index in 0..<count {
            let at = index % projects.count
            guard case .object(var project) = projects[at] else { continue }
            let vendor = suppliers[index % suppliers.count]
            var lines: [JSONValue] = []
            for line in 0..<(1 + index % 2) {
                let code = costCodes[(index + line) % costCodes.count]
                lines.append(["cost_code": .string(code.code), "description": .string("\(code.name) package \(index + 1)"),
                              "amount": .string(String(format: "%.2f", Double(12_000 + index * 750 + line * 1_125) + 0.25 * Double(line)))])
            }
            var commitment: [String: JSONValue] = [
                "number": .string("PC-\(1000 + index)"), "title": .string("\(vendor.1) package \(index + 1)"), "status": "Approved",
                "vendor_origin_id": .string(vendor.0), "line_items": .array(lines),
            ]
            var changes: [JSONValue] = []
            if index % 3 == 2 {
                changes.append(["number": "001", "title": "Added scope", "status": "approved",
                                "line_items": [["cost_code": lines[0]["cost_code"] ?? "03-300", "description": "Added scope", "amount": "1850.50"]]])
            }
            if index % 7 == 6 {
                changes.append(["number": .string(changes.isEmpty ? "001" : "002"), "title": "Pending change", "status": "pending",
                                "line_items": [["cost_code": lines[0]["cost_code"] ?? "03-300", "description": "Pending", "amount": "999.00"]]])
            }
            if !changes.isEmpty { commitment["change_orders"] = .array(changes) }
            if index % 2 == 1 { commitment["requisitions"] = [["invoice_number": .string("SUB-\(1000 + index)-1"), "status": "approved", "percent": 40]] }
            project["commitments"] = .array((project["commitments"]?.arrayValue ?? []) + [.object(commitment)])
            if index % 2 == 0 {
                let code = costCodes[index % costCodes.count]
                let cost: JSONValue = [
                    "direct_cost_type": "invoice", "invoice_number": .string("DC-\(2000 + index)"), "direct_cost_date": .string(day),
                    "status": "approved", "vendor_origin_id": .string(vendor.0),
                    "line_items": [["cost_code": .string(code.code), "description": "Site materials", "quantity": .number(Double(10 + index)), "unit_cost": 42.5, "uom": "ea"]],
                ]
                project["direct_costs"] = .array((project["direct_costs"]?.arrayValue ?? []) + [cost])
            }
            projects[at] = .object(project)
        }
        procore["projects"] = .array(projects)
        data.procore = .object(procore)
        // posting periods around today: last month locked, this month and the next unlocked
        let calendar = Calendar(identifier: .gregorian)
        var utc = calendar
        utc.timeZone = TimeZone(identifier: "UTC")!
        let start = utc.date(from: utc.dateComponents([.year, .month], from: today))!
        var periods: [JSONValue] = []
        for (offset, status) in [(-1, "locked"), (0, "unlocked"), (1, "unlocked")] {
            let from = utc.date(byAdding: .month, value: offset, to: start)!
            let to = utc.date(byAdding: .day, value: -1, to: utc.date(byAdding: .month, value: 1, to: from)!)!
            periods.append(["code": .string(String(dayString(from).prefix(7))), "from": .string(dayString(from)), "to": .string(dayString(to)), "status": .string(status)])
        }
        if case .object(var sap) = data.sapb1, case .array(var companies) = sap["companies"], case .object(var company) = companies.first {
            company["postingPeriods"] = .array(periods)
            companies[0] = .object(company)
            sap["companies"] = .array(companies)
            data.sapb1 = .object(sap)
        }
        return data
    }

    /// Flow 002's settings for the demo data set: the three projects and their SAP project
    /// codes, each cost code on its GL account and profit center.
    public static var procoreSAPB1Settings: ProcoreSAPB1Settings {
        ProcoreSAPB1Settings(
            projects: projects.map { ProjectLink(procoreProject: $0.id, sapProject: "PRJ-\($0.number)") },
            costCodes: costCodes.enumerated().map { index, code in CostCodeAccount(costCode: code.code, account: code.gl, profitCenter: "PC\(100 + index * 10)") })
    }

    /// The demo data set for flow 001 with `count` purchased Procurify POs (one in six
    /// cancelled, bills for half) instead of six: what its bench and scenarios run on.
    public static func procurify(purchaseOrders count: Int, today: Date) -> DemoData {
        var data = generate(purchaseOrders: 1, today: today)
        let (orders, bills) = procurifyOrders(today: today, count: count)
        if case .object(var seed) = data.procurify {
            seed["purchaseOrders"] = .array(orders)
            seed["bills"] = .array(bills)
            data.procurify = .object(seed)
        }
        return data
    }

    /// Six purchased Procurify POs over the ten days before `today` (one closed, one cancelled),
    /// one or two lines each on the demo GL accounts, and approved bills for the first three —
    /// in the detail shapes of procurify.md §4.2 and §6.2.
    static func procurifyOrders(today: Date, count: Int = 6) -> (orders: [JSONValue], bills: [JSONValue]) {
        let iso = ISO8601DateFormatter()
        let usd: JSONValue = ["id": 3, "name": "USD", "rate": "1.000000", "base": true]
        func money(_ value: Double) -> JSONValue { .string(String(format: "%.2f", value)) }
        var orders: [JSONValue] = []
        var bills: [JSONValue] = []
        for index in 0..<count {
            let number = 1001 + index
            let supplier = suppliers[index % suppliers.count]
            let vendor: JSONValue = [
                "id": .number(Double(index % suppliers.count + 2)), "name": .string(supplier.1), "external_id": .string(supplier.0),
                "type": 3, "active": true, "email": [],
            ]
            let created = today.addingTimeInterval(Double(index % 6 - 10) * 86_400 + 9 * 3600 + Double(index / 6))
            let modified = created.addingTimeInterval(3600)
            var lines: [JSONValue] = []
            var subtotal = 0.0
            for line in 0..<(1 + index % 2) {
                let code = costCodes[(index + line) % costCodes.count]
                let quantity = Double(10 * (line + 1) + index)
                let price = 25.0 + Double(index * 5)
                subtotal += quantity * price
                lines.append([
                    "id": .number(Double(5500 + number * 10 + line)), "PO_line_num": .number(Double(line + 1)), "name": .string("\(code.name) material"),
                    "sku": .string("SKU-\(code.gl)"), "unit": "EA", "quantity": .number(quantity), "approved_quantity": .number(quantity),
                    "price": money(price), "approved_price": money(price), "total_cost": money(quantity * price), "tax_amount": "0.00",
                    "status": 2, "accountCode": .string(code.gl),
                    "account": ["id": .number(Double(30 + (index + line) % costCodes.count)),
                                "account_code": ["id": .number(Double((index + line) % costCodes.count + 1)), "code": .string(code.gl),
                                                 "description": .string(code.name), "account_type": 2, "active": true],
                                "department": ["id": 1, "name": "Head Office"]],
                    "currency": usd, "receivedPassQty": 0, "receivedFailQty": 0, "last_modified": .string(iso.string(from: modified)),
                ])
            }
            let state: Double = index % 6 == 4 ? 3 : (index % 6 == 5 ? 1 : 0)
            let uuid = String(format: "5f0c3b7e-8a41-4d2f-9c56-%012d", number)
            orders.append([
                "procurify_PO": .number(Double(number)), "uuid": .string(uuid), "number": .string(String(number)), "PO_Num": .null,
                "version": 1, "most_recent_version": 1, "date": .string(iso.string(from: created)), "last_modified": .string(iso.string(from: modified)),
                "state": .number(state), "fulfilment_status": "empty", "pref_vendor": vendor, "vendor_name": .string(supplier.1),
                "purchaser": ["id": 12, "email": "buyer@acme.example", "department": ["id": 1, "name": "Head Office", "external_id": "D-100"]],
                "payment_terms": "Net 30", "shipping_terms": "FOB", "promise_date": .string(iso.string(from: created.addingTimeInterval(14 * 86_400))),
                "subtotal": money(subtotal), "freight": "0.00", "other": "0.00", "total": money(subtotal),
                "tax": ["value": 0, "type": "amount"], "discount": ["value": 0, "type": "amount"], "purchased_currency": usd,
                "purchased_currency_rate": "1.000000", "order_items": .array(lines),
            ])
            guard index % 6 < 3 else { continue }  // bills for half of the POs
            let billed = modified.addingTimeInterval(2 * 86_400)
            let items: [JSONValue] = lines.map { line in
                ["id": .number((line["id"]?.doubleValue ?? 0) + 100_000), "description": line["name"] ?? .null, "sku": line["sku"] ?? .null, "unit": "EA",
                 "quantity": money(line["quantity"]?.doubleValue ?? 0), "unit_cost": line["price"] ?? .null, "total_cost": line["total_cost"] ?? .null,
                 "tax_amount": "0.00", "total_cost_with_tax": line["total_cost"] ?? .null, "po": ["id": .number(Double(number)), "number": .string(String(number))],
                 "orderitem": ["id": line["id"] ?? .null, "PO_line_num": line["PO_line_num"] ?? .null], "currency": usd,
                 "cost_allocations": [["account_code": line["accountCode"] ?? .null, "department": "Head Office", "percentage": 100]]]
            }
            bills.append([
                "id": .number(Double(700 + index)), "uuid": .string(String(format: "3cda5ef4ac1a401bb6619e4a%08d", number)), "status": 2, "type": 0,
                "invoice_number": .string("INV-\(number)"), "invoice_date": .string(iso.string(from: billed)),
                "due_date": .string(iso.string(from: billed.addingTimeInterval(30 * 86_400))), "submitted_date": .string(iso.string(from: billed)),
                "gl_post_date": .null, "currency": usd, "vendor": vendor, "items": .array(items), "costs": [],
                "added_purchase_orders": [["id": .number(Double(number)), "number": .string(String(number)), "total_amount": money(subtotal)]],
                "subtotal_cost": money(subtotal), "tax_amount": "0.00", "total_cost": .number(subtotal), "total_cost_with_tax": .number(subtotal),
                "last_modified_datetime": .string(iso.string(from: billed)), "locked": false, "past_due": false, "payment_terms": "Net 30",
            ])
        }
        return (orders, bills)
    }

    /// A data set from a file: `{"syspro": {…}, "procore": {…}, "costCodes": [{"glAccount", "costCenter",
    /// "costCode", "project"?}]}` — the simulators' seed formats (as `simulate --data` reads them)
    /// plus the mapping table the flow needs. It has no late PO.
    /// - Throws: ``SyncError`` `.invalidConfig` naming the file and what is wrong.
    public static func load(file path: String) throws -> DemoData {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw SyncError(.invalidConfig, "cannot read the data set \(path)")
        }
        guard let json = try? JSONValue(parsing: bytes), let syspro = json["syspro"], let procore = json["procore"] else {
            throw SyncError(.invalidConfig, "\(path) is not a data set: a JSON object with 'syspro' and 'procore' is expected")
        }
        let mappings: [CostCodeMapping]
        do {
            mappings = try JSONDecoder().decode([CostCodeMapping].self, from: JSONEncoder().encode(json["costCodes"] ?? []))
        } catch {
            throw SyncError(.invalidConfig, "\(path): costCodes must be a list of {glAccount, costCenter, costCode, project?}")
        }
        let tables = syspro["tables"]
        return DemoData(
            syspro: syspro, procore: procore, mappings: mappings,
            purchaseOrderCount: tables?["PorMasterHdr"]?.arrayValue?.count ?? 0, invoiceCount: tables?["ApInvoice"]?.arrayValue?.count ?? 0,
            latePurchaseOrder: ([:], []))
    }

    public static func dayString(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }
}
