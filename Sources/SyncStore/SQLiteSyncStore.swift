import Foundation
import GRDB
import SyncEngine

/// The embedded default state store: one SQLite file in WAL mode (or an in-memory database in
/// tests), schema by named migrations that never change once shipped.
public struct SQLiteSyncStore: SyncStateStore {
    private let writer: any DatabaseWriter

    /// Opens (and migrates) the database file at `path`, creating it if needed.
    /// - Throws: when the file cannot be opened or a migration fails.
    /// A new, empty state file at `path` (the old one and its WAL files removed first): what the
    /// demos and benches start from.
    public static func openFresh(path: String) throws -> SQLiteSyncStore {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        return try open(path: path)
    }

    public static func open(path: String) throws -> SQLiteSyncStore {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(5)
        // Two processes opening a new file at the same instant: the second one's switch to WAL
        // (and the migrations) meet the first one's lock, and SQLite answers SQLITE_BUSY at once
        // instead of waiting. Wait for it like any other lock, for up to `openPatience`.
        // Two processes migrating a new file at once: the loser's CREATE TABLE meets the winner's
        // committed table. Each migration is one transaction, so once the winner is done the
        // loser finds every migration applied.
        let deadline = Date().addingTimeInterval(openPatience)
        while true {
            var pool: DatabasePool?
            do {
                pool = try DatabasePool(path: path, configuration: config)
                return try SQLiteSyncStore(pool!)
            } catch let error as DatabaseError {
                if let pool, (try? pool.read { db in try migrator.hasCompletedMigrations(db) }) == true { return try SQLiteSyncStore(pool) }
                let lockedOrRacing = error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED || pool != nil
                guard lockedOrRacing, Date() < deadline else {
                    if lockedOrRacing {
                        throw SyncError(.busy, "the state database \(path) stayed locked for \(Int(openPatience)) s while it was being opened: another process holds it")
                    }
                    throw error
                }
                usleep(50_000)
            }
        }
    }

    /// How long ``open(path:)`` waits for another process's lock on a database being opened.
    public static let openPatience: TimeInterval = 30

