import Foundation

/// What happened to one source record in one attempt.
public enum Outcome: String, Sendable, Codable, CaseIterable {
    case created
    case updated
    case skippedDuplicate = "skipped-duplicate"
    case held
    case released
    case failed
}

/// One row of the audit trail: a source record, what we made of it and what the destination said.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var id: Int64?
    public var runID: String
    public var flow: String
    public var sourceSystem: String
    public var sourceEntity: String
    public var sourceID: String
    public var sourcePayload: String?
    public var transformedPayload: String?
    public var destinationSystem: String
    public var destinationID: String?
    public var destinationResponse: String?
    public var outcome: Outcome
    public var errorCode: String?
    public var errorText: String?
    public var warning: String?
    public var attempts: Int
    public var startedAt: Date
    public var finishedAt: Date

    public init(
        id: Int64? = nil, runID: String, flow: String, sourceSystem: String, sourceEntity: String, sourceID: String,
        sourcePayload: String? = nil, transformedPayload: String? = nil, destinationSystem: String,
        destinationID: String? = nil, destinationResponse: String? = nil, outcome: Outcome, errorCode: String? = nil,
        errorText: String? = nil, warning: String? = nil, attempts: Int = 1, startedAt: Date, finishedAt: Date
    ) {
        self.id = id
        self.runID = runID
        self.flow = flow
        self.sourceSystem = sourceSystem
        self.sourceEntity = sourceEntity
        self.sourceID = sourceID
        self.sourcePayload = sourcePayload
        self.transformedPayload = transformedPayload
        self.destinationSystem = destinationSystem
        self.destinationID = destinationID
        self.destinationResponse = destinationResponse
        self.outcome = outcome
        self.errorCode = errorCode
        self.errorText = errorText
        self.warning = warning
        self.attempts = attempts
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// The link between a source record and what was written for it, recorded as an intent before
/// the destination call and completed after it (see ARCHITECTURE.md, "Exactly-once effect").
public struct CrossReference: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case pending, done }
    public var flow: String
    public var entity: String
    public var sourceID: String
    /// A hash of the source payload that was (or is being) written.
    public var sourceVersion: String
    /// The external reference written into the destination (`origin_id` in Procore): how a
    /// pending intent is resolved by looking the record up instead of writing it again.
    public var idempotencyKey: String
    public var destinationID: String?
    public var state: State
    public var updatedAt: Date
    /// What another entity of the flow needs to find from this record without reading its source
    /// again (``Planned/links``): a payment finds the project and contract of the invoice it pays.
    public var links: [String: String]?

    public init(
        flow: String, entity: String, sourceID: String, sourceVersion: String, idempotencyKey: String,
        destinationID: String? = nil, state: State, updatedAt: Date, links: [String: String]? = nil
    ) {
        self.links = links
        self.flow = flow
        self.entity = entity
        self.sourceID = sourceID
        self.sourceVersion = sourceVersion
        self.idempotencyKey = idempotencyKey
        self.destinationID = destinationID
        self.state = state
        self.updatedAt = updatedAt
    }
}

/// A record held back from the destination, with why and how to fix it.
public struct QuarantineEntry: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case held, released }
    public var flow: String
    public var entity: String
    public var sourceID: String
    public var errorCode: String
    public var reason: String
    public var payload: String?
    public var status: Status
    public var attempts: Int
    public var firstSeenAt: Date
    public var lastAttemptAt: Date
    public var releasedAt: Date?

    public init(
        flow: String, entity: String, sourceID: String, errorCode: String, reason: String, payload: String?,
        status: Status, attempts: Int, firstSeenAt: Date, lastAttemptAt: Date, releasedAt: Date? = nil
    ) {
        self.flow = flow
        self.entity = entity
        self.sourceID = sourceID
        self.errorCode = errorCode
        self.reason = reason
        self.payload = payload
        self.status = status
        self.attempts = attempts
        self.firstSeenAt = firstSeenAt
        self.lastAttemptAt = lastAttemptAt
        self.releasedAt = releasedAt
    }
}

/// One sync run.
public struct RunRecord: Sendable, Equatable, Codable {
    public var id: String
    public var flow: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var status: String
    public var summary: String?

