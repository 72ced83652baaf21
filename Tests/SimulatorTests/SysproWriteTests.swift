import Foundation
import SimulatorKit
import SyncEngine
import SysproSimulator
import Testing

/// The SYSPRO simulator's write side as e.net does it (syspro.md §§6–8): PORTOI, APSTIN and APSSSP
/// through `Transaction/Post`, `Setup/Add|Update` and `Transaction/PostLD`, with in-band field
/// errors, what is written visible to OData and COMFND, licence seats and the URL length limit.
@Suite(.timeLimit(.minutes(2))) struct SysproWriteTests {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let core: SimulatorCore
    let backend: SysproBackend

    init() async throws {
        (core, backend) = SysproSimulator.makeCore(clock: clock)
        try await backend.seed([
            "company": "EDU1",
            "operators": [["code": "ADMIN", "password": "pw", "companyPassword": "", "odataPassword": "od"]],
            "tables": [
                "PorMasterHdr": [["PurchaseOrder": "000000000150802", "Supplier": "SUP001", "OrderEntryDate": "2026-03-01T00:00:00Z", "OrderStatus": "1"]],
                "ApSupplier": [["Supplier": "PROC01", "SupplierName": "Pacific Rebar", "Currency": "$"],
                               ["Supplier": "NOPO01", "SupplierName": "Cash only", "Currency": "$", "PurchOrdAllowed": "N"]],
                "GenMaster": [["Company": "EDU1", "GlCode": "5100-200", "Description": "Concrete"]],
                "TblCurrency": [["Currency": "$"], ["Currency": "EUR"]],
            ],
        ])
    }

    func enet(_ operation: String, _ query: [(String, String)]) async -> (Int, String) {
        let raw = query.map { "\($0.0)=\($0.1.percentEncoded(keeping: "-._~"))" }.joined(separator: "&")
        let response = await core.respond(SimRequest(method: "GET", path: "/SYSPROWCFService/Rest/\(operation)", rawQuery: raw))
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    func logon() async -> String {
        await enet("Logon", [("Operator", "ADMIN"), ("OperatorPassword", "pw"), ("CompanyId", "EDU1")]).1.trimmingCharacters(in: .whitespaces)
    }

    func post(_ session: String, _ object: String, _ xmlIn: String, parameters: String = "", operation: String = "Transaction/Post") async -> String {
        await enet(operation, [("UserId", session), ("BusinessObject", object), ("XmlParameters", parameters), ("XmlIn", xmlIn)]).1
    }

    static let parameters = "<PostPurchaseOrders><Parameters><AllowNonStockItems>Y</AllowNonStockItems><Status>1</Status></Parameters></PostPurchaseOrders>"

    static func order(_ supplier: String = "PROC01", customerPo: String = "PRC-PO-1042", lines: String? = nil) -> String {
        """
        <PostPurchaseOrders xmlns:xsd="http://www.w3.org/2001/XMLSchema-instance" xsd:noNamespaceSchemaLocation="PORTOIDOC.XSD"><Orders>
        <OrderHeader><OrderActionType>A</OrderActionType><Supplier>\(supplier)</Supplier><OrderType>L</OrderType>
        <CustomerPoNumber>\(customerPo)</CustomerPoNumber><OrderDate>2026-03-04</OrderDate><DueDate>2026-03-18</DueDate><Warehouse>FG</Warehouse></OrderHeader>
        <OrderDetails>\(lines ?? """
        <StockLine><LineActionType>A</LineActionType><StockCode>REBAR-12MM</StockCode><StockDescription>Rebar 12mm</StockDescription>
        <OrderQty>40</OrderQty><OrderUom>EA</OrderUom><PriceMethod>M</PriceMethod><Price>18.50000</Price><LedgerCode>5100-200</LedgerCode><ProductClass>MATL</ProductClass></StockLine>
        <CommentLine><LineActionType>A</LineActionType><Comment>Deliver to site gate 2</Comment></CommentLine>
        """)</OrderDetails></Orders></PostPurchaseOrders>
        """
    }

    @Test func portoiAddsChangesAndCancelsAPurchaseOrderThatReadsBack() async throws {
        let session = await logon()
        let added = await post(session, "PORTOI", Self.order(), parameters: Self.parameters)
        #expect(added.hasPrefix("<?xml version=\"1.0\" encoding=\"Windows-1252\"?>\n<postpurchaseorders "))
        #expect(added.contains("<StatusofItems>\n<ItemsProcessed>000001</ItemsProcessed>\n<ItemsInvalid>000000</ItemsInvalid>"))
        let number = try #require(SafeXML.parse(added).child("Order")?.child("Key")?.value("PurchaseOrder"))
        #expect(number == "000000000150803")  // the next number after the highest
        let header = await backend.rows("PorMasterHdr").first { $0["PurchaseOrder"]?.stringValue == number }
        #expect(header?["CustomerPoNumber"] == "PRC-PO-1042")
        #expect(header?["OrderEntryDate"] == "2026-03-04T00:00:00Z")
        let lines = await backend.rows("PorMasterDetail").filter { $0["PurchaseOrder"]?.stringValue == number }
        #expect(lines.map { $0["LineType"] } == ["7", "6"])  // non-stocked, comment
        #expect(lines.first?["MPrice"] == 18.5)
        // COMFND finds it by the cross-reference the flow writes
        let found = await post(session, "COMFND", "<Query><TableName>PorMasterHdr</TableName><Columns><Column>PurchaseOrder</Column></Columns><Where><Expression><OpenBracket>(</OpenBracket><Column>CustomerPoNumber</Column><Condition>EQ</Condition><Value>PRC-PO-1042</Value><CloseBracket>)</CloseBracket></Expression></Where></Query>", operation: "Query/Query")
        #expect(found.contains("<PurchaseOrder>\(number)</PurchaseOrder>"))
        // a change: one line's quantity, one line added — the same PO, not a second
        let change = """
            <PostPurchaseOrders><Orders><OrderHeader><OrderActionType>C</OrderActionType><PurchaseOrder>\(number)</PurchaseOrder><DueDate>2026-03-25</DueDate></OrderHeader>
            <OrderDetails><StockLine><PurchaseOrderLine>1</PurchaseOrderLine><LineActionType>C</LineActionType><OrderQty>45</OrderQty></StockLine>
            <StockLine><LineActionType>A</LineActionType><StockCode>TIE-WIRE</StockCode><OrderQty>2</OrderQty><Price>9.90</Price><LedgerCode>5100-200</LedgerCode><ProductClass>MATL</ProductClass></StockLine>
            </OrderDetails></Orders></PostPurchaseOrders>
            """
        #expect(await post(session, "PORTOI", change, parameters: Self.parameters).contains("<ItemsInvalid>000000</ItemsInvalid>"))
        let changed = await backend.rows("PorMasterDetail").filter { $0["PurchaseOrder"]?.stringValue == number }
        #expect(changed.map { $0["MOrderQty"] } == [45, nil, 2])
        #expect(await backend.rows("PorMasterHdr").filter { $0["CustomerPoNumber"] == "PRC-PO-1042" }.count == 1)
        // cancel: status '*'; a cancelled PO takes no change
        let cancel = "<PostPurchaseOrders><Orders><OrderHeader><OrderActionType>D</OrderActionType><PurchaseOrder>\(number)</PurchaseOrder></OrderHeader></Orders></PostPurchaseOrders>"
        _ = await post(session, "PORTOI", cancel)
        #expect(await backend.rows("PorMasterHdr").first { $0["PurchaseOrder"]?.stringValue == number }?["OrderStatus"] == "*")
        #expect(await post(session, "PORTOI", change, parameters: Self.parameters).contains("is cancelled"))
    }

    @Test func portoiValidationErrorsAreInBandPerFieldAndWriteNothing() async throws {
        let session = await logon()
        func refused(_ xml: String, parameters: String = Self.parameters) async throws -> (number: String, text: String) {
            let answer = await post(session, "PORTOI", xml, parameters: parameters)
            #expect(answer.contains("<ItemsInvalid>000001</ItemsInvalid>"), "\(answer)")
            let root = try SafeXML.parse(answer)
            func firstError(_ node: XMLElementNode) -> XMLElementNode? {
                if node.child("ErrorNumber") != nil { return node }
                for child in node.children { if let found = firstError(child) { return found } }
                return nil
            }
            let error = try #require(firstError(root))
            return (error.value("ErrorNumber") ?? "", error.value("ErrorDescription") ?? "")
        }
        #expect(try await refused(Self.order("NOPE01")).text == "Supplier 'NOPE01' not found")
        #expect(try await refused(Self.order("NOPO01")).text.contains("not allowed"))
        #expect(try await refused(Self.order(customerPo: String(repeating: "X", count: 31))).text.contains("longer than 30"))
        let badLedger = "<StockLine><StockCode>X</StockCode><OrderQty>1</OrderQty><Price>1</Price><LedgerCode>9999</LedgerCode><ProductClass>M</ProductClass></StockLine>"
        #expect(try await refused(Self.order(lines: badLedger)).text == "Ledger code '9999' not found")
        let stockOnly = "<PostPurchaseOrders><Parameters><AllowNonStockItems>N</AllowNonStockItems></Parameters></PostPurchaseOrders>"
        #expect(try await refused(Self.order(), parameters: stockOnly) == ("240004", "Stock code 'REBAR-12MM' not found"))
        let zero = "<StockLine><StockCode>X</StockCode><OrderQty>1</OrderQty><Price>0</Price><LedgerCode>5100-200</LedgerCode><ProductClass>M</ProductClass></StockLine>"
        #expect(try await refused(Self.order(lines: zero)).text.contains("zero"))
        let badDate = Self.order().replacingOccurrences(of: "2026-03-04", with: "04/03/2026")
        #expect(try await refused(badDate).number == "100028")
        #expect(await backend.rows("PorMasterHdr").count == 1)  // nothing written
        // ValidateOnly answers as if posted and writes nothing
        let validate = "<PostPurchaseOrders><Parameters><ValidateOnly>Y</ValidateOnly><AllowNonStockItems>Y</AllowNonStockItems></Parameters></PostPurchaseOrders>"
        #expect(await post(session, "PORTOI", Self.order(), parameters: validate).contains("<ItemsProcessed>000001</ItemsProcessed>"))
        #expect(await backend.rows("PorMasterHdr").count == 1)
        // not XML, a wrong root, a dead session: in-band ERROR texts
        #expect(await post(session, "PORTOI", "<Orders>").hasPrefix("ERROR: XML document could not be parsed"))
        #expect(await post(session, "PORTOI", "<PostApInvoice/>").hasPrefix("ERROR: e.net exception raised: 100030"))
        #expect(await post("NOSUCHSESSION", "PORTOI", Self.order()).hasPrefix("ERROR: The supplied UserID is invalid."))
        #expect(await post(session, "PORTOI", Self.order(), operation: "Setup/Add").contains("cannot be used"))
    }

    @Test func apstinPostsAnInvoiceOnceAndApplyIfEntireDocumentValidHoldsAll() async throws {
        let session = await logon()
        let parameters = "<PostApInvoice><Parameters><PostingPeriod>C</PostingPeriod><ApplyIfEntireDocumentValid>Y</ApplyIfEntireDocumentValid></Parameters></PostApInvoice>"
        func invoice(_ number: String, value: String = "1250.00", ledger: String = "5100-200", ledgerValue: String = "1250.00") -> String {
            "<Item><Supplier>PROC01</Supplier><TransactionCode>I</TransactionCode><Invoice>\(number)</Invoice><TransactionValue>\(value)</TransactionValue>"
                + "<TransactionReference>PRC-PO-1042</TransactionReference><InvoiceDate>2026-03-20</InvoiceDate><DueDate>2026-04-19</DueDate><TaxValue>0.00</TaxValue>"
                + "<LedgerDistribution><LedgerCode>\(ledger)</LedgerCode><LedgerValue>\(ledgerValue)</LedgerValue></LedgerDistribution></Item>"
        }
        let answer = await post(session, "APSTIN", "<PostApInvoice>\(invoice("BILL-7781"))</PostApInvoice>", parameters: parameters)
        #expect(answer.contains("<postapinvoice "))
        #expect(answer.contains("<StatusOfItems>") && answer.contains("<ItemsProcessed>000001</ItemsProcessed>"))
        #expect(try SafeXML.parse(answer).child("Item")?.child("Transaction")?.child("Key")?.value("Journal") != nil)
        let stored = await backend.rows("ApInvoice")
        #expect(stored.count == 1)
        #expect(stored.first?["OrigInvValue"] == 1250)
        #expect(stored.first?["InvoiceDate"] == "2026-03-20T00:00:00Z")
        // the same invoice again: SYSPRO's own duplicate guard
        #expect(await post(session, "APSTIN", "<PostApInvoice>\(invoice("BILL-7781"))</PostApInvoice>", parameters: parameters).contains("already exists for supplier 'PROC01'"))
        // one bad item with ApplyIfEntireDocumentValid=Y: nothing of the document is applied
        let mixed = "<PostApInvoice>\(invoice("BILL-7782"))\(invoice("BILL-7783", ledgerValue: "1000.00"))</PostApInvoice>"
        let refused = await post(session, "APSTIN", mixed, parameters: parameters)
        #expect(refused.contains("does not equal the invoice value"))
        #expect(refused.contains("<ItemsInvalid>000001</ItemsInvalid>"))
        #expect(await backend.rows("ApInvoice").count == 1)
        #expect(await post(session, "APSTIN", "<PostApInvoice>\(invoice("BILL-7784", ledger: "0000"))</PostApInvoice>").contains("Ledger code '0000' not found"))
        // a credit note needs the invoice it credits
        let credit = "<PostApInvoice><Item><Supplier>PROC01</Supplier><TransactionCode>C</TransactionCode><Invoice>NONE-1</Invoice><TransactionValue>10</TransactionValue></Item></PostApInvoice>"
        #expect(await post(session, "APSTIN", credit).contains("not found for supplier"))
    }

    @Test func apssspAddsAndUpdatesSuppliersWithLowerCasedAnswers() async throws {
        let session = await logon()
        let add = "<SetupApSupplier><Item><Key><Supplier>PROC02</Supplier></Key><SupplierName>Northside Concrete Ltd</SupplierName><Currency>$</Currency><TermsCode>30</TermsCode></Item></SetupApSupplier>"
        let added = await post(session, "APSSSP", add, operation: "Setup/Add")
        #expect(added.contains("<setupapsupplier "))
        #expect(added.contains("<item>\n<key>\n<supplier>PROC02</supplier>"))
        #expect(added.contains("<StatusOfItems>\n<RecordsRead>1</RecordsRead>\n<RecordsInvalid>0</RecordsInvalid>"))
        #expect(await post(session, "APSSSP", add, operation: "Setup/Add").contains("already exists"))
        let update = "<SetupApSupplier><Item><Key><Supplier>PROC02</Supplier></Key><Email>ap@northside.example</Email></Item></SetupApSupplier>"
        #expect(await post(session, "APSSSP", update, operation: "Setup/Update").contains("<RecordsInvalid>0</RecordsInvalid>"))
        #expect(await backend.rows("ApSupplier").first { $0["Supplier"] == "PROC02" }?["Email"] == "ap@northside.example")
        #expect(await post(session, "APSSSP", update.replacingOccurrences(of: "PROC02", with: "GHOST"), operation: "Setup/Update").contains("Supplier 'GHOST' not found"))
        let badCurrency = add.replacingOccurrences(of: "PROC02", with: "PROC03").replacingOccurrences(of: "<Currency>$</Currency>", with: "<Currency>XYZ</Currency>")
        #expect(await post(session, "APSSSP", badCurrency, operation: "Setup/Add").contains("Currency 'XYZ' not found"))
    }

    /// The fault for "SYSPRO accepted the post but answered after the client's deadline": the
    /// handler runs (the PO exists), then the answer is held — unlike `delayMs`, which holds the
    /// request before anything happens.
    @Test func aLateAnswerStillWrote() async throws {
        let session = await logon()
        core.faults.add(FaultRule(path: "*/Transaction/Post", nth: 1, effect: FaultEffect(delayAfterMilliseconds: 1)))
        let answer = await post(session, "PORTOI", Self.order(customerPo: "PRC-LATE"), parameters: Self.parameters)
        #expect(answer.contains("<ItemsProcessed>000001</ItemsProcessed>"))
        #expect(await backend.rows("PorMasterHdr").contains { $0["CustomerPoNumber"] == "PRC-LATE" })
        #expect(core.journal.all.last?.faulted == true)
        #expect(FaultRule(path: "*", effect: FaultEffect(delayAfterMilliseconds: 700_000)).problem != nil)
    }

    @Test func bigDocumentsNeedPostLDAndSeatsRunOut() async throws {
        let session = await logon()
        let many = (1...300).map { "<StockLine><StockCode>ITEM-\($0)</StockCode><StockDescription>\(String(repeating: "x", count: 40))</StockDescription><OrderQty>1</OrderQty><Price>1</Price><LedgerCode>5100-200</LedgerCode><ProductClass>M</ProductClass></StockLine>" }.joined()
        let big = Self.order(customerPo: "PRC-BIG", lines: many)
        let query = await enet("Transaction/Post", [("UserId", session), ("BusinessObject", "PORTOI"), ("XmlParameters", Self.parameters), ("XmlIn", big)])
        #expect(query.0 == 414)
        let body = "<TransactionPostLD xmlns=\"http://SYSPROWcfService\"><UserId>\(session)</UserId><BusinessObject>PORTOI</BusinessObject>"
            + "<XmlParameters><![CDATA[\(Self.parameters)]]></XmlParameters><XmlIn><![CDATA[\(big)]]></XmlIn></TransactionPostLD>"
        let posted = await core.respond(SimRequest(method: "POST", path: "/SYSPROWCFService/Rest/Transaction/PostLD", headers: ["Content-Type": "application/xml"], body: Data(body.utf8)))
        #expect(posted.status == 200)
        #expect(String(decoding: posted.body, as: UTF8.self).contains("<ItemsProcessed>000001</ItemsProcessed>"))
        #expect(await backend.rows("PorMasterDetail").filter { $0["MStockCode"]?.stringValue?.hasPrefix("ITEM-") == true }.count == 300)
        // licence seats: two open sessions hold both; a third logon is refused until one logs off
        var settings = await backend.settings
        settings.licenceSeats = 2
        await backend.setSettings(settings)
        let second = await logon()
        #expect(await enet("Logon", [("Operator", "ADMIN"), ("OperatorPassword", "pw"), ("CompanyId", "EDU1")]).1.hasPrefix("ERROR: e.net exception raised: 100036"))
        _ = await enet("Logoff", [("UserId", second)])
        #expect(!(await logon()).hasPrefix("ERROR"))
    }
}
