import Foundation

/// One kind of record a flow moves, in the order a cycle handles them.
public struct FlowEntity: Sendable, Hashable {
    /// The key state is kept under (watermarks, cross-references, quarantine), e.g. `PorMasterHdr`.
    public var name: String
    /// The key of its counts in ``CycleSummary`` (and scenario `summary:` assertions), e.g. `purchaseOrders`.
    public var label: String
    /// What one record is called in messages, e.g. `PO`.
    public var noun: String
    /// The systems it moves between, as written in the audit trail (`syspro`, `procore`).
    public var source: String
    public var destination: String
    /// The source system as a person names it, in messages ("SYSPRO").
    public var sourceName: String

    public init(name: String, label: String, noun: String, source: String, destination: String, sourceName: String) {
        self.name = name
        self.label = label
        self.noun = noun
        self.source = source
        self.destination = destination
        self.sourceName = sourceName
    }
}

/// One source record as the flow read it, ready for the runtime's pipeline.
public struct SourceRecord: Sendable {
    /// The source's key. A row whose key cannot be read gets `?<entity>#<digest>` (see
    /// ``unreadableID(entity:row:)``), so it can still be held and replayed.
    public var id: String
    /// Everything the record is made of (a PO header with its lines): stored with a hold, shown in
    /// the audit, and hashed into the record's version so that an edited record becomes an update.
    public var payload: JSONValue
    /// What this record contributes to its entity's watermark, or `nil` (a date that is not a date,
    /// or lies in the future, must not move it). Values compare as strings: use ISO 8601.
    public var watermark: String?
    /// What the record's version is a hash of, when not the whole payload: the attributes this
    /// side owns in a two-way sync, so that a change the sync itself wrote into the other
    /// attributes reads as the same version and is not sent back (no ping-pong).
    public var versionBasis: JSONValue?

    public init(id: String, payload: JSONValue, watermark: String?, versionBasis: JSONValue? = nil) {
        self.id = id
        self.payload = payload
        self.watermark = watermark
        self.versionBasis = versionBasis
    }
}

/// One page of source records and where the next one starts.
public struct SourcePage: Sendable {
    public var records: [SourceRecord]
    /// An opaque cursor the flow understands (an OData `$skip`, a `nextLink`, a `Link` header's
    /// `rel="next"`, `metadata.pagination.next`); `nil` on the last page.
    public var next: String?
    /// The watermark this page completes, when the flow knows it better than its records do: a
    /// source read in partitions (Procore's lists are per project) gives its records none and
    /// sets this on the last page of the last partition, so the watermark moves only once every
    /// partition has been read (a crash halfway reads them all again).
    public var completes: String?

    public init(records: [SourceRecord], next: String?, completes: String? = nil) {
        self.records = records
        self.next = next
        self.completes = completes
    }
}

/// What a held record's source says now.
public enum Reread: Sendable {
    /// The record as it reads today (maybe fixed at the source).
    case found(SourceRecord)
    /// The source positively answered that the record is gone (a 404 for its key, a deletion
    /// record): it is released from quarantine without writing.
    case gone
    /// The source answered without the record, which is no proof that it is gone (an OData
    /// filter answering an empty page may be a replica catching up): it stays held, and the
    /// audit says why. The text says what was asked.
    case notFound(String)
}

/// What a flow's write did in the destination.
public struct Written: Sendable {
    public var outcome: Outcome
    /// How the runtime finds the record again (stored in the cross-reference).
    public var destinationID: String
    /// What was sent, for the audit.
    public var transformed: JSONValue
    /// A short account of the destination's answer, for the audit.
    public var response: String
    public var warning: String?

    public init(outcome: Outcome, destinationID: String, transformed: JSONValue, response: String, warning: String? = nil) {
        self.outcome = outcome
        self.destinationID = destinationID
        self.transformed = transformed
        self.response = response
        self.warning = warning
    }
}

/// A record the flow has checked and is ready to write.
public struct Planned<Plan: Sendable>: Sendable {
    /// The reference the flow writes into the destination and looks up before every write
    /// (Procore's `origin_id`): the idempotency key of the cross-reference.
    public var key: String
    public var plan: Plan
    /// The record's cross-reference before this attempt, set by the runtime before
    /// ``FlowDefinition/write(_:_:run:)``: `nil` when no write was ever attempted (no intent was
    /// recorded, so nothing can exist in the destination unless another installation wrote it —
    /// a flow may create first and fall back to a look-up on the destination's duplicate-key
    /// refusal); `pending` when an earlier attempt may or may not have landed (look up first);
    /// `done` for an amendment of a record that exists (its ``CrossReference/destinationID``).
    public internal(set) var previous: CrossReference?
    /// Kept with the cross-reference for other entities of the flow (``RunContext/crossReference(entity:key:)``).
    public var links: [String: String]?

    public init(key: String, plan: Plan, links: [String: String]? = nil) {
        self.key = key
        self.plan = plan
        self.links = links
    }
}

/// What a flow may know of the run it is part of.
public struct RunContext: Sendable {
    public let runID: String
    /// Set by `replay --override-budget`: post what a budget rule would hold, with a warning.
    public let overrideBudget: Bool
    let store: any SyncStateStore
    let scope: String
    let checkpoint: @Sendable (String) async throws -> Void

