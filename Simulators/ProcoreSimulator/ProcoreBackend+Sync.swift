import Foundation
import SyncEngine

/// Procore's sync actions (batch upsert by `origin_id`) and the requisition's bulk item update.
///
/// What the public documentation ("Using Sync Actions") says, and the simulator does:
/// - `PATCH /rest/v1.0/{resource}/sync` takes the scope id and `"updates": [...]`, at most 1,000.
/// - It always answers **200** `{"entities": [...], "errors": [...]}`: each entity as the show call
///   returns it, each error entry the submitted attributes plus `"errors": {field: [messages]}`.
/// - Matching: `id` given → update that record (unknown id → an error entry); else `origin_id`
///   known → update it, unknown → create; neither → create.
/// - `origin_id` is unique per object type within the company: an `origin_id` held by a record in
///   another project is an error entry, never a second record.
extension ProcoreBackend {
    static let syncLimit = 1000

    /// The `updates` array of a sync call, or the 4xx Procore answers for a malformed one.
    static func syncUpdates(_ body: JSONValue?) throws -> [JSONValue] {
        guard let body else { throw ProcoreError.badRequest("Malformed JSON in request body") }
        guard let updates = body["updates"]?.arrayValue else { throw ProcoreError.badRequest("param is missing or the value is empty: updates") }
        guard updates.count <= syncLimit else {
            throw ProcoreError.unprocessable(["updates": ["has too many items (at most \(syncLimit))"]])
        }
        return updates
    }

    static func syncError(_ submitted: JSONValue, _ errors: [String: [String]]) -> JSONValue {
        var entry = submitted.objectValue ?? [:]
        entry["errors"] = .object(errors.mapValues { .array($0.map { .string($0) }) })
        return .object(entry)
    }

    /// How a sync item finds its record.
    enum SyncMatch {
        case update(Int64)
        case create
        case refuse([String: [String]])
    }

    /// Runs a sync call's items in order: each is matched, then updated or created; a refusal
    /// (422 rules of the write, or the match's own) becomes that item's error entry.
    func applySync(
        _ updates: [JSONValue], match: ([String: JSONValue]) -> SyncMatch, update: (Int64, [String: JSONValue]) throws -> JSONValue,
        create: ([String: JSONValue]) throws -> JSONValue
    ) -> JSONValue {
        var entities: [JSONValue] = []
        var errors: [JSONValue] = []
        for item in updates {
            guard let body = item.objectValue else {
                errors.append(Self.syncError(item, ["base": ["must be an object"]]))
                continue
            }
            do {
                switch match(body) {
                case .update(let id): entities.append(try update(id, body))
                case .create: entities.append(try create(body))
                case .refuse(let messages): errors.append(Self.syncError(item, messages))
                }
            } catch let ProcoreError.unprocessable(messages) {
                errors.append(Self.syncError(item, messages))
            } catch {
                errors.append(Self.syncError(item, ["base": ["\(error)"]]))
            }
        }
        return ["entities": .array(entities), "errors": .array(errors)]
    }

    static let unknownID: [String: [String]] = ["id": ["Entity with this ID not found"]]

    /// `PATCH /rest/v1.0/purchase_order_contracts/sync`.
    func syncCommitments(project: ProcoreProject, updates: [JSONValue]) -> JSONValue {
        applySync(updates, match: { body in
            if let idValue = body["id"] {
                guard let id = Self.int64(idValue), self.commitments[id]?.projectID == project.id else { return .refuse(Self.unknownID) }
                return .update(id)
            }
            if let origin = body["origin_id"]?.stringValue, !origin.isEmpty, let id = self.originIndex["commitment|\(project.companyID)|\(origin)"] {
                return self.commitments[id]?.projectID == project.id ? .update(id) : .refuse(["origin_id": ["has already been taken"]])
            }
            return .create
        }, update: { id, body in try self.updateCommitment(id, body: body) }, create: { body in try self.createCommitment(project: project, body: body) })
    }

    /// `PATCH /rest/v1.0/purchase_order_contracts/{id}/line_items/sync`: lines matched by `id`, then
    /// by `origin_id` among the commitment's lines.
    func syncLines(commitment id: Int64, updates: [JSONValue]) throws -> JSONValue {
        guard commitments[id] != nil else { throw ProcoreError.notFound("Purchase Order Contract \(id) not found") }
        return applySync(updates, match: { body in
            let lines = self.commitments[id]?.lines ?? []
            if let idValue = body["id"] {
                guard let lineID = Self.int64(idValue), lines.contains(where: { $0.id == lineID }) else { return .refuse(Self.unknownID) }
                return .update(lineID)
            }
            if let origin = body["origin_id"]?.stringValue, let line = lines.first(where: { $0.originID == origin }) { return .update(line.id) }
            return .create
        }, update: { lineID, body in try self.updateLine(commitment: id, line: String(lineID), body: body) }, create: { body in try self.addLine(to: id, body: body) })
    }

    /// `PATCH /rest/v1.0/requisitions/{id}/bulk_item_update` with `{"requisition_items": [{"id",
    /// "item_type", "work_completed_this_period", …}]}`. Every item is checked before any is
    /// changed (an unknown id or a bad amount refuses the whole call with 422); the answer is the
    /// updated items.
    func bulkUpdateItems(requisition id: Int64, body: JSONValue?) throws -> [JSONValue] {
        guard let items = body?["requisition_items"]?.arrayValue else {
            throw ProcoreError.badRequest("param is missing or the value is empty: requisition_items")
        }
        guard let r = requisitions[id] else { throw ProcoreError.notFound("Requisition \(id) not found") }
        var targets: [(String, [String: JSONValue])] = []
        for item in items {
            guard let fields = item.objectValue, let itemID = fields["id"].flatMap(Self.int64), r.items.contains(where: { $0.id == itemID }) else {
                throw ProcoreError.unprocessable(["requisition_items": ["contains an item that is not on requisition \(id)"]])
            }
            if let value = fields["work_completed_this_period"], (Money.parse(value).map { $0 < .zero } ?? true) {
                throw ProcoreError.unprocessable(["work_completed_this_period": ["is not a number"]])
            }
            targets.append((String(itemID), fields))
        }
        return try targets.map { try updateContractItem(requisition: id, item: $0.0, body: $0.1) }
    }
}
