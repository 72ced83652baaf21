import ConnectorApp
import Flows
import Foundation
import Synchronization
import SimulatorKit
import SyncEngine
import SyncStore
import Testing

/// The holes issue 11 names, each closed in the flow runtime (or flow 000 where it is the flow's).
@Suite(.serialized, .timeLimit(.minutes(3))) struct EngineHoleTests {
    static let today = "2026-11-30T00:00:00Z"

    static func header(_ po: String, supplier: String = "SUP001") -> [String: JSONValue] {
        ["PurchaseOrder": .string(po), "Supplier": .string(supplier), "OrderEntryDate": .string(today), "OrderStatus": "1"]
    }

    static func line(_ po: String, qty: JSONValue = 2, price: JSONValue = 10.0, number: JSONValue = 1) -> [String: JSONValue] {
        ["PurchaseOrder": .string(po), "Line": number, "MOrderQty": qty, "MPrice": price, "MGlCode": "5100-200", "MJob": "2301"]
    }

    @Test func amountsThatOverflowAreHeldNotTrapped() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, data in
            await env.syspro.insert("PorMasterHdr", rows: [
                Self.header("HUGE-PRODUCT"), Self.header("HUGE-SUM"), Self.header("HUGE-LINE-NO"), Self.header("HUGE-NUMBER"),
            ])
            await env.syspro.insert("PorMasterDetail", rows: [
                Self.line("HUGE-PRODUCT", qty: 1e300, price: 1e300),
                Self.line("HUGE-SUM", qty: 9e14, price: 1, number: 1), Self.line("HUGE-SUM", qty: 9e14, price: 1, number: 2),
                Self.line("HUGE-LINE-NO", number: 1e300),
                Self.line("HUGE-NUMBER", qty: "1e400"),
            ])
            await env.syspro.insert("ApInvoice", rows: [
                ["Supplier": 1e30, "Invoice": "BIG-KEY", "InvoiceDate": .string(Self.today), "OrigInvValue": 5, "PurchaseOrder": "X"],
                ["Supplier": "SUP001", "Invoice": "HUGE-INV", "InvoiceDate": .string(Self.today), "OrigInvValue": 1e18, "PurchaseOrder": "X"],
            ])
            let summary = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(summary.errors.isEmpty)
            let held = Dictionary(
                uniqueKeysWithValues: try await env.store.quarantined(flow: SysproProcoreFlow.name, status: .held).map { ($0.sourceID, $0.reason) })
            #expect(held["HUGE-PRODUCT"]?.contains("beyond any amount") == true)
            #expect(held["HUGE-SUM"]?.contains("add up to more") == true)
            #expect(held["HUGE-LINE-NO"]?.contains("not a whole number") == true)
            #expect(held["HUGE-NUMBER"]?.contains("not a number") == true)
            #expect(held["SUP001/HUGE-INV"]?.contains("beyond any amount") == true)
            #expect(held.keys.contains { $0.hasPrefix("?ApInvoice#") })  // a supplier key that is a number past Int64
        }
    }

    /// Fuzz-like: thousands of rows with values drawn from the awkward corners of JSON go through
    /// the record parsers of a full cycle; every row ends written or held, none traps.
    @Test func fuzzedRowsEndWrittenOrHeldNeverTrapped() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, data in
            let awkward: [JSONValue] = [
                .null, true, 0, -0.0, 1e-320, -1, 1e15, -1e15, 9.2e18, -9.2e18, 1e308, -1e308, 1.5, "", " ", "NaN", "inf", "-inf", "1e999",
                "0x10", "١٢٣", "9223372036854775808", .array([]), .object([:]), "2026-02-30", "2026-11-30T25:00:00Z", "\u{0}",
                .string(String(repeating: "9", count: 400)),
            ]
            var random = SplitMix64(seed: 11)
            func any() -> JSONValue { awkward[Int(random.next() % UInt64(awkward.count))] }
            var headers: [[String: JSONValue]] = []
            var lines: [[String: JSONValue]] = []
            var invoices: [[String: JSONValue]] = []
            for index in 0..<150 {
                let po = "FUZZ-\(index)"
                var header = Self.header(po)
                let column = ["Supplier", "OrderEntryDate", "OrderStatus", "OrderDueDate"][index % 4]
                header[column] = any()
                headers.append(header)
                var line = Self.line(po)
                line[["MOrderQty", "MPrice", "Line", "MGlCode", "MJob", "LineType"][index % 6]] = any()
                lines.append(line)
                var invoice: [String: JSONValue] = [
                    "Supplier": "SUP001", "Invoice": .string("FUZZ-INV-\(index)"), "InvoiceDate": .string(Self.today), "OrigInvValue": 10,
                    "PurchaseOrder": .string(po),
                ]
                invoice[["Supplier", "Invoice", "InvoiceDate", "OrigInvValue", "PurchaseOrder"][index % 5]] = any()
                invoices.append(invoice)
            }
            await env.syspro.insert("PorMasterHdr", rows: headers)
            await env.syspro.insert("PorMasterDetail", rows: lines)
            await env.syspro.insert("ApInvoice", rows: invoices)
            var fuzz = settings(data)
            fuzz.pageSize = 50
            let summary = try await env.makeFlow(settings: fuzz).runCycle()
            let pos = summary.purchaseOrders
            let invoiceCounts = summary.invoices
            #expect(pos.read == pos.created + pos.updated + pos.skipped + pos.held + pos.failed)
            #expect(invoiceCounts.read == invoiceCounts.created + invoiceCounts.updated + invoiceCounts.skipped + invoiceCounts.held + invoiceCounts.failed)
            #expect(pos.read >= 150)
            await expectNoDuplicates(env)
        }
    }

    @Test func aRecordThatCannotBeHeldStopsTheCycleBeforeTheWatermarkMoves() async throws {
        try await withEnvironment(purchaseOrders: 4) { env, data in
            let store = FailingHolds(env.store)
            store.failing = true
            let flow = env.makeFlow(settings: settings(data), store: store)
            let broken = try await flow.runCycle()
            // DEMO-UNMAPPED fails (no cost code) and cannot be held: the POs stop there.
            #expect(broken.errors.contains { $0.contains("could not be held") && $0.contains("watermark did not move") })
            #expect(try await env.store.watermark(flow: SysproProcoreFlow.name, entity: "PorMasterHdr") == nil)
            #expect(try await env.store.quarantined(flow: SysproProcoreFlow.name, status: .held).isEmpty)
            store.failing = false
            let healed = try await flow.runCycle()
            #expect(healed.errors.isEmpty)
            #expect(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED")?.status == .held)
            #expect(try await env.store.watermark(flow: SysproProcoreFlow.name, entity: "PorMasterHdr") != nil)
            await expectNoDuplicates(env)
        }
    }

    @Test func aHeldRecordStaysHeldWhenItsReReadIsEmptyOrFails() async throws {
        try await withEnvironment(purchaseOrders: 4) { env, data in
            let flow = env.makeFlow(settings: settings(data))
            _ = try await flow.runCycle()
            #expect(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED")?.status == .held)
            // A transient empty answer for the held PO's key, then a failure re-reading it.
            env.sysproCore.faults.add(FaultRule(
                path: "*/PorMasterHdr", nth: 1, effect: FaultEffect(status: 200, body: #"{"@odata.context":"x","value":[]}"#)))
            let empty = try await flow.runCycle()
            #expect(empty.errors.isEmpty)
            #expect(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED")?.status == .held)
            env.sysproCore.faults.add(FaultRule(path: "*/PorMasterHdr", nth: 1, effect: FaultEffect(status: 400, body: #"{"error":{"code":"","message":"boom"}}"#)))
            let failed = try await flow.runCycle()
            #expect(failed.errors.isEmpty)  // the cycle went on past it
            #expect(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "PorMasterHdr", sourceID: "DEMO-UNMAPPED")?.status == .held)
            let audit = try await env.store.audit(AuditFilter(sourceID: "DEMO-UNMAPPED"))
            #expect(audit.contains { $0.errorText?.contains("an empty answer is no proof") == true })
            #expect(audit.contains { $0.errorText?.contains("could not be read again") == true })
        }
    }

    @Test func sourceKeysWithASlashAreHeldAndReReadByTheirOwnKey() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, data in
            await env.syspro.insert("ApInvoice", rows: [
                ["Supplier": "SUP/01", "Invoice": "INV/7%", "InvoiceDate": .string(Self.today), "OrigInvValue": 10, "PurchaseOrder": "NOT-YET"],
            ])
            let flow = env.makeFlow(settings: settings(data))
            _ = try await flow.runCycle()
            let id = "SUP%2F01/INV%2F7%25"
            #expect(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "ApInvoice", sourceID: id)?.status == .held)
            _ = try await flow.runCycle()
            // re-read by its own key, found, still waiting for its PO: never dropped as vanished
            #expect(try await env.store.quarantine(flow: SysproProcoreFlow.name, entity: "ApInvoice", sourceID: id)?.status == .held)
            let audit = try await env.store.audit(AuditFilter(sourceID: id))
            #expect(audit.allSatisfy { $0.errorCode == "waitingForDependency" })
        }
    }

    @Test func aShortPageWithANextLinkIsNotTheEnd() async throws {
        try await withEnvironment(purchaseOrders: 12) { env, data in
            var limits = await env.syspro.settings
            limits.maxPageSize = 3  // the server caps pages below the $top of 5 and says so with a next link
            limits.emitNextLinks = true
            await env.syspro.setSettings(limits)
            let summary = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(summary.errors.isEmpty)
            #expect(summary.purchaseOrders.created == data.purchaseOrderCount - 1)
            #expect(summary.invoices.created == data.invoiceCount - 1)
        }
    }

    @Test func oneUnreadableRowIsHeldByItsDigestAndThePageGoesOn() async throws {
        try await withEnvironment(purchaseOrders: 4) { env, data in
            // The first page of POs, with one row whose text is a lone surrogate (not a character).
            let page = #"{"@odata.context":"x","value":[{"PurchaseOrder":"\udc00BROKEN","Supplier":"SUP001","OrderEntryDate":"2026-11-30T00:00:00Z"},{"PurchaseOrder":"DEMO-UNMAPPED","Supplier":"SUP006","OrderEntryDate":"2026-11-29T00:00:00Z","OrderStatus":"1"}]}"#
            env.sysproCore.faults.add(FaultRule(method: "GET", path: "*/PorMasterHdr", nth: 1, effect: FaultEffect(status: 200, body: page)))
            let flow = env.makeFlow(settings: settings(data))
            let first = try await flow.runCycle()
            #expect(first.errors.isEmpty)
            let held = try await env.store.quarantined(flow: SysproProcoreFlow.name, status: .held)
            let unreadable = try #require(held.first { $0.sourceID.hasPrefix("?PorMasterHdr#") })
            #expect(unreadable.reason.contains("could not be read"))
            #expect(unreadable.reason.contains("sha256"))
            #expect(held.contains { $0.sourceID == "DEMO-UNMAPPED" })
            // The same bytes give the same key: held once, not once per cycle.
            env.sysproCore.faults.add(FaultRule(method: "GET", path: "*/PorMasterHdr", nth: 1, effect: FaultEffect(status: 200, body: page)))
            _ = try await flow.runCycle()
            let again = try await env.store.quarantined(flow: SysproProcoreFlow.name, status: .held).filter { $0.sourceID.hasPrefix("?") }
            #expect(again.count == 1)
        }
    }

    @Test func credentialsGoOnlyToTheConfiguredOriginAndARepeatedNextLinkEndsTheListing() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, _ in
            let procore = env.makeProcoreClient()
            let sysproOrigin = try #require(env.urls["syspro"])
            // A next link to another port (the SYSPRO simulator standing in for a stranger's host).
            env.procoreCore.faults.add(FaultRule(method: "GET", path: "/rest/v1.0/companies", nth: 1, effect: FaultEffect(
                status: 200, body: #"[{"id":8,"name":"Acme"}]"#, headers: ["Link": "<\(sysproOrigin)/rest/v1.0/companies?page=2>; rel=\"next\""])))
            await #expect {
                try await procore.list("/rest/v1.0/companies", query: [], what: "companies")
            } throws: { error in
                "\(error)".contains("another origin") && "\(error)".contains("no credentials were sent")
            }
            #expect(env.sysproCore.journal.all.allSatisfy { $0.path != "/rest/v1.0/companies" })
            // Other schemes are refused the same way.
            env.procoreCore.faults.add(FaultRule(method: "GET", path: "/rest/v1.0/companies", nth: 1, effect: FaultEffect(
                status: 200, body: #"[{"id":8}]"#, headers: ["Link": "<file:///etc/passwd>; rel=\"next\""])))
            await #expect(throws: SyncError.self) { try await procore.list("/rest/v1.0/companies", query: [], what: "companies") }
            // A server that keeps announcing the same next page: followed once, then the listing ends.
            let origin = try #require(env.urls["procore"])
            env.procoreCore.journal.clear()
            env.procoreCore.faults.add(FaultRule(method: "GET", path: "/rest/v1.0/companies", times: 50, effect: FaultEffect(
                status: 200, body: #"[{"id":8,"name":"Acme"}]"#, headers: ["Link": "<\(origin)/rest/v1.0/companies?page=2>; rel=\"next\""])))
            let items = try await procore.list("/rest/v1.0/companies", query: [], what: "companies")
            #expect(items.count == 2)
            #expect(env.procoreCore.journal.all.filter { $0.path == "/rest/v1.0/companies" }.count == 2)
        }
    }

    @Test func anODataNextLinkToAnotherOriginIsRefused() async throws {
        try await withEnvironment(purchaseOrders: 2) { env, data in
            let page = #"{"@odata.context":"x","value":[],"@odata.nextLink":"https://elsewhere.example/SYSPRO8Odata/PorMasterDetail?$skip=5"}"#
            env.sysproCore.faults.add(FaultRule(method: "GET", path: "*/PorMasterDetail", times: 10, effect: FaultEffect(status: 200, body: page)))
            let summary = try await env.makeFlow(settings: settings(data)).runCycle()
            #expect(summary.errors.contains { $0.contains("another origin") })
            #expect(try await env.store.watermark(flow: SysproProcoreFlow.name, entity: "PorMasterHdr") == nil)
        }
    }

    @Test func parseRowsKeepsBytesThatAreNotUTF8AsADigest() throws {
        var body = Data(#"{"value":[{"a":"ok"},{"a":""#.utf8)
        body.append(contentsOf: [0xC3, 0x28, 0xFF])  // invalid UTF-8
        body.append(contentsOf: Data(#""},{"a":"also ok"}],"@odata.nextLink":null}"#.utf8))
        let (envelope, rows) = try JSONValue.parseRows(body, key: "value")
        let all = try #require(rows)
        #expect(all.count == 3)
        #expect(try all[0].get()["a"] == "ok")
        #expect(try all[2].get()["a"] == "also ok")
        guard case .failure(let unreadable) = all[1] else { Issue.record("row 2 should be unreadable"); return }
        #expect(unreadable.byteCount == 11)
        #expect(unreadable.digest.count == 64)
        #expect(envelope["@odata.nextLink"] == .null)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: body) }
        // Nesting bombs are refused, not a stack overflow.
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: String(repeating: "[", count: 100_000)) }
    }

    @Test func theParserReadsWhatJSONDecoderReads() throws {
        let samples = [
            #"{"a":[1,2.5,-3e2,true,false,null,"x\"y\\z\u00e9\ud83d\ude00"],"b":{}}"#, "[]", "0", #""\/""#, " { \"k\" : [ ] } ",
        ]
        for sample in samples {
            #expect(try JSONValue(parsing: sample) == JSONDecoder().decode(JSONValue.self, from: Data(sample.utf8)), "\(sample)")
        }
        for broken in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"\\x\"", "[1] 2", "1e999", "\"\u{1}\""] {
            #expect(throws: JSONParseError.self, "\(broken)") { try JSONValue(parsing: broken) }
        }
    }
}

/// A state store whose holds fail on demand (a full disk, a locked file).
final class FailingHolds: SyncStateStore {
    let inner: any SyncStateStore
    private let state = Mutex(false)
    var failing: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    init(_ inner: any SyncStateStore) { self.inner = inner }

    struct DiskFull: Error, CustomStringConvertible { var description: String { "disk I/O error (simulated)" } }

    func startRun(_ run: RunRecord) async throws { try await inner.startRun(run) }
    func finishRun(id: String, at: Date, status: String, summary: String) async throws { try await inner.finishRun(id: id, at: at, status: status, summary: summary) }
    func runs(limit: Int) async throws -> [RunRecord] { try await inner.runs(limit: limit) }
    func append(_ entry: AuditEntry) async throws { try await inner.append(entry) }
    func audit(_ filter: AuditFilter) async throws -> [AuditEntry] { try await inner.audit(filter) }
    func crossReference(flow: String, entity: String, sourceID: String) async throws -> CrossReference? {
        try await inner.crossReference(flow: flow, entity: entity, sourceID: sourceID)
    }
    func crossReference(flow: String, entity: String, idempotencyKey key: String) async throws -> CrossReference? {
        try await inner.crossReference(flow: flow, entity: entity, idempotencyKey: key)
    }
    func recordIntent(_ xref: CrossReference) async throws { try await inner.recordIntent(xref) }
    func complete(_ xref: CrossReference, audit: AuditEntry) async throws { try await inner.complete(xref, audit: audit) }
    func watermark(flow: String, entity: String) async throws -> String? { try await inner.watermark(flow: flow, entity: entity) }
    func setWatermark(flow: String, entity: String, value: String, at: Date) async throws {
        try await inner.setWatermark(flow: flow, entity: entity, value: value, at: at)
    }
    func quarantined(flow: String, status: QuarantineEntry.Status?) async throws -> [QuarantineEntry] {
        try await inner.quarantined(flow: flow, status: status)
    }
    func quarantine(flow: String, entity: String, sourceID: String) async throws -> QuarantineEntry? {
        try await inner.quarantine(flow: flow, entity: entity, sourceID: sourceID)
    }
    func hold(_ entry: QuarantineEntry, audit: AuditEntry) async throws {
        if failing { throw DiskFull() }
        try await inner.hold(entry, audit: audit)
    }
    func release(flow: String, entity: String, sourceID: String, at: Date) async throws {
        try await inner.release(flow: flow, entity: entity, sourceID: sourceID, at: at)
    }
    func acquireLease(scope: String, holder: String, now: Date, until: Date) async throws -> Lease {
        try await inner.acquireLease(scope: scope, holder: holder, now: now, until: until)
    }
    func renewLease(scope: String, holder: String, until: Date) async throws -> Bool { try await inner.renewLease(scope: scope, holder: holder, until: until) }
    func releaseLease(scope: String, holder: String) async throws { try await inner.releaseLease(scope: scope, holder: holder) }
}

@Suite(.timeLimit(.minutes(1))) struct CalendarDayTests {
    @Test func readsAndWritesDaysLikeAStrictFormatter() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.isLenient = false
        var day = try #require(formatter.date(from: "1899-12-25"))
        for _ in 0..<80_000 {  // every day to 2118, leap days and century years included
            let text = formatter.string(from: day)
            #expect(CalendarDay.date(text) == day, "\(text)")
            #expect(CalendarDay.string(day) == text)
            day.addTimeInterval(86400)
        }
        for bad in ["2026-02-29", "2100-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-4-01", "2026-04-01T", "abcd-01-01", "", "2026-04-0x"] {
            #expect(CalendarDay.date(bad) == nil, "\(bad)")
        }
        #expect(CalendarDay.date("2000-02-29") != nil)
    }
}

@Suite(.timeLimit(.minutes(1))) struct JSONWriterTests {
    /// The writer's text is JSONEncoder's (sorted keys, slashes unescaped), byte for byte, so the
    /// versions hashed from it before stay the same.
    @Test func writesWhatJSONEncoderWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var random = SplitMix64(seed: 7)
        let strings = ["", "a/b", "é", "\u{1}", "\u{7f}", "\"\\", "\n\t\r\u{8}\u{c}", "\u{2028}", "😀", "\u{1f}", "ｚ", "Z", "10", "9", "_", "a-b", "PurchaseOrder"]
        let numbers: [Double] = [0, -0.0, 3, 1.5, 1e20, 1e-7, 0.1, 1e15, 1e16, 4294967296, -12.75, 9007199254740993, 1.7976931348623157e308, 5e-324, 2.5e-5, 123.456]
        func value(_ depth: Int) -> JSONValue {
            switch random.next() % (depth > 3 ? 4 : 6) {
            case 0: return .null
            case 1: return .bool(random.next() % 2 == 0)
            case 2: return .number(random.next() % 3 == 0 ? Double(Int64(bitPattern: random.next()) >> 20) / 1000 : numbers[Int(random.next() % UInt64(numbers.count))])
            case 3: return .string(strings[Int(random.next() % UInt64(strings.count))])
            case 4: return .array((0..<Int(random.next() % 4)).map { _ in value(depth + 1) })
            default:
                var object: [String: JSONValue] = [:]
                for _ in 0..<Int(random.next() % 5) { object[strings[Int(random.next() % UInt64(strings.count))]] = value(depth + 1) }
                return .object(object)
            }
        }
        for _ in 0..<2_000 {
            let sample = value(0)
            #expect(sample.jsonData() == (try encoder.encode(sample)), "\(sample)")
        }
    }
}