    init(
        runID: String, overrideBudget: Bool, store: any SyncStateStore, scope: String,
        checkpoint: @escaping @Sendable (String) async throws -> Void = { _ in }
    ) {
        self.runID = runID
        self.overrideBudget = overrideBudget
        self.store = store
        self.scope = scope
        self.checkpoint = checkpoint
    }

    /// Marks the point between two destination calls of one record's write (a Cin7 purchase's
    /// header and its order): the ``CrashPoint/betweenStages`` crash point fires here, so a
    /// scenario can kill the process with half a record written.
    public func betweenStages(_ sourceID: String) async throws { try await checkpoint(sourceID) }

    /// Where a record of this integration landed, once it is written: what a rule such as "an
    /// invoice waits for its PO" asks, or an amendment checks (a PO moved to another project).
    /// - Returns: the destination id of a done cross-reference, `nil` while there is none.
    public func destinationID(entity: String, sourceID: String) async throws -> String? {
        guard let xref = try await store.crossReference(flow: scope, entity: entity, sourceID: sourceID), xref.state == .done else {
            return nil
        }
        return xref.destinationID
    }

    /// The written record of `entity` whose idempotency key is `key` (``Planned/key``), with the
    /// links its plan kept; `nil` while there is none. A `pending` one (a write that may or may
    /// not have landed) is returned too: the caller decides whether to wait for it.
    public func crossReference(entity: String, key: String) async throws -> CrossReference? {
        try await store.crossReference(flow: scope, entity: entity, idempotencyKey: key)
    }
}

/// What a flow says, and only that: its entities, how to read them from the source, how to plan
/// and write one record in the destination. Everything else — the cycle and its run record,
/// watermarks and paging, the intent → look-up → write → commit steps, quarantine, replay, crash
/// points, the summary — is ``FlowRuntime``'s. See <doc:WritingAFlow>.
public protocol FlowDefinition: Actor {
    /// The plan of one record between ``plan(_:_:run:)`` and ``write(_:_:run:)``.
    associatedtype Plan: Sendable

    /// The flow's registered name (`syspro-procore`).
    static var name: String { get }
    /// The entities in the order a cycle polls them (a dependency before what waits for it).
    var entities: [FlowEntity] { get }

    /// Starts a cycle: forget per-cycle caches, fetch tokens, open sessions.
    /// - Throws: when the cycle cannot start (credentials refused); the run is recorded as failed.
    func open() async throws
    /// Ends a cycle (log off); called after ``open()`` succeeded, whatever happened in between.
    func close() async

    /// One page of an entity's records changed since `watermark` (the flow applies its overlap
    /// window), starting at `cursor` (`nil` = the first page).
    func read(_ entity: FlowEntity, since watermark: String?, cursor: String?) async throws -> SourcePage
    /// A held record read afresh from the source; `payload` is what was stored with the hold.
    func reread(_ entity: FlowEntity, sourceID: String, payload: JSONValue?) async throws -> Reread
    /// Parses and checks a record and resolves what it needs in the destination (mappings, rules,
    /// look-ups). Whatever it throws holds the record with that reason: say what to fix.
    func plan(_ entity: FlowEntity, _ record: SourceRecord, run: RunContext) async throws -> Planned<Plan>
    /// Writes a planned record: look it up by its key first, then create, complete or update it.
    func write(_ entity: FlowEntity, _ planned: Planned<Plan>, run: RunContext) async throws -> Written

    /// How often the runtime re-reads the entity's open records in full (a reconciliation sweep),
    /// for sources whose changes the watermark cannot see (an edit after the overlap window on a
    /// table without a change-date column); `nil` (the default) for none.
    func sweepInterval(_ entity: FlowEntity) -> TimeInterval?
    /// One page of the entity's open records for a sweep, from `cursor` (`nil` = the first).
    func sweep(_ entity: FlowEntity, cursor: String?) async throws -> SourcePage

    /// Whether a record whose version was written already gets an audit row (`skipped-duplicate`)
    /// — true, the default. An entity read in full every cycle (a master table without a change
    /// date) says false: its unchanged records are counted, not audited, or the trail would grow
    /// by the whole table each cycle.
    func auditsUnchanged(_ entity: FlowEntity) -> Bool

    /// How many records of a page may be in flight at once (1, the default: one after another).
    /// Plans still run one at a time; the destination calls overlap.
    func concurrency(_ entity: FlowEntity) -> Int
    /// Records with the same lane are written one after another in page order (the invoices of
    /// one PO: the destination numbers them in order); `nil` (the default) is a lane of its own.
    func lane(_ entity: FlowEntity, _ record: SourceRecord) -> String?
}

extension FlowDefinition {
    public func auditsUnchanged(_ entity: FlowEntity) -> Bool { true }
    public func concurrency(_ entity: FlowEntity) -> Int { 1 }
    public func lane(_ entity: FlowEntity, _ record: SourceRecord) -> String? { nil }
    public func sweepInterval(_ entity: FlowEntity) -> TimeInterval? { nil }
    public func sweep(_ entity: FlowEntity, cursor: String?) async throws -> SourcePage { SourcePage(records: [], next: nil) }
}