    public init(id: String, flow: String, startedAt: Date, finishedAt: Date? = nil, status: String, summary: String? = nil) {
        self.id = id
        self.flow = flow
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.summary = summary
    }
}

/// Which audit rows to read.
public struct AuditFilter: Sendable, Equatable {
    public var runID: String?
    public var outcome: Outcome?
    public var sourceID: String?
    public var flow: String?
    public var limit: Int

    public init(runID: String? = nil, outcome: Outcome? = nil, sourceID: String? = nil, flow: String? = nil, limit: Int = 1000) {
        self.runID = runID
        self.outcome = outcome
        self.sourceID = sourceID
        self.flow = flow
        self.limit = limit
    }
}

/// Who may write for one integration, until when: one writer per integration, whatever the
/// number of processes sharing the store.
public struct Lease: Sendable, Equatable, Codable {
    /// The integration (``FlowRuntime/scope``).
    public var scope: String
    /// Who holds it: host, process id and command, as a person reads it.
    public var holder: String
    public var acquiredAt: Date
    /// A holder that dies stops renewing; after this moment another may take the lease.
    public var expiresAt: Date

    public init(scope: String, holder: String, acquiredAt: Date, expiresAt: Date) {
        self.scope = scope
        self.holder = holder
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
    }
}

/// The state behind the engine: runs, audit, cross-references/intents, watermarks, quarantine.
/// ``SyncStore/SQLiteSyncStore`` is the embedded default; the protocol leaves room for a shared
/// PostgreSQL store later.
public protocol SyncStateStore: Sendable {
    func startRun(_ run: RunRecord) async throws
    func finishRun(id: String, at: Date, status: String, summary: String) async throws
    func runs(limit: Int) async throws -> [RunRecord]

    func append(_ entry: AuditEntry) async throws
    func audit(_ filter: AuditFilter) async throws -> [AuditEntry]

    func crossReference(flow: String, entity: String, sourceID: String) async throws -> CrossReference?
    /// The cross-reference whose idempotency key is `key` (the newest, should two share it): how a
    /// record of one entity finds the record of another that it refers to by the destination's
    /// own reference (a CloudSuite payment names the supplier invoice, not the Procore invoice).
    func crossReference(flow: String, entity: String, idempotencyKey key: String) async throws -> CrossReference?
    /// Records a pending intent before the destination call.
    func recordIntent(_ xref: CrossReference) async throws
    /// Completes an intent with the destination id and writes the audit row in one transaction.
    func complete(_ xref: CrossReference, audit: AuditEntry) async throws

    /// A record's cross-reference and quarantine entry together (what the runtime asks once per
    /// record); a store may answer it in one read.
    func recordState(flow: String, entity: String, sourceID: String) async throws -> (CrossReference?, QuarantineEntry?)

    func watermark(flow: String, entity: String) async throws -> String?
    func setWatermark(flow: String, entity: String, value: String, at: Date) async throws

    func quarantined(flow: String, status: QuarantineEntry.Status?) async throws -> [QuarantineEntry]
    func quarantine(flow: String, entity: String, sourceID: String) async throws -> QuarantineEntry?
    /// Holds a record (insert or refresh) and writes the audit row in one transaction.
    func hold(_ entry: QuarantineEntry, audit: AuditEntry) async throws
    /// Marks a held record released (it went through), if it was held.
    func release(flow: String, entity: String, sourceID: String, at: Date) async throws

    /// Takes the scope's lease for `holder` until `until`, atomically: when it is free, expired,
    /// or already `holder`'s. A shared store implements it with its own locks.
    /// - Returns: the lease as it stands afterwards; its `holder` is someone else's when taken.
    func acquireLease(scope: String, holder: String, now: Date, until: Date) async throws -> Lease
    /// Extends `holder`'s lease.
    /// - Returns: `false` when `holder` no longer holds it (it expired and another took it).
    func renewLease(scope: String, holder: String, until: Date) async throws -> Bool
    /// Gives the lease up, if `holder` has it.
    func releaseLease(scope: String, holder: String) async throws
}

extension SyncStateStore {
    public func recordState(flow: String, entity: String, sourceID: String) async throws -> (CrossReference?, QuarantineEntry?) {
        (try await crossReference(flow: flow, entity: entity, sourceID: sourceID), try await quarantine(flow: flow, entity: entity, sourceID: sourceID))
    }
}
