import Crypto
import Foundation
import Logging

/// Runs any ``FlowDefinition``: the machinery every flow needs, written once.
///
/// A cycle: ``FlowDefinition/open()``; for each entity in order, retry what is held in quarantine,
/// then poll from the watermark page by page, writing as it goes and moving the watermark after
/// each fully resolved page; ``FlowDefinition/close()``; the run record and its summary.
///
/// Each record goes through the same steps: skip it when this version is written already; let the
/// flow plan it; record the intent (cross-reference `pending` with the flow's key) before the
/// destination call; let the flow write it (look up by key, then create, complete or update);
/// complete the cross-reference and the audit row in one transaction. Whatever a step throws
/// holds the record in quarantine with the reason; it is retried every cycle and by `replay`.
public actor FlowRuntime<Definition: FlowDefinition> {
    public let definition: Definition
    let store: any SyncStateStore
    let clock: any SyncClock
    let logger: Logger
    /// Whose state this is: watermarks, cross-references, quarantine and runs are kept under it.
    public nonisolated let scope: String
    /// Who this runtime is when it takes the scope's lease (see ``Lease``).
    public nonisolated let holder: String
    /// How long the lease lasts without renewal; it is renewed as pages and held records complete,
    /// so only a holder that died (or hangs) lets it run out.
    public nonisolated let leaseDuration: TimeInterval
    private var leaseRenewedAt: Date?
    private var progress: (@Sendable (FlowProgress) -> Void)?

    private var summary = CycleSummary(runID: "")
    private var overrideBudget = false
    /// Records already handled in this cycle (a held record retried at the start is not handled
    /// again when the overlap window re-reads it).
    private var handled: Set<String> = []
    /// An armed crash: the point, and how many more passes of it to let through first.
    private var crash: (point: CrashPoint, skip: Int)?

    /// The flow's registered name.
    public static var name: String { Definition.name }

    /// - Parameters:
    ///   - scope: the key of this integration's state; the flow's name by default.
    ///   - holder: who takes the lease; this host and process by default.
    public init(
        definition: Definition, store: any SyncStateStore, clock: any SyncClock, logger: Logger, scope: String? = nil,
        holder: String = FlowRuntimeDefaults.processHolder, leaseDuration: TimeInterval = 300
    ) {
        self.definition = definition
        self.store = store
        self.clock = clock
        self.logger = logger
        self.scope = scope ?? Definition.name
        self.holder = holder
        self.leaseDuration = leaseDuration
    }

    /// Receives the progress of every cycle and replay: after each page and after an entity's
    /// held records (what `sync` shows on a terminal).
    public func onProgress(_ handler: (@Sendable (FlowProgress) -> Void)?) { progress = handler }

    private func report(_ entity: FlowEntity, _ phase: FlowProgress.Phase, pages: Int) {
        progress?(FlowProgress(entity: entity.label, phase: phase, pages: pages, counts: summary[entity.label]))
    }

    // MARK: cycle

    /// Arms a crash: the `(skip + 1)`-th time the cycle passes `point`, it throws
    /// ``SimulatedCrash`` and stops. A crash fires once.
    public func armCrash(at point: CrashPoint, skip: Int = 0) { crash = (point, skip) }

    private func crashPoint(_ point: CrashPoint, _ sourceID: String) throws {
        guard let armed = crash, armed.point == point else { return }
        if armed.skip > 0 {
            crash = (point, armed.skip - 1)
            return
        }
        crash = nil
        logger.warning("Simulated crash", metadata: ["sync.run.id": "\(summary.runID)", "crash.point": "\(point.rawValue)"])
        throw SimulatedCrash(point: point, sourceID: sourceID)
    }

    /// Runs one cycle.
    /// - Throws: only when the cycle cannot start (credentials refused); record-level problems go to
    ///   quarantine and page-level ones into ``CycleSummary/errors``.
    public func runCycle(runID: String = UUID().uuidString) async throws -> CycleSummary {
        let entities = await definition.entities
        return try await run(runID: runID, overrideBudget: false, entities: entities) { entity in
            try await self.retryQuarantined(entity, only: nil)
            try await self.poll(entity)
            try await self.sweepIfDue(entity)
        }
    }

    /// Releases held records on demand (`ml-connector replay`).
    /// - Parameters:
    ///   - sourceIDs: only these source ids (all held records when empty).
    ///   - overrideBudget: post what a budget rule would hold, with a warning in the audit.
    public func replay(runID: String = UUID().uuidString, sourceIDs: [String], overrideBudget: Bool) async throws -> CycleSummary {
        let entities = await definition.entities
        let filter = sourceIDs.isEmpty ? nil : Set(sourceIDs)
        return try await run(runID: runID, overrideBudget: overrideBudget, entities: entities) { entity in
            try await self.retryQuarantined(entity, only: filter)
        }
    }

    /// The frame of a cycle or replay: run record, sessions, the per-entity work, the summary.
    private func run(
        runID: String, overrideBudget: Bool, entities: [FlowEntity], _ work: (FlowEntity) async throws -> Void
    ) async throws -> CycleSummary {
        try await takeLease()
        summary = CycleSummary(runID: runID, labels: entities.map(\.label))
        handled = []
        self.overrideBudget = overrideBudget
        defer { self.overrideBudget = false }
        do {
            try await store.startRun(RunRecord(id: runID, flow: scope, startedAt: clock.now(), status: "running"))
            logger.info("Cycle started", metadata: ["sync.run.id": "\(runID)", "flow": "\(Definition.name)", "scope": "\(scope)"])
            try await definition.open()
        } catch {
            try? await store.finishRun(id: runID, at: clock.now(), status: "failed", summary: "\(error)")
            await giveUpLease()
            throw error
        }
        var failure: (any Error)?
        do {
            for entity in entities { try await work(entity) }
        } catch let crash as SimulatedCrash {
            throw crash  // a dead process finishes nothing: no logoff, no run summary, no lease given up
        } catch {
            failure = error
        }
        await definition.close()
        if let failure { summary.errors.append("\(failure)") }
        let data = (try? JSONEncoder().encode(summary)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        do {
            try await store.finishRun(id: runID, at: clock.now(), status: summary.errors.isEmpty ? "succeeded" : "partial", summary: data)
        } catch {
            await giveUpLease()
            throw error
        }
        await giveUpLease()
        var metadata: Logger.Metadata = ["sync.run.id": "\(runID)", "errors": "\(summary.errors.count)"]
        for label in summary.order {
            let counts = summary[label]
            metadata["\(label).created"] = "\(counts.created)"
            metadata["\(label).held"] = "\(counts.held)"
        }
        logger.info("Cycle finished", metadata: metadata)
        return summary
    }

    // MARK: the lease (one writer per integration)

    /// Takes the scope's lease, or says who has it.
    private func takeLease() async throws {
        let now = clock.now()
        let lease = try await store.acquireLease(scope: scope, holder: holder, now: now, until: now.addingTimeInterval(leaseDuration))
        guard lease.holder == holder else {
            throw SyncError(.busy, "integration \(scope) is being synced by \(lease.holder) since \(Self.timestamp(lease.acquiredAt)); only one process may write for an integration at a time. Wait for it to finish (or stop it); if it died, its lease runs out at \(Self.timestamp(lease.expiresAt)).")
        }
        leaseRenewedAt = now
    }

    /// Renews the lease once a third of its duration has passed since the last renewal (after a
    /// page, between held records); a lease lost to another process stops the cycle.
    private func keepLease() async throws {
        let now = clock.now()
        if let renewed = leaseRenewedAt, now.timeIntervalSince(renewed) < leaseDuration / 3 { return }
        guard try await store.renewLease(scope: scope, holder: holder, until: now.addingTimeInterval(leaseDuration)) else {
            throw SyncError(.busy, "integration \(scope): this process's lease ran out and another process took it; this cycle stops here, the other one goes on")
        }
        leaseRenewedAt = now
    }

    private func giveUpLease() async {
        leaseRenewedAt = nil
        try? await store.releaseLease(scope: scope, holder: holder)
    }

    private var context: RunContext {
        RunContext(runID: summary.runID, overrideBudget: overrideBudget, store: store, scope: scope) { [weak self] sourceID in
            try await self?.crashPoint(.betweenStages, sourceID)
        }
    }

    // MARK: polling

    /// Polls one entity from its watermark, page by page, following the flow's cursor. Each record
    /// of a page is resolved (written, held or skipped), then the watermark moves to the page's
    /// latest value. A page that cannot be read stops this entity for the cycle, watermark unmoved.
    private func poll(_ entity: FlowEntity) async throws {
        do {
            let mark = try await store.watermark(flow: scope, entity: entity.name)
            try await eachPage(entity, .polling, read: { try await self.definition.read(entity, since: mark, cursor: $0) }) { page in
                try await self.advanceWatermark(entity, to: page.completes ?? page.records.compactMap(\.watermark).max())
            }
        } catch let crash as SimulatedCrash {
            throw crash
        } catch let error as SyncError where error.code == .busy {
            throw error
        } catch let error as RecordNotSecured {
            summary.errors.append("\(entity.name): \(error). The \(entity.noun) watermark did not move; the next cycle reads the same window again.")
            throw error
        } catch {
            summary.errors.append("\(entity.name): \(error). The \(entity.noun) watermark did not move; the next cycle reads the same window again.")
        }
    }

    /// A reconciliation sweep when one is due (see ``FlowDefinition/sweepInterval(_:)``): every
    /// open record is read again and goes through the same steps, so an unchanged one costs a
    /// version check and a changed one becomes an update. The time of the last complete sweep is
    /// kept beside the watermark (`<entity>#sweep`); the first cycle only starts the clock, as
    /// its poll has just read everything.
    private func sweepIfDue(_ entity: FlowEntity) async throws {
        guard let interval = await definition.sweepInterval(entity), interval > 0 else { return }
        let key = entity.name + "#sweep"
        let now = clock.now()
        guard let last = try await store.watermark(flow: scope, entity: key).flatMap({ try? Date($0, strategy: .iso8601) }) else {
            try await store.setWatermark(flow: scope, entity: key, value: Self.timestamp(now), at: now)
            return
        }
        guard now.timeIntervalSince(last) >= interval else { return }
        do {
            try await eachPage(entity, .sweeping, read: { try await self.definition.sweep(entity, cursor: $0) }) { _ in }
            try await store.setWatermark(flow: scope, entity: key, value: Self.timestamp(now), at: clock.now())
        } catch let crash as SimulatedCrash {
            throw crash
        } catch let error as SyncError where error.code == .busy {
            throw error
        } catch let error as RecordNotSecured {
            summary.errors.append("\(entity.name) sweep: \(error)")
            throw error
        } catch {
            summary.errors.append("\(entity.name): the reconciliation sweep of open \(entity.noun)s stopped (\(error)); it runs again next cycle.")
        }
    }

    /// Reads page after page from `read`, resolves each page's records, lets `resolved` act on the
    /// page (move the watermark), renews the lease and reports progress. A cursor the source
    /// announces a second time ends the listing with a warning instead of a loop.
    private func eachPage(
        _ entity: FlowEntity, _ phase: FlowProgress.Phase, read: (String?) async throws -> SourcePage,
        resolved: (SourcePage) async throws -> Void
    ) async throws {
        var cursor: String?
        var cursors: Set<String> = []
        var pages = 0
        repeat {
            let page = try await read(cursor)
            try await processPage(entity, page.records, sweeping: phase == .sweeping)
            try await resolved(page)
            try await keepLease()
            pages += 1
            report(entity, phase, pages: pages)
            cursor = page.next
            if let next = cursor, !cursors.insert(next).inserted {
                summary.warn("\(entity.name): \(entity.sourceName) announced page \(next) a second time; reading stopped there instead of looping.")
                cursor = nil
            }
        } while cursor != nil
    }

    /// Resolves every record of a page (written, held or skipped) before it returns.
    ///
    /// With ``FlowDefinition/concurrency(_:)`` above 1 the records' writes overlap: up to that
    /// many lanes run at once, the records of one lane (``FlowDefinition/lane(_:_:)``) one after
    /// another in page order. Planning stays one record at a time in arrival order (the flow's
    /// rules, caches and budget checks see a consistent state); the destination calls, the
    /// intents and the commits overlap. The watermark still moves only after the whole page.
    private func processPage(_ entity: FlowEntity, _ records: [SourceRecord], sweeping: Bool) async throws {
        let todo = records.filter { !handled.contains(Self.handledKey(entity, $0.id)) }
        if sweeping { for record in todo { handled.insert(Self.handledKey(entity, record.id)) } }
        let crashAt = sweeping ? nil : records.count / 2
        pageResolved = 0
        let width = max(1, await definition.concurrency(entity))
        guard width > 1, todo.count > 1 else {
            for record in todo { try await processCounted(entity, record, crashAt: crashAt) }
            return
        }
        var lanes: [[SourceRecord]] = []
        var laneIndex: [String: Int] = [:]
        for record in todo {
            if let key = await definition.lane(entity, record) {
                if let index = laneIndex[key] {
                    lanes[index].append(record)
                    continue
                }
                laneIndex[key] = lanes.count
            }
            lanes.append([record])
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var started = 0
            for lane in lanes.prefix(width) {
                group.addTask { for record in lane { try await self.processCounted(entity, record, crashAt: crashAt) } }
                started += 1
            }
            while try await group.next() != nil {
                guard started < lanes.count else { continue }
                let lane = lanes[started]
                started += 1
                group.addTask { for record in lane { try await self.processCounted(entity, record, crashAt: crashAt) } }
            }
        }
    }

    /// Records of the current page resolved so far (for the mid-page crash point).
    private var pageResolved = 0

    private func processCounted(_ entity: FlowEntity, _ record: SourceRecord, crashAt: Int?) async throws {
        summary[entity.label].read += 1
        try await process(entity, record)
        pageResolved += 1
        if let crashAt, pageResolved == crashAt { try crashPoint(.midPage, record.id) }
    }

    // MARK: one plan at a time

    private var planning = false
    private var planQueue: [CheckedContinuation<Void, Never>] = []

    /// Runs a flow's `plan` alone: records whose writes overlap are still planned one at a time.
    private func planAlone<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if planning {
            await withCheckedContinuation { planQueue.append($0) }
        } else {
            planning = true
        }
        defer {
            if planQueue.isEmpty {
                planning = false
            } else {
                planQueue.removeFirst().resume()  // handed over: `planning` stays set
            }
        }
        return try await body()
    }

    /// Moves a watermark forward (never back) once every record of a page is resolved.
    private func advanceWatermark(_ entity: FlowEntity, to value: String?) async throws {
        guard let value else { return }
        let current = try await store.watermark(flow: scope, entity: entity.name)
        if current == nil || value > current! {
            try await store.setWatermark(flow: scope, entity: entity.name, value: value, at: clock.now())
        }
    }

    private static func handledKey(_ entity: FlowEntity, _ sourceID: String) -> String { "\(entity.name)|\(sourceID)" }

    // MARK: quarantine

    private func retryQuarantined(_ entity: FlowEntity, only filter: Set<String>?) async throws {
        let held = try await store.quarantined(flow: scope, status: .held)
        for entry in held where entry.entity == entity.name {
            if let filter, !filter.contains(entry.sourceID) { continue }
            try await keepLease()
            handled.insert(Self.handledKey(entity, entry.sourceID))
            summary[entity.label].read += 1
            let payload = entry.payload.flatMap { try? JSONValue(parsing: Data($0.utf8)) }
            let answer: Reread
            do {
                answer = try await definition.reread(entity, sourceID: entry.sourceID, payload: payload)
            } catch let crash as SimulatedCrash {
                throw crash
            } catch let error as SyncError where error.code == .busy {
                throw error
            } catch {
                await keepHeld(entity, entry, because: "could not be read again from \(entity.sourceName) (\(error))")
                continue
            }
            switch answer {
            case .found(let record): try await process(entity, record)
            case .gone: await dropVanished(entity, entry)
            case .notFound(let asked): await keepHeld(entity, entry, because: "was not in \(entity.sourceName)'s answer to \(asked); an empty answer is no proof that it was deleted")
            }
        }
        report(entity, .retryingHeld, pages: 0)
    }

    /// A held record that could not be retried this time stays held with its reason; the
    /// attempt is audited and the cycle goes on with the next one.
    private func keepHeld(_ entity: FlowEntity, _ entry: QuarantineEntry, because why: String) async {
        let now = clock.now()
        let audit = AuditEntry(
            runID: summary.runID, flow: scope, sourceSystem: entity.source, sourceEntity: entry.entity, sourceID: entry.sourceID,
            destinationSystem: entity.destination, outcome: .held, errorCode: entry.errorCode,
            errorText: "\(entity.noun) \(entry.sourceID) \(why); it stays held for: \(entry.reason)",
            attempts: entry.attempts + 1, startedAt: now, finishedAt: now)
        do {
            try await store.append(audit)
        } catch {
            summary.errors.append("could not write the audit row for \(entry.sourceID): \(error)")
        }
        logger.notice("Held record not retried", metadata: ["sync.run.id": "\(summary.runID)", "source.id": "\(entry.sourceID)"])
        summary[entity.label].count(.held)
    }

    private func dropVanished(_ entity: FlowEntity, _ entry: QuarantineEntry) async {
        let now = clock.now()
        let audit = AuditEntry(
            runID: summary.runID, flow: scope, sourceSystem: entity.source, sourceEntity: entry.entity, sourceID: entry.sourceID,
            destinationSystem: entity.destination, outcome: .skippedDuplicate,
            warning: "no longer in \(entity.sourceName); released from quarantine without writing", startedAt: now, finishedAt: now)
        try? await store.append(audit)
        try? await store.release(flow: scope, entity: entry.entity, sourceID: entry.sourceID, at: now)
    }

    // MARK: the steps every record takes

    /// Where a record stood before this attempt.
    private struct Prior {
        var wasHeld: Bool
        var attempts: Int
        var crossReference: CrossReference?
    }

    /// One record through the pipeline; whatever it throws (except a simulated crash) holds it.
    private func process(_ entity: FlowEntity, _ record: SourceRecord) async throws {
        let started = clock.now()
        do {
            let canonical = record.payload.canonicalJSON()  // once: hashed into the version, kept in the audit
            let version = record.versionBasis.map(SourceRecord.version(of:)) ?? SourceRecord.version(canonical: canonical)
            guard let prior = try await prior(entity, record, version: version, started: started) else { return }
            if let unreadable = UnreadableRow(payload: record.payload) {
                throw SyncError(.invalidRecord, "a \(entity.noun) row from \(entity.sourceName) could not be read (\(unreadable.reason)); kept as a digest of its \(unreadable.byteCount) bytes (sha256 \(unreadable.digest.prefix(16))…). Correct the row in \(entity.sourceName) (often text saved in another encoding); the corrected row is read as a new record and this one can be released with `ml-connector replay \(record.id)` once it no longer appears.")
            }
            let run = context
            var planned = try await planAlone { try await definition.plan(entity, record, run: run) }
            planned.previous = prior.crossReference
            let xref = try await intent(entity, record.id, version: version, key: planned.key, links: planned.links, over: prior.crossReference)
            let written = try await definition.write(entity, planned, run: run)
            try await commit(entity, xref, written, payload: canonical, prior: prior, started: started)
        } catch let crash as SimulatedCrash {
            throw crash
        } catch let notSecured as RecordNotSecured {
            throw notSecured
        } catch {
            // A cycle being torn down (a crash elsewhere on the page, a shutdown) holds nothing:
            // what was in flight is resolved by the next run through its pending intent.
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            try await hold(error, entity: entity, record: record, started: started)
        }
    }

    /// - Returns: `nil` when this version of the record was written already (the skip is audited
    ///   and any hold released); otherwise whether it was held and how many attempts it has had.
    private func prior(_ entity: FlowEntity, _ record: SourceRecord, version: String, started: Date) async throws -> Prior? {
        let (xref, previous) = try await store.recordState(flow: scope, entity: entity.name, sourceID: record.id)
        let wasHeld = previous?.status == .held
        if let xref, xref.state == .done, xref.sourceVersion == version {
            summary[entity.label].count(.skippedDuplicate)
            if wasHeld {
                try await store.release(flow: scope, entity: entity.name, sourceID: record.id, at: clock.now())
            } else if await !definition.auditsUnchanged(entity) {
                return nil
            }
            let audit = AuditEntry(
                runID: summary.runID, flow: scope, sourceSystem: entity.source, sourceEntity: entity.name, sourceID: record.id,
                destinationSystem: entity.destination, destinationID: xref.destinationID, outcome: .skippedDuplicate,
                startedAt: started, finishedAt: clock.now())
            do {
                try await store.append(audit)
            } catch {
                summary.errors.append("could not write the audit row for \(record.id): \(error)")
            }
            return nil
        }
        return Prior(wasHeld: wasHeld, attempts: wasHeld ? (previous?.attempts ?? 0) + 1 : 1, crossReference: xref)
    }

    /// Records the intent to write, before the destination call. A record that exists in the
    /// destination (a `done` cross-reference) keeps its done cross-reference while it is amended:
    /// others still find it, and a refused amendment leaves it as it was.
    private func intent(
        _ entity: FlowEntity, _ sourceID: String, version: String, key: String, links: [String: String]?, over existing: CrossReference?
    ) async throws -> CrossReference {
        if var done = existing, done.state == .done {
            done.sourceVersion = version
            done.links = links ?? done.links
            return done
        }
        let xref = CrossReference(
            flow: scope, entity: entity.name, sourceID: sourceID, sourceVersion: version, idempotencyKey: key, state: .pending,
            updatedAt: clock.now(), links: links)
        try await store.recordIntent(xref)
        return xref
    }

    /// Completes the intent with the destination id and writes the audit row, in one transaction.
    private func commit(
        _ entity: FlowEntity, _ pending: CrossReference, _ written: Written, payload: String, prior: Prior, started: Date
    ) async throws {
        try crashPoint(.afterDestinationWrite, pending.sourceID)
        var xref = pending
        xref.destinationID = written.destinationID
        xref.state = .done
        xref.updatedAt = clock.now()
        let audit = AuditEntry(
            runID: summary.runID, flow: scope, sourceSystem: entity.source, sourceEntity: xref.entity, sourceID: xref.sourceID,
            sourcePayload: payload, transformedPayload: written.transformed.canonicalJSON(),
            destinationSystem: entity.destination, destinationID: written.destinationID, destinationResponse: written.response,
            outcome: written.outcome, warning: written.warning, attempts: prior.attempts, startedAt: started, finishedAt: clock.now())
        try await store.complete(xref, audit: audit)
        try crashPoint(.afterCrossReference, xref.sourceID)
        summary[entity.label].count(written.outcome)
        if prior.wasHeld { summary[entity.label].released += 1 }
        if let warning = written.warning { summary.warn(warning) }
    }

    /// Puts a record in quarantine with the reason. Retryable problems are `held` (retried every
    /// cycle by themselves); the rest are `failed` (retried too, but need a fix in the source,
    /// the mapping or the destination).
    /// - Throws: ``RecordNotSecured`` when the store cannot keep the hold: the cycle must stop
    ///   before the watermark moves past a record that is neither written nor held.
    private func hold(_ error: any Error, entity: FlowEntity, record: SourceRecord, started: Date) async throws {
        let syncError = (error as? SyncError) ?? SyncError(.unexpectedResponse, "\(error)")
        let outcome: Outcome = syncError.isRetryable ? .held : .failed
        let now = clock.now()
        let attempts = ((try? await store.quarantine(flow: scope, entity: entity.name, sourceID: record.id))??.attempts ?? 0) + 1
        let payload = record.payload.canonicalJSON()
        let entry = QuarantineEntry(
            flow: scope, entity: entity.name, sourceID: record.id, errorCode: syncError.code.rawValue, reason: syncError.message,
            payload: payload, status: .held, attempts: 1, firstSeenAt: now, lastAttemptAt: now)
        let audit = AuditEntry(
            runID: summary.runID, flow: scope, sourceSystem: entity.source, sourceEntity: entity.name, sourceID: record.id,
            sourcePayload: payload, destinationSystem: entity.destination, outcome: outcome, errorCode: syncError.code.rawValue,
            errorText: syncError.message, attempts: attempts, startedAt: started, finishedAt: now)
        do {
            try await store.hold(entry, audit: audit)
        } catch {
            logger.error("Record could not be held", metadata: ["sync.run.id": "\(summary.runID)", "source.id": "\(record.id)"])
            throw RecordNotSecured(sourceID: record.id, reason: syncError.message, storeError: "\(error)")
        }
        logger.notice(
            "Record quarantined",
            metadata: ["sync.run.id": "\(summary.runID)", "source.id": "\(record.id)", "error.code": "\(syncError.code.rawValue)"])
        summary[entity.label].count(outcome)
    }

    static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }
}