    /// An in-memory store for tests.
    public static func inMemory() throws -> SQLiteSyncStore { try SQLiteSyncStore(DatabaseQueue()) }

    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: runs, audit, xref, watermarks, quarantine") { db in
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("flow", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
                t.column("status", .text).notNull()
                t.column("summary", .text)
            }
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("runID", .text).notNull().indexed()
                t.column("flow", .text).notNull()
                t.column("sourceSystem", .text).notNull()
                t.column("sourceEntity", .text).notNull()
                t.column("sourceID", .text).notNull().indexed()
                t.column("sourcePayload", .text)
                t.column("transformedPayload", .text)
                t.column("destinationSystem", .text).notNull()
                t.column("destinationID", .text)
                t.column("destinationResponse", .text)
                t.column("outcome", .text).notNull().indexed()
                t.column("errorCode", .text)
                t.column("errorText", .text)
                t.column("warning", .text)
                t.column("attempts", .integer).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("finishedAt", .datetime).notNull()
            }
            try db.create(table: "crossReference") { t in
                t.column("flow", .text).notNull()
                t.column("entity", .text).notNull()
                t.column("sourceID", .text).notNull()
                t.column("sourceVersion", .text).notNull()
                t.column("idempotencyKey", .text).notNull()
                t.column("destinationID", .text)
                t.column("state", .text).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["flow", "entity", "sourceID"])
            }
            try db.create(table: "watermark") { t in
                t.column("flow", .text).notNull()
                t.column("entity", .text).notNull()
                t.column("value", .text).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["flow", "entity"])
            }
            try db.create(table: "quarantine") { t in
                t.column("flow", .text).notNull()
                t.column("entity", .text).notNull()
                t.column("sourceID", .text).notNull()
                t.column("errorCode", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("payload", .text)
                t.column("status", .text).notNull().indexed()
                t.column("attempts", .integer).notNull()
                t.column("firstSeenAt", .datetime).notNull()
                t.column("lastAttemptAt", .datetime).notNull()
                t.column("releasedAt", .datetime)
                t.primaryKey(["flow", "entity", "sourceID"])
            }
        }
        migrator.registerMigration("v2: sealed credentials") { db in
            try db.create(table: "credential") { t in
                t.primaryKey("name", .text)
                t.column("system", .text).notNull()
                t.column("ciphertext", .blob).notNull()
                t.column("wrappedKey", .blob).notNull()
                t.column("keyFingerprint", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("rotatedAt", .datetime)
                t.column("lastCheckedAt", .datetime)
                t.column("lastCheckResult", .text)
            }
        }
        migrator.registerMigration("v3: leases") { db in
            try db.create(table: "lease") { t in
                t.primaryKey("scope", .text)
                t.column("holder", .text).notNull()
                t.column("acquiredAt", .datetime).notNull()
                t.column("expiresAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v4: webhook inbox") { db in
            try db.create(table: "webhookEvent") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("integration", .text).notNull()
                t.column("eventID", .text).notNull()
                t.column("orderKey", .text).notNull()
                t.column("payload", .text).notNull()
                t.column("receivedAt", .datetime).notNull()
                t.column("processedAt", .datetime)
                t.uniqueKey(["integration", "eventID"])
            }
            try db.create(index: "webhookEvent_pending", on: "webhookEvent", columns: ["integration", "processedAt"])
        }
        migrator.registerMigration("v5: cross-reference links and look-up by key") { db in
            try db.alter(table: "crossReference") { t in t.add(column: "links", .text) }
            try db.create(index: "crossReference_key", on: "crossReference", columns: ["flow", "entity", "idempotencyKey"])
        }
        return migrator
    }

    // MARK: credentials (sealed by the Vault module; this store only keeps the bytes)

    public func saveCredential(_ credential: StoredCredential) async throws {
        try await writer.write { db in try credential.save(db) }
    }

    public func credential(named name: String) async throws -> StoredCredential? {
        try await writer.read { db in try StoredCredential.fetchOne(db, key: name) }
    }

    /// The same, synchronously (config references are resolved while a flow is being built).
    public func credentialNow(named name: String) throws -> StoredCredential? {
        try writer.read { db in try StoredCredential.fetchOne(db, key: name) }
    }

    public func credentials() async throws -> [StoredCredential] {
        try await writer.read { db in try StoredCredential.order(Column("name")).fetchAll(db) }
    }

    /// - Returns: whether a credential of that name existed.
    @discardableResult
    public func removeCredential(named name: String) async throws -> Bool {
        try await writer.write { db in try StoredCredential.deleteOne(db, key: name) }
    }

    /// Replaces several credentials in one transaction (a master-key rotation is all or nothing).
    public func replaceCredentials(_ list: [StoredCredential]) async throws {
        try await writer.write { db in for credential in list { try credential.save(db) } }
    }

    public func markChecked(_ name: String, at date: Date, result: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE credential SET lastCheckedAt = ?, lastCheckResult = ? WHERE name = ?", arguments: [date, result, name])
        }
    }

    // MARK: runs

    public func startRun(_ run: RunRecord) async throws {
        try await writer.write { db in try run.insert(db) }
    }

    public func finishRun(id: String, at: Date, status: String, summary: String) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE run SET finishedAt = ?, status = ?, summary = ? WHERE id = ?",
                arguments: [at, status, summary, id])
        }
    }

    public func runs(limit: Int) async throws -> [RunRecord] {
        try await writer.read { db in
            try RunRecord.order(Column("startedAt").desc).limit(limit).fetchAll(db)
        }
    }

    // MARK: audit

    public func append(_ entry: AuditEntry) async throws {
        try await writer.write { db in
            var entry = entry
            try entry.insert(db)
        }
    }

    public func audit(_ filter: AuditFilter) async throws -> [AuditEntry] {
        try await writer.read { db in
            var request = AuditEntry.all()
            if let runID = filter.runID { request = request.filter(AuditEntry.Columns.runID == runID) }
            if let outcome = filter.outcome { request = request.filter(AuditEntry.Columns.outcome == outcome.rawValue) }
            if let sourceID = filter.sourceID { request = request.filter(AuditEntry.Columns.sourceID == sourceID) }
            if let flow = filter.flow { request = request.filter(AuditEntry.Columns.flow == flow) }
            return try request.order(AuditEntry.Columns.id).limit(filter.limit).fetchAll(db)
        }
    }

    // MARK: cross-references

    public func crossReference(flow: String, entity: String, sourceID: String) async throws -> CrossReference? {
        try await writer.read { db in
            try CrossReference.fetchOne(db, key: ["flow": flow, "entity": entity, "sourceID": sourceID])
        }
    }

    public func crossReference(flow: String, entity: String, idempotencyKey key: String) async throws -> CrossReference? {
        try await writer.read { db in
            try CrossReference.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM crossReference WHERE flow = ? AND entity = ? AND idempotencyKey = ? ORDER BY updatedAt DESC LIMIT 1"),
                arguments: [flow, entity, key])
        }
    }

    /// Records an intent. A cross-reference that is `done` is never turned back into a pending
    /// one: the record exists in the destination, and what other entities look up (an invoice's
    /// commitment) must keep finding it while an amendment is in flight or held.
    public func recordIntent(_ xref: CrossReference) async throws {
        try await writer.write { db in try Self.upsert(xref, in: db, keepingDone: true) }
    }

    /// The statements on every record's path are prepared once per connection (`cachedStatement`):
    /// building SQL through the query interface for each record was a tenth of the engine's time.
    static func upsert(_ xref: CrossReference, in db: Database, keepingDone: Bool) throws {
        let statement = try db.cachedStatement(sql: keepingDone ? upsertKeepingDone : upsertAlways)
        try statement.execute(arguments: [
            xref.flow, xref.entity, xref.sourceID, xref.sourceVersion, xref.idempotencyKey, xref.destinationID, xref.state.rawValue,
            xref.updatedAt, try xref.links.map { String(decoding: try JSONEncoder.sorted.encode($0), as: UTF8.self) },
        ])
    }

    static let upsertAlways = """
        INSERT INTO crossReference (flow, entity, sourceID, sourceVersion, idempotencyKey, destinationID, state, updatedAt, links)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(flow, entity, sourceID) DO UPDATE SET sourceVersion = excluded.sourceVersion,
            idempotencyKey = excluded.idempotencyKey, destinationID = excluded.destinationID, state = excluded.state,
            updatedAt = excluded.updatedAt, links = excluded.links
        """
    static let upsertKeepingDone = upsertAlways + " WHERE crossReference.state <> 'done'"

    public func complete(_ xref: CrossReference, audit: AuditEntry) async throws {
        try await writer.write { db in
            try Self.upsert(xref, in: db, keepingDone: false)
            var audit = audit
            try audit.insert(db)
            try db.cachedStatement(sql: """
                UPDATE quarantine SET status = 'released', releasedAt = ?
                WHERE flow = ? AND entity = ? AND sourceID = ? AND status = 'held'
                """).execute(arguments: [audit.finishedAt, xref.flow, xref.entity, xref.sourceID])
        }
    }

    /// The cross-reference and the quarantine entry of one record, in one read.
    public func recordState(flow: String, entity: String, sourceID: String) async throws -> (CrossReference?, QuarantineEntry?) {
        try await writer.read { db in
            let key: StatementArguments = [flow, entity, sourceID]
            let xref = try CrossReference.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM crossReference WHERE flow = ? AND entity = ? AND sourceID = ?"), arguments: key)
            let held = try QuarantineEntry.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM quarantine WHERE flow = ? AND entity = ? AND sourceID = ?"), arguments: key)
            return (xref, held)
        }
    }

    // MARK: watermarks

    public func watermark(flow: String, entity: String) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(
                db, sql: "SELECT value FROM watermark WHERE flow = ? AND entity = ?", arguments: [flow, entity])
        }
    }

    public func setWatermark(flow: String, entity: String, value: String, at: Date) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO watermark (flow, entity, value, updatedAt) VALUES (?, ?, ?, ?)
                    ON CONFLICT(flow, entity) DO UPDATE SET value = excluded.value, updatedAt = excluded.updatedAt
                    """,
                arguments: [flow, entity, value, at])
        }
    }

    // MARK: quarantine

    public func quarantined(flow: String, status: QuarantineEntry.Status?) async throws -> [QuarantineEntry] {
        try await writer.read { db in
            var request = QuarantineEntry.filter(Column("flow") == flow)
            if let status { request = request.filter(Column("status") == status.rawValue) }
            return try request.order(Column("firstSeenAt"), Column("entity"), Column("sourceID")).fetchAll(db)
        }
    }

    public func quarantine(flow: String, entity: String, sourceID: String) async throws -> QuarantineEntry? {
        try await writer.read { db in
            try QuarantineEntry.fetchOne(db, key: ["flow": flow, "entity": entity, "sourceID": sourceID])
        }
    }

    public func hold(_ entry: QuarantineEntry, audit: AuditEntry) async throws {
        try await writer.write { db in
            if var existing = try QuarantineEntry.fetchOne(
                db, key: ["flow": entry.flow, "entity": entry.entity, "sourceID": entry.sourceID])
            {
                existing.errorCode = entry.errorCode
                existing.reason = entry.reason
                existing.payload = entry.payload
                existing.status = .held
                existing.attempts += 1
                existing.lastAttemptAt = entry.lastAttemptAt
                existing.releasedAt = nil
                try existing.update(db)
            } else {
                try entry.insert(db)
            }
            var audit = audit
            try audit.insert(db)
        }
    }

    // MARK: state from before integrations had keys of their own

    /// Whether anything (runs, cross-references, watermarks, quarantine) is kept under `scope`.
    public func hasState(scope: String) async throws -> Bool {
        try await writer.read { db in try Self.hasState(db, scope: scope) }
    }

    static func hasState(_ db: Database, scope: String) throws -> Bool {
        try stateTables.contains { table in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM \(table) WHERE flow = ?)", arguments: [scope]) ?? false
        }
    }

    /// Moves state kept under a flow's name (as every state was before integrations had keys of
    /// their own) to an integration, unless that integration already has state.
    /// - Returns: the rows moved; 0 when there was nothing to move or the integration had state.
    public func adoptLegacyState(of flow: String, into scope: String) async throws -> Int {
        guard flow != scope else { return 0 }
        return try await writer.write { db in
            if try Self.hasState(db, scope: scope) { return 0 }
            var moved = 0
            for table in Self.stateTables + ["audit"] {
                try db.execute(sql: "UPDATE \(table) SET flow = ? WHERE flow = ?", arguments: [scope, flow])
                moved += db.changesCount
            }
            return moved
        }
    }

    static let stateTables = ["run", "crossReference", "watermark", "quarantine"]

    // MARK: leases

    // MARK: webhook inbox (`serve`)

    /// Keeps a received webhook event before it is answered. - Returns: `false` for a
    /// redelivery (the same event id for the same integration), which is kept once.
    public func storeEvent(integration: String, eventID: String, orderKey: String, payload: String, at: Date) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO webhookEvent (integration, eventID, orderKey, payload, receivedAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [integration, eventID, orderKey, payload, at])
            return db.changesCount > 0
        }
    }

    /// Events not processed yet, oldest first (the order they arrived in).
    public func pendingEvents(integration: String, limit: Int = 1_000) async throws -> [WebhookEvent] {
        try await writer.read { db in
            try WebhookEvent.filter(Column("integration") == integration && Column("processedAt") == nil)
                .order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    /// Marks the integration's events received up to `receivedBefore` processed (a cycle that
    /// began after them has read what they announced).
    public func markEventsProcessed(integration: String, receivedBefore: Date, at: Date) async throws -> Int {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE webhookEvent SET processedAt = ? WHERE integration = ? AND processedAt IS NULL AND receivedAt <= ?",
                arguments: [at, integration, receivedBefore])
            return db.changesCount
        }
    }

    public func acquireLease(scope: String, holder: String, now: Date, until: Date) async throws -> Lease {
        try await writer.write { db in
            // One statement: taking a free, expired or own lease cannot race another process.
            try db.execute(
                sql: """
                    INSERT INTO lease (scope, holder, acquiredAt, expiresAt) VALUES (?, ?, ?, ?)
                    ON CONFLICT(scope) DO UPDATE SET holder = excluded.holder, acquiredAt = excluded.acquiredAt,
                        expiresAt = excluded.expiresAt
                    WHERE lease.holder = excluded.holder OR lease.expiresAt <= ?
                    """,
                arguments: [scope, holder, now, until, now])
            guard let lease = try Lease.fetchOne(db, key: scope) else {
                throw SyncError(.unexpectedResponse, "the lease of \(scope) vanished while it was being taken")
            }
            return lease
        }
    }

    public func renewLease(scope: String, holder: String, until: Date) async throws -> Bool {
        try await writer.write { db in
            try db.execute(sql: "UPDATE lease SET expiresAt = ? WHERE scope = ? AND holder = ?", arguments: [until, scope, holder])
            return db.changesCount > 0
        }
    }

    public func releaseLease(scope: String, holder: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM lease WHERE scope = ? AND holder = ?", arguments: [scope, holder])
        }
    }

    public func release(flow: String, entity: String, sourceID: String, at: Date) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE quarantine SET status = 'released', releasedAt = ?
                    WHERE flow = ? AND entity = ? AND sourceID = ? AND status = 'held'
                    """,
                arguments: [at, flow, entity, sourceID])
        }
    }
}

