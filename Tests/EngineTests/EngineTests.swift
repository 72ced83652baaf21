import Foundation
import SyncEngine
import SyncStore
import Testing
import Vault

@Suite(.timeLimit(.minutes(2))) struct BackoffTests {
    /// Absurd figures from outside (a `Retry-After` of `inf` or `1e10`, epoch milliseconds where
    /// seconds were meant) saturate instead of trapping, and a server's wait stays capped.
    @Test(arguments: [Double.infinity, 1e10, 1.8e12, 9.3e9, .nan, -Double.infinity])
    func absurdSecondsNeverTrap(_ seconds: Double) {
        let duration = Duration.interval(seconds)
        #expect(abs(duration.timeInterval) <= Duration.maxIntervalSeconds)
        let wait = BackoffPolicy().delay(failedAttempt: 1, serverHint: .interval(max(0, seconds.isNaN ? 0 : seconds)), random: 0.5)
        #expect(wait <= .seconds(3600))
    }

    @Test func growsExponentiallyUpToTheCap() {
        let policy = BackoffPolicy(base: .seconds(1), cap: .seconds(8), jitter: 0)
        let delays = (1...6).map { policy.delay(failedAttempt: $0, random: 0.5).timeInterval }
        #expect(delays == [1, 2, 4, 8, 8, 8])
    }

    @Test func jitterOnlyShortensTheWait() {
        let policy = BackoffPolicy(base: .seconds(4), cap: .seconds(60), jitter: 0.5)
        #expect(policy.delay(failedAttempt: 1, random: 0).timeInterval == 4)
        #expect(policy.delay(failedAttempt: 1, random: 0.999_999).timeInterval > 2)
        #expect(policy.delay(failedAttempt: 1, random: 0.999_999).timeInterval < 2.01)
    }

    @Test func serverHintWinsWhenLongerAndIsCapped() {
        let policy = BackoffPolicy(base: .seconds(1), cap: .seconds(60), jitter: 0, maxServerWait: .seconds(600))
        #expect(policy.delay(failedAttempt: 1, serverHint: .seconds(30), random: 0).timeInterval == 30)
        #expect(policy.delay(failedAttempt: 1, serverHint: .seconds(86_400), random: 0).timeInterval == 600)
        #expect(policy.delay(failedAttempt: 5, serverHint: .seconds(1), random: 0).timeInterval == 16)
    }
}

@Suite(.timeLimit(.minutes(2))) struct MoneyTests {
    @Test func parsesNumbersAndDecimalStrings() {
        #expect(Money.parse(.number(1250.5))?.minor == 125_050)
        #expect(Money.parse(.string("182000.00"))?.minor == 18_200_000)
        #expect(Money.parse(.string("-3.10"))?.minor == -310)
        #expect(Money(minor: 5).decimalString == "0.05")
        #expect(Money(minor: -12_345).decimalString == "-123.45")
    }

    @Test func refusesWhatIsNotANumber() {
        #expect(Money.parse(.string("abc")) == nil)
        #expect(Money.parse(.string("")) == nil)
        #expect(Money.parse(.string("12,50")) == nil)
        #expect(Money.parse(.bool(true)) == nil)
        #expect(Money.parse(.number(.infinity)) == nil)
        #expect(Money.parse(.number(1e300)) == nil)
        #expect(Money.parse(.string("99999999999999999999999999")) == nil)
    }

    /// Sums saturate instead of trapping, and say they are out of range.
    @Test func sumsThatOverflowSaturateAndAreOutOfRange() {
        let big = Money(minor: .max - 5)
        #expect((big + Money(minor: 10)).minor == .max)
        #expect(!(big + Money(minor: 10)).isWithinLimit)
        #expect((Money(minor: .min + 5) - Money(minor: 10)).minor == .min)
        #expect(Money(units: 1e15) == nil)
        #expect(Money(units: .nan) == nil)
        #expect(Money(units: 999_999_999_999.99)?.isWithinLimit == true)
    }
}