/// A record that failed and could not be put in quarantine either (the state store refused):
/// the cycle stops here so that the watermark never moves past it.
public struct RecordNotSecured: Error, CustomStringConvertible {
    public var sourceID: String
    public var reason: String
    public var storeError: String
    public var description: String {
        "\(sourceID) failed (\(reason)) and could not be held: the state store answered \(storeError). Nothing past it was committed; fix the store (disk space, permissions, a lock) and run again"
    }
}

/// Where a cycle stands, as ``FlowRuntime/onProgress(_:)`` reports it.
public struct FlowProgress: Sendable, Equatable {
    public enum Phase: String, Sendable { case retryingHeld = "retrying held records", polling, sweeping = "sweeping open records" }
    /// The entity's label (`purchaseOrders`).
    public var entity: String
    public var phase: Phase
    /// Pages read so far while polling.
    public var pages: Int
    /// The entity's counts so far in this cycle.
    public var counts: EntityCounts

    /// `purchase orders: page 3, read 600, created 590, held 2`.
    public var line: String {
        let stage = switch phase {
        case .polling: "page \(pages), "
        case .sweeping: "sweep page \(pages), "
        case .retryingHeld: "held records retried, "
        }
        return "\(CycleSummary.words(entity)): \(stage)\(counts.text)"
    }
}

