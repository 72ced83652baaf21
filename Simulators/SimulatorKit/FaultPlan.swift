import Foundation
import Synchronization
import SyncEngine

/// Something a fault does to the simulated system's state rather than to one answer.
public enum FaultAction: String, Sendable, Codable {
    /// Every issued token stops working now (Procore, Procurify, CloudSuite, Cin7).
    case expireTokens = "expire-tokens"
    /// Every open session dies now (SYSPRO e.net, SAP B1 Service Layer).
    case killSessions = "kill-sessions"
}

/// What a matching fault rule does.
public struct FaultEffect: Sendable, Codable, Equatable {
    /// Answer with this status instead of the real handler.
    public var status: Int?
    public var body: String?
    public var headers: [String: String]?
    /// Added latency in milliseconds, on the real clock (HTTP timeouts are real time).
    public var delayMilliseconds: Int?
    /// Let the real handler run (the write happens), then hold the answer this long: a server
    /// that accepted a post but answers after the client gave up.
    public var delayAfterMilliseconds: Int?
    /// A state change applied before the request is handled.
    public var action: FaultAction?
    /// Let the real handler answer, then cut its body in half (a truncated, malformed body).
    public var truncateBody: Bool?
    /// Send the status line and headers, then close the connection before the body: a connection
    /// dropped mid-answer.
    public var dropConnection: Bool?

    public init(
        status: Int? = nil, body: String? = nil, headers: [String: String]? = nil, delayMilliseconds: Int? = nil,
        action: FaultAction? = nil, truncateBody: Bool? = nil, dropConnection: Bool? = nil, delayAfterMilliseconds: Int? = nil
    ) {
        self.delayAfterMilliseconds = delayAfterMilliseconds
        self.status = status
        self.body = body
        self.headers = headers
        self.delayMilliseconds = delayMilliseconds
        self.action = action
        self.truncateBody = truncateBody
        self.dropConnection = dropConnection
    }
}

/// Which requests a fault applies to, and what it does.
///
/// A rule matches when the method (if set) and the path glob (if set; `*` matches any run of
/// characters) match and the simulated time is inside `from`..`until`. Of the matching requests,
/// `nth` picks the n-th only, `everyNth` every n-th, `probability` a seeded random share; `times`
/// caps how often the rule fires in all.
public struct FaultRule: Sendable, Codable, Equatable {
    public var id: String?
    public var method: String?
    public var path: String?
    public var nth: Int?
    public var everyNth: Int?
    public var probability: Double?
    public var seed: UInt64?
    public var from: Date?
    public var until: Date?
    public var times: Int?
    public var effect: FaultEffect

    public init(
        id: String? = nil, method: String? = nil, path: String? = nil, nth: Int? = nil, everyNth: Int? = nil,
        probability: Double? = nil, seed: UInt64? = nil, from: Date? = nil, until: Date? = nil, times: Int? = nil,
        effect: FaultEffect
    ) {
        self.id = id
        self.method = method
        self.path = path
        self.nth = nth
        self.everyNth = everyNth
        self.probability = probability
        self.seed = seed
        self.from = from
        self.until = until
        self.times = times
        self.effect = effect
    }

    func matchesRequest(method: String, path: String, now: Date) -> Bool {
        if let wanted = self.method, wanted.uppercased() != method.uppercased() { return false }
        if let glob = self.path, !Self.glob(glob, matches: path) { return false }
        if let from, now < from { return false }
        if let until, now >= until { return false }
        return true
    }

    /// `*` matches any run of characters (slashes included); everything else literally.
    public static func glob(_ pattern: String, matches text: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 { return pattern == text }
        var rest = Substring(text)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for (index, part) in parts.enumerated().dropFirst() {
            if index == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
            guard !part.isEmpty else { continue }
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }
}

/// The active fault rules of one simulator, with their counters. Thread-safe.
public final class FaultPlan: Sendable {
    private struct Slot {
        var rule: FaultRule
        var matched = 0
        var fired = 0
        var random: SplitMix64
    }
    private let slots = Mutex<[Slot]>([])

    public init() {}

    public func add(_ rule: FaultRule) {
        slots.withLock { $0.append(Slot(rule: rule, random: SplitMix64(seed: rule.seed ?? 42))) }
    }

    public func clear() { slots.withLock { $0.removeAll() } }

    public var rules: [FaultRule] { slots.withLock { $0.map(\.rule) } }

    /// The effect of the first rule that fires for this request, advancing every matching rule's
    /// counters.
    public func effect(method: String, path: String, now: Date) -> FaultEffect? {
        slots.withLock { slots in
            var chosen: FaultEffect?
            for index in slots.indices {
                guard slots[index].rule.matchesRequest(method: method, path: path, now: now) else { continue }
                slots[index].matched += 1
                let rule = slots[index].rule
                if let times = rule.times, slots[index].fired >= times { continue }
                let count = slots[index].matched
                var fires = true
                if let nth = rule.nth { fires = fires && count == nth }
                if let every = rule.everyNth, every > 0 { fires = fires && count % every == 0 }
                if let probability = rule.probability {
                    let draw = Double(slots[index].random.next() >> 11) / Double(1 << 53)
                    fires = fires && draw < probability
                }
                if fires && chosen == nil {
                    slots[index].fired += 1
                    chosen = rule.effect
                }
            }
            return chosen
        }
    }
}

extension FaultRule {
    /// What makes a rule unusable (it would trap or never fire), or `nil`: a status outside
    /// 100–599, a delay beyond ten minutes, counters below 1, a probability outside 0…1.
    public var problem: String? {
        if let status = effect.status, !(100...599).contains(status) { return "status \(status) is not an HTTP status (100–599)" }
        if let delay = effect.delayMilliseconds, !(0...600_000).contains(delay) { return "delayMilliseconds \(delay) is outside 0…600000 (ten minutes)" }
        if let delay = effect.delayAfterMilliseconds, !(0...600_000).contains(delay) { return "delayAfterMilliseconds \(delay) is outside 0…600000 (ten minutes)" }
        if let nth, nth < 1 { return "nth must be 1 or more" }
        if let everyNth, everyNth < 1 { return "everyNth must be 1 or more" }
        if let times, times < 1 { return "times must be 1 or more" }
        if let probability, !(probability >= 0 && probability <= 1) { return "probability must be between 0 and 1" }
        return nil
    }
}