@Suite(.timeLimit(.minutes(2))) struct SafeXMLTests {
    @Test func parsesElementsAndText() throws {
        let root = try SafeXML.parse("<?xml version=\"1.0\" encoding=\"Windows-1252\"?>\n<A x='1'><B>hi &amp; bye</B><B>2</B></A>\n ")
        #expect(root.name == "A")
        #expect(root.attributes["x"] == "1")
        #expect(root.children("B").map(\.text) == ["hi & bye", "2"])
    }

    @Test func refusesEntityDeclarationsAndExternalEntities() {
        let bomb = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>
            """
        #expect(throws: SafeXML.ParseError.self) { try SafeXML.parse(bomb) }
        let external = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"
        #expect(throws: SafeXML.ParseError.self) { try SafeXML.parse(external) }
        #expect(throws: SafeXML.ParseError.self) { try SafeXML.parse("<a><b></a>") }
    }

    /// Found by the `safexml` fuzz target: a processing instruction without data crashed
    /// Foundation's XMLParser (NULL strlen) and took the process down. Now refused as an error.
    @Test func processingInstructionsAreRefusedNotCrashedOn() throws {
        #expect(throws: SafeXML.ParseError.self) { try SafeXML.parse("<?xm?><Query><TableName>ApSupplier</TableName></Query>") }
        #expect(throws: SafeXML.ParseError.self) { try SafeXML.parse("<a><?x?></a>") }
        #expect(throws: SafeXML.ParseError.self) { try SafeXML.parse("<?xml-stylesheet?><a/>") }
        // the declaration, and `<?` inside comments and CDATA, are still fine
        #expect(try SafeXML.parse("<?xml version=\"1.0\"?><a><!-- <?x?> --><![CDATA[<?y?>]]></a>").name == "a")
    }
}

@Suite(.timeLimit(.minutes(2))) struct CredentialReferenceTests {
    @Test func resolvesEnvironmentReferences() throws {
        let reference = try CredentialReference(parsing: "env:MY_SECRET", field: "x")
        #expect(try reference.resolve(environment: ["MY_SECRET": "s3cr3t"]) == "s3cr3t")
    }

    @Test func refusesInlineSecretsWithoutEchoingThem() {
        do {
            _ = try CredentialReference(parsing: "hunter2-password", field: "procore.clientSecret")
            Issue.record("an inline secret was accepted")
        } catch let error as CredentialError {
            #expect(error.message.contains("procore.clientSecret"))
            #expect(!error.message.contains("hunter2"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func aMissingVariableNamesTheVariable() {
        #expect(throws: CredentialError(message: "environment variable NOPE is not set (referenced as env:NOPE); export it before running")) {
            try CredentialReference(parsing: "env:NOPE", field: "x").resolve(environment: [:])
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct StoreTests {
    /// An amendment's intent never turns a done cross-reference back into a pending one: the
    /// record exists in the destination and what depends on it (an invoice) must keep finding it.
    @Test func aDoneCrossReferenceIsNeverMadePendingAgain() async throws {
        let store = try SQLiteSyncStore.inMemory()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let done = CrossReference(
            flow: "f", entity: "E", sourceID: "1", sourceVersion: "v1", idempotencyKey: "K-1", destinationID: "101:42", state: .done, updatedAt: now)
        let audit = AuditEntry(runID: "run", flow: "f", sourceSystem: "s", sourceEntity: "E", sourceID: "1", destinationSystem: "d",
                               outcome: .created, startedAt: now, finishedAt: now)
        try await store.complete(done, audit: audit)
        var amendment = done
        amendment.sourceVersion = "v2"
        amendment.state = .pending
        amendment.destinationID = nil
        try await store.recordIntent(amendment)
        let (xref, _) = try await store.recordState(flow: "f", entity: "E", sourceID: "1")
        #expect(xref?.state == .done)
        #expect(xref?.destinationID == "101:42")
        #expect(xref?.sourceVersion == "v1")
    }

    @Test func intentsWatermarksAndQuarantineRoundTrip() async throws {
        let store = try SQLiteSyncStore.inMemory()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var xref = CrossReference(flow: "f", entity: "E", sourceID: "1", sourceVersion: "v1", idempotencyKey: "K-1", state: .pending, updatedAt: now)
        try await store.recordIntent(xref)
        #expect(try await store.crossReference(flow: "f", entity: "E", sourceID: "1")?.state == .pending)

        let held = QuarantineEntry(flow: "f", entity: "E", sourceID: "1", errorCode: "missingCostCode", reason: "r", payload: "{}",
                                   status: .held, attempts: 1, firstSeenAt: now, lastAttemptAt: now)
        let audit = AuditEntry(runID: "run", flow: "f", sourceSystem: "s", sourceEntity: "E", sourceID: "1", destinationSystem: "d",
                               outcome: .held, startedAt: now, finishedAt: now)
        try await store.hold(held, audit: audit)
        try await store.hold(held, audit: audit)
        #expect(try await store.quarantine(flow: "f", entity: "E", sourceID: "1")?.attempts == 2)

        xref.state = .done
        xref.destinationID = "42"
        var created = audit
        created.outcome = .created
        try await store.complete(xref, audit: created)
        #expect(try await store.crossReference(flow: "f", entity: "E", sourceID: "1")?.destinationID == "42")
        #expect(try await store.quarantine(flow: "f", entity: "E", sourceID: "1")?.status == .released)
        #expect(try await store.audit(AuditFilter(outcome: .created)).count == 1)
        #expect(try await store.audit(AuditFilter(sourceID: "1")).count == 3)

        try await store.setWatermark(flow: "f", entity: "E", value: "2026-11-01", at: now)
        try await store.setWatermark(flow: "f", entity: "E", value: "2026-11-02", at: now)
        #expect(try await store.watermark(flow: "f", entity: "E") == "2026-11-02")
    }

    @Test func oneLeaseHolderPerIntegrationUntilItsLeaseRunsOut() async throws {
        let store = try SQLiteSyncStore.inMemory()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }
        #expect(try await store.acquireLease(scope: "a", holder: "A", now: t0, until: at(300)).holder == "A")
        let taken = try await store.acquireLease(scope: "a", holder: "B", now: at(10), until: at(310))
        #expect(taken.holder == "A" && taken.expiresAt == at(300))
        #expect(try await store.acquireLease(scope: "b", holder: "B", now: at(10), until: at(310)).holder == "B")  // another integration
        #expect(try await store.acquireLease(scope: "a", holder: "A", now: at(20), until: at(320)).holder == "A")  // its own again
        #expect(try await store.renewLease(scope: "a", holder: "A", until: at(600)))
        // A stops renewing (it died): once its lease runs out B takes it, and A's renewal fails
        #expect(try await store.acquireLease(scope: "a", holder: "B", now: at(599), until: at(900)).holder == "A")
        #expect(try await store.acquireLease(scope: "a", holder: "B", now: at(600), until: at(900)).holder == "B")
        #expect(try await store.renewLease(scope: "a", holder: "A", until: at(1000)) == false)
        try await store.releaseLease(scope: "a", holder: "A")  // not A's to give up
        #expect(try await store.acquireLease(scope: "a", holder: "C", now: at(610), until: at(910)).holder == "B")
        try await store.releaseLease(scope: "a", holder: "B")
        #expect(try await store.acquireLease(scope: "a", holder: "C", now: at(611), until: at(911)).holder == "C")
    }

    /// Two processes on one new database file, opening and taking the lease at the same instant:
    /// both open (the second waits for the first one's lock), exactly one holds the lease.
    @Test func twoProcessesOnOneNewFileOpenAndOnlyOneTakesTheLease() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-lease-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let holders = try await withThrowingTaskGroup(of: String.self) { group in
            for name in ["A", "B", "C", "D"] {
                group.addTask {
                    let store = try SQLiteSyncStore.open(path: path)
                    return try await store.acquireLease(scope: "one", holder: name, now: t0, until: t0.addingTimeInterval(300)).holder
                }
            }
            var seen: [String] = []
            for try await holder in group { seen.append(holder) }
            return seen
        }
        #expect(holders.count == 4)
        #expect(Set(holders).count == 1, "every process must see the same single holder: \(holders)")
    }
}