/// Defaults of ``FlowRuntime`` that do not depend on its flow.
public enum FlowRuntimeDefaults {
    /// This host and process, as a lease holder: `host pid 1234`.
    public static let processHolder = "\(ProcessInfo.processInfo.hostName) pid \(ProcessInfo.processInfo.processIdentifier)"
}

extension SourceRecord {
    /// The version of a source record: a SHA-256 of its canonical JSON, in hex.
    public static func version(of value: JSONValue) -> String { version(canonical: value.canonicalJSON()) }

    /// The version of a payload already in canonical JSON.
    public static func version(canonical: String) -> String { hex(SHA256.hash(data: Data(canonical.utf8))) }

    /// Lower-case hex of a digest.
    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in digest {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The key of a record whose source key has several parts (`supplier/invoice`): the parts
    /// joined by `/`, each with `%` and `/` percent-escaped, so that a part holding a `/` (supplier
    /// `SUP/01`) still splits back into the right parts. Keys without either character are
    /// unchanged. Every flow with a composite key uses it.
    public static func compositeID(_ parts: [String]) -> String {
        parts.map { $0.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2F") }.joined(separator: "/")
    }

    /// The parts of a ``compositeID(_:)``, or `nil` for a key that is not one.
    public static func parts(ofCompositeID id: String) -> [String]? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return nil }
        return parts.map { $0.replacingOccurrences(of: "%2F", with: "/").replacingOccurrences(of: "%25", with: "%") }
    }