extension Lease: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "lease"
}

extension RunRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "run"
}

extension AuditEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "audit"
    public enum Columns {
        public static let id = Column("id")
        public static let runID = Column("runID")
        public static let outcome = Column("outcome")
        public static let sourceID = Column("sourceID")
        public static let flow = Column("flow")
    }
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension CrossReference: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "crossReference"
}

extension JSONEncoder {
    /// Keys in order, so the same links are the same text.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }
}

extension QuarantineEntry: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "quarantine"
}

/// A credential as stored: the sealed bytes and non-secret facts about it.
public struct StoredCredential: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "credential"
    public var name: String
    public var system: String
    public var ciphertext: Data
    public var wrappedKey: Data
    public var keyFingerprint: String
    public var createdAt: Date
    public var rotatedAt: Date?
    public var lastCheckedAt: Date?
    public var lastCheckResult: String?

    public init(
        name: String, system: String, ciphertext: Data, wrappedKey: Data, keyFingerprint: String, createdAt: Date,
        rotatedAt: Date? = nil, lastCheckedAt: Date? = nil, lastCheckResult: String? = nil
    ) {
        self.name = name
        self.system = system
        self.ciphertext = ciphertext
        self.wrappedKey = wrappedKey
        self.keyFingerprint = keyFingerprint
        self.createdAt = createdAt
        self.rotatedAt = rotatedAt
        self.lastCheckedAt = lastCheckedAt
        self.lastCheckResult = lastCheckResult
    }
}

/// A webhook event as `serve` received and kept it.
public struct WebhookEvent: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "webhookEvent"
    public var id: Int64?
    public var integration: String
    public var eventID: String
    /// What orders it against others (Procore: `project:<id>` or `company:<id>`).
    public var orderKey: String
    public var payload: String
    public var receivedAt: Date
    public var processedAt: Date?
}
