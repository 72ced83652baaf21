import Crypto
import Foundation
import Synchronization

/// One request a simulator answered.
public struct JournalEntry: Sendable, Codable, Equatable {
    public var sequence: Int
    public var at: Date
    public var method: String
    public var path: String
    public var query: String
    public var status: Int
    /// A short SHA-256 fingerprint of the `Authorization` header (never the header itself), so
    /// tests can tell which token or credential a request carried.
    public var credential: String?
    /// Whether a fault rule shaped this answer.
    public var faulted: Bool
    /// The `origin_id` a write body carried (top level or one level down), so a journal can tell
    /// whether the same record was posted twice.
    public var origin: String?
}

/// Everything a simulator was asked, in order. Thread-safe; bounded (between half the capacity
/// and the capacity of the latest entries are kept) so a long soak stays flat.
public final class RequestJournal: Sendable {
    private let entries = Mutex<[JournalEntry]>([])
    private let counter = Mutex<Int>(0)
    private let capacity: Int

    public init(capacity: Int = 200_000) { self.capacity = capacity }

    public func record(
        at: Date, method: String, path: String, query: String, status: Int, authorization: String?, faulted: Bool,
        origin: String? = nil
    ) {
        let sequence = counter.withLock { value -> Int in
            value += 1
            return value
        }
        let entry = JournalEntry(
            sequence: sequence, at: at, method: method, path: path, query: Self.redacted(query: query), status: status,
            credential: authorization.map(Self.fingerprint), faulted: faulted, origin: origin)
        entries.withLock { list in
            list.append(entry)
            // Drop the oldest half at once: amortised O(1), where trimming one entry per request
            // made every request past the capacity copy the whole buffer.
            if list.count > capacity { list.removeFirst(list.count - capacity / 2) }
        }
    }

    /// Query parameters whose name says they hold a secret keep their name, not their value:
    /// SYSPRO e.net sends `OperatorPassword`/`CompanyPassword` on Logon and the session as
    /// `UserId` on every call; OAuth clients may put `client_secret`, `code` or tokens in a query.
    static func redacted(query: String) -> String {
        guard !query.isEmpty else { return query }
        return query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = (String(parts[0]).removingPercentEncoding ?? String(parts[0])).lowercased()
            guard parts.count == 2, secretNames.contains(where: { name.contains($0) }) || name == "code" else { return String(pair) }
            return "\(parts[0])=[redacted]"
        }.joined(separator: "&")
    }

    static let secretNames = ["password", "secret", "token", "key", "userid", "session", "signature", "assertion"]

    public var all: [JournalEntry] { entries.withLock { $0 } }

    /// How many requests were answered since the start (including ones dropped from the buffer).
    public var total: Int { counter.withLock { $0 } }

    public func clear() { entries.withLock { $0.removeAll() } }

    /// Entries whose path contains `fragment` (and whose method matches, when given).
    public func matching(path fragment: String, method: String? = nil) -> [JournalEntry] {
        all.filter { $0.path.contains(fragment) && (method == nil || $0.method == method!.uppercased()) }
    }

    public static func fingerprint(_ value: String) -> String {
        SHA256.hash(data: Data(value.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
    }
}
