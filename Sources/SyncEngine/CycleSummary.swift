import Foundation

/// What one cycle did with one entity.
public struct EntityCounts: Sendable, Codable, Equatable {
    public var read = 0, created = 0, updated = 0, skipped = 0, held = 0, released = 0, failed = 0
    public init() {}

    /// Counts one outcome.
    public mutating func count(_ outcome: Outcome) {
        switch outcome {
        case .created: created += 1
        case .updated: updated += 1
        case .skippedDuplicate: skipped += 1
        case .held: held += 1
        case .failed: failed += 1
        case .released: released += 1
        }
    }

    /// The names ``field(_:)`` answers to, as scenario `summary:` assertions spell them.
    public static let fieldNames = ["read", "created", "updated", "skipped", "held", "released", "failed"]

    /// One count by name (`created`); `nil` for a name not in ``fieldNames``.
    public func field(_ name: String) -> Int? {
        switch name {
        case "read": read
        case "created": created
        case "updated": updated
        case "skipped": skipped
        case "held": held
        case "released": released
        case "failed": failed
        default: nil
        }
    }

    /// `read 12, created 11, held 1` (zeros left out).
    public var text: String {
        let parts = [("read", read), ("created", created), ("updated", updated), ("skipped", skipped), ("held", held), ("released", released), ("failed", failed)]
        let shown = parts.filter { $0.1 > 0 || $0.0 == "read" }.map { "\($0.0) \($0.1)" }
        return shown.joined(separator: ", ")
    }
}

/// What one cycle (or replay) did, per entity.
public struct CycleSummary: Sendable, Codable, Equatable {
    public var runID: String
    /// Counts per entity label (``FlowEntity/label``), e.g. `purchaseOrders`.
    public var entities: [String: EntityCounts] = [:]
    /// The labels in the order the flow handles them.
    public var order: [String] = []
    /// Problems that stopped part of the cycle (a page that could not be read); the watermark of
    /// that entity did not move.
    public var errors: [String] = []
    /// The first ``maxListed`` warnings (every one is in the audit); ``warningCount`` counts all.
    public var warnings: [String] = []
    public var warningCount = 0
    /// Errors and warnings kept in the summary at most, so a cycle over 100k records stays flat.
    public static let maxListed = 20

    public init(runID: String, labels: [String] = []) {
        self.runID = runID
        self.order = labels
        for label in labels { entities[label] = EntityCounts() }
    }

    /// The counts of one entity (zero for one the cycle did not touch).
    public subscript(label: String) -> EntityCounts {
        get { entities[label] ?? EntityCounts() }
        set {
            if entities[label] == nil && !order.contains(label) { order.append(label) }
            entities[label] = newValue
        }
    }

    /// Every entity's counts, summed.
    public var total: EntityCounts {
        entities.values.reduce(into: EntityCounts()) { sum, counts in
            sum.read += counts.read
            sum.created += counts.created
            sum.updated += counts.updated
            sum.skipped += counts.skipped
            sum.held += counts.held
            sum.released += counts.released
            sum.failed += counts.failed
        }
    }

    /// The summary as `sync`, `replay` and `demo` print it: a row per entity, then warnings and errors.
    public var report: String {
        func row(_ label: String, _ c: EntityCounts) -> String {
            "  \(Self.words(label).padding(toLength: 16, withPad: " ", startingAt: 0)) read \(c.read)  created \(c.created)  updated \(c.updated)  skipped \(c.skipped)  held \(c.held)  released \(c.released)  failed \(c.failed)"
        }
        var lines = ["  run \(runID)"] + order.map { row($0, self[$0]) }
        for warning in warnings { lines.append("  warning: \(warning)") }
        if warningCount > warnings.count {
            lines.append("  … \(warningCount - warnings.count) more warning(s) in the audit (`ml-connector audit`)")
        }
        for error in errors { lines.append("  error: \(error)") }
        return lines.joined(separator: "\n")
    }

    /// `purchaseOrders` → `purchase orders`.
    public static func words(_ label: String) -> String {
        var text = ""
        for character in label {
            if character.isUppercase, !text.isEmpty { text += " " }
            text += character.lowercased()
        }
        return text
    }

    /// Keeps a warning (the first ``maxListed`` of them) and counts it.
    public mutating func warn(_ warning: String) {
        warningCount += 1
        if warnings.count < Self.maxListed { warnings.append(warning) }
    }
}

/// Named points inside a cycle where a scenario can make the engine stop dead, as a killed
/// process would, to prove that a restart ends in the same destination state as a clean run.
/// Every flow passes them: they are in the runtime.
public enum CrashPoint: String, Sendable, Codable, CaseIterable {
    /// The destination record is written; its cross-reference and audit row are not committed.
    case afterDestinationWrite = "after-destination-write"
    /// The cross-reference is committed; the page's watermark has not moved yet.
    case afterCrossReference = "after-cross-reference"
    /// Half of a polled page is processed.
    case midPage = "mid-page"
    /// Inside one record's write, between two destination calls (a Cin7 purchase's header and
    /// its order, its stock and its invoice): half the record is in the destination.
    case betweenStages = "between-stages"
}

/// Thrown at a ``CrashPoint``; nothing in the runtime catches it, like a process that dies there.
public struct SimulatedCrash: Error, CustomStringConvertible {
    public var point: CrashPoint
    public var sourceID: String
    public var description: String { "simulated crash at \(point.rawValue) (record \(sourceID))" }
}