    /// The key of a source row whose own key cannot be read: `?<entity>#<first 12 hex digits of
    /// the row's version>`, stable across cycles so the row is held once, not once per cycle.
    public static func unreadableID(entity: String, row: JSONValue) -> String {
        "?\(entity)#\(version(of: row).prefix(12))"
    }
}

/// What the CLI, the scenario runner and the bench run, whatever the flow: a ``FlowRuntime``
/// seen without its definition.
public protocol SyncRunner: Actor {
    /// The integration whose state it keeps.
    nonisolated var scope: String { get }
    func runCycle(runID: String) async throws -> CycleSummary
    func replay(runID: String, sourceIDs: [String], overrideBudget: Bool) async throws -> CycleSummary
    func armCrash(at point: CrashPoint, skip: Int)
    func onProgress(_ handler: (@Sendable (FlowProgress) -> Void)?)
}

extension SyncRunner {
    /// Runs one cycle under a new run id.
    public func runCycle() async throws -> CycleSummary { try await runCycle(runID: UUID().uuidString) }
    /// Releases held records under a new run id.
    public func replay(sourceIDs: [String], overrideBudget: Bool) async throws -> CycleSummary {
        try await replay(runID: UUID().uuidString, sourceIDs: sourceIDs, overrideBudget: overrideBudget)
    }
}

extension FlowRuntime: SyncRunner {}
