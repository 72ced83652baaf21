import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import SyncEngine

/// An answer from a remote system, its body capped and collected.
public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public init(status: Int, headers: [(String, String)], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// What may be said of an answer from a token or login endpoint, whose body can hold a
    /// token, a refresh token or a session id: the status, the size, the names of a JSON
    /// object's keys, and the OAuth `error` / `error_description` texts — never a value.
    public var credentialSummary: String {
        var parts = ["HTTP \(status)", "\(body.count) bytes"]
        if let json = try? JSONValue(parsing: body), let object = json.objectValue {
            parts.append("keys: " + object.keys.sorted().joined(separator: ", "))
            for key in ["error", "error_description"] {
                if let text = object[key]?.stringValue { parts.append("\(key): \(text.prefix(200))") }
            }
        } else if let type = header("Content-Type") {
            parts.append(type)
        }
        return parts.joined(separator: "; ")
    }

    /// A short excerpt of the body for error messages and the audit. Never for an answer from a
    /// token or login endpoint: see ``credentialSummary``.
    public var excerpt: String {
        let text = self.text.replacingOccurrences(of: "\n", with: " ")
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}

/// Counters a benchmark or ping reads.
public final class TransportStats: Sendable {
    private let state = Mutex<(requests: Int, retries: Int, waited: Double)>((0, 0, 0))
    private let limits = Mutex<[String: String]>([:])
    /// Whether ``rateLimitHeaders`` is kept (ping reads it; the sync path does not pay for it).
    public let recordsRateLimitHeaders: Bool

    public init() { recordsRateLimitHeaders = false }
    public init(recordsRateLimitHeaders: Bool) { self.recordsRateLimitHeaders = recordsRateLimitHeaders }

    /// Keeps the rate-limit headers of an answer (`X-Rate-Limit-*`, `X-RateLimit-*`,
    /// `RateLimit-*`, `Retry-After`), the latest value per name.
    func noteRateLimits(_ headers: [(String, String)]) {
        guard recordsRateLimitHeaders else { return }
        let found = headers.filter { name, _ in
            let lower = name.lowercased()
            return lower.contains("ratelimit") || lower.contains("rate-limit") || lower == "retry-after"
        }
        guard !found.isEmpty else { return }
        limits.withLock { for (name, value) in found { $0[name] = value } }
    }

    /// The rate-limit headers the system sent, the latest value per name (empty when it sends none).
    public var rateLimitHeaders: [String: String] { limits.withLock { $0 } }
    func count(retry: Bool, waited: Double) {
        state.withLock {
            $0.requests += 1
            if retry { $0.retries += 1 }
            $0.waited += waited
        }
    }
    /// Per system: answers that said "slow down" (429), and token or session renewals (calls to
    /// a token endpoint or a logon), for `serve`'s metrics.
    private let perSystem = Mutex<[String: (rateLimited: Int, renewals: Int)]>([:])

    func note(system: String, status: Int, path: String) {
        let renewal = Self.isRenewal(path)
        guard status == 429 || (renewal && (200..<300).contains(status)) else { return }
        perSystem.withLock {
            var counts = $0[system] ?? (0, 0)
            if status == 429 { counts.rateLimited += 1 } else { counts.renewals += 1 }
            $0[system] = counts
        }
    }

    /// Token endpoints and logons of the six systems: `/oauth/token`, `/connect/token`,
    /// `…/token.oauth2`, SAP's `/Login`, SYSPRO's `/Logon`.
    static func isRenewal(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix("/oauth/token") || lower.hasSuffix("/connect/token") || lower.hasSuffix("token.oauth2")
            || lower.hasSuffix("/login") || lower.hasSuffix("/logon")
    }

    /// 429 answers and renewals so far, by system.
    public var bySystem: [String: (rateLimited: Int, renewals: Int)] { perSystem.withLock { $0 } }

    public var requests: Int { state.withLock { $0.requests } }
    public var retries: Int { state.withLock { $0.retries } }
    /// Seconds spent waiting in backoff (simulated seconds under a manual clock).
    public var secondsWaited: Double { state.withLock { $0.waited } }
}

/// All outbound HTTP goes through here: one AsyncHTTPClient, a deadline and a logger on every
/// request, and the retry rules written once:
///
/// - 429 and 503: the request was not processed, so any method is retried, after the server's
///   `Retry-After` (seconds or HTTP date) or `X-Rate-Limit-Reset` (Unix seconds) when given,
///   otherwise after ``BackoffPolicy`` with jitter.
/// - other 5xx and transport failures: retried only for idempotent requests — a `GET` unless the
///   caller says otherwise (SYSPRO e.net posts documents with GETs and passes `idempotent: false`);
///   a write may have landed, and the flow resolves that by looking the record up first, never by
///   writing blindly.
public struct HTTPTransport: Sendable {
    public let http: HTTPClient
    public let clock: any SyncClock
    public let policy: BackoffPolicy
    public let timeout: Duration
    public let logger: Logger
    public let stats: TransportStats
    private let random: RandomSource
    public let system: String
    /// Statuses that mean "throttled" for this system (Cin7 answers its rate limit with 503).
    public var throttleStatuses: Set<Int> = [429]
    /// How long a throttled answer that names no wait (no `Retry-After`) is waited out, for a
    /// system whose limit is a window: Cin7 counts 60 calls in a minute, so a short exponential
    /// retry only spends attempts inside the same window. `nil`: ``BackoffPolicy`` alone.
    public var throttleWait: Duration?

    public init(
        http: HTTPClient, system: String, clock: any SyncClock, policy: BackoffPolicy = BackoffPolicy(),
        timeout: Duration = .seconds(30), logger: Logger, stats: TransportStats = TransportStats(), seed: UInt64 = 1
    ) {
        self.http = http
        self.system = system
        self.clock = clock
        self.policy = policy
        self.timeout = timeout
        self.logger = logger
        self.stats = stats
        self.random = RandomSource(seed: seed)
    }

    /// Sends a request, retrying as described above.
    /// - Returns: the final reply, whatever its status (callers map 4xx themselves).
    /// - Throws: ``SyncError`` `.rateLimited` or `.transient` when the retries run out.
    /// - Parameter idempotent: whether sending the request twice is harmless (default: a GET
    ///   is). SYSPRO e.net writes are GETs that post a document: they pass `false`, so a lost
    ///   answer or a 5xx is reported, never sent again blind (the flow looks up first instead).
    public func send(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: Data? = nil, idempotent: Bool? = nil
    ) async throws -> HTTPReply {
        let repeatable = idempotent ?? (method == "GET")
        var attempt = 0
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: url)
            request.method = HTTPMethod(rawValue: method)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let reply: HTTPReply
            do {
                let response = try await http.execute(request, timeout: .nanoseconds(Int64(timeout.timeInterval * 1e9)), logger: logger)
                let buffer = try await response.body.collect(upTo: 64 << 20)
                reply = HTTPReply(
                    status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                    body: Data(buffer.readableBytesView))
            } catch {
                let safeToRetry = repeatable
                stats.count(retry: false, waited: 0)
                guard safeToRetry, attempt < policy.maxAttempts else {
                    throw SyncError(.transient, "\(system) \(method) \(Self.pathOnly(url)) failed: \(Self.describe(error))")
                }
                try await wait(attempt: attempt, hint: nil, reason: "transport error")
                continue
            }
            stats.noteRateLimits(reply.headers)
            stats.note(system: system, status: reply.status, path: Self.pathOnly(url))
            let status = reply.status
            let retryable = status == 429 || status == 503 || (repeatable && [500, 502, 504].contains(status))
            stats.count(retry: false, waited: 0)
            guard retryable else { return reply }
            guard attempt < policy.maxAttempts else {
                if throttleStatuses.contains(status) {
                    let wait = serverHint(reply).map { "; it asks to wait \(Int($0.timeInterval.rounded(.up))) s" } ?? ""
                    throw SyncError(.rateLimited, "\(system) kept answering \(status) (rate limit) after \(attempt) attempt(s) on \(Self.pathOnly(url))\(wait); the next cycle continues")
                }
                throw SyncError(.transient, "\(system) answered \(status) \(attempt) times on \(method) \(Self.pathOnly(url))")
            }
            let windowWait = throttleStatuses.contains(status) ? throttleWait : nil
            try await wait(attempt: attempt, hint: serverHint(reply) ?? windowWait, reason: "HTTP \(status)")
        }
    }

    /// Waits longer than this are announced at the default log level (warning), naming the
    /// system, why and until when: a run that sits out an hourly window must not look hung.
    public static let announcedWait: Duration = .seconds(5)

    private func wait(attempt: Int, hint: Duration?, reason: String) async throws {
        let draw = random.next()
        let delay = policy.delay(failedAttempt: attempt, serverHint: hint, random: draw)
        let metadata: Logger.Metadata = [
            "system": "\(system)", "retry.attempt": "\(attempt)", "retry.reason": "\(reason)", "retry.delay_s": "\(delay.timeInterval)",
        ]
        if delay >= Self.announcedWait {
            let until = clock.now().addingTimeInterval(delay.timeInterval)
            var announced = metadata
            announced["retry.until"] = "\(until.formatted(.iso8601))"
            logger.warning("Waiting for the system before retrying", metadata: announced)
        } else {
            logger.info("Retrying after backoff", metadata: metadata)
        }
        stats.count(retry: true, waited: delay.timeInterval)
        try await clock.sleep(for: delay)
    }

    /// How long the server asked us to wait, from `Retry-After` or `X-Rate-Limit-Reset`.
    func serverHint(_ reply: HTTPReply) -> Duration? {
        if let text = reply.header("Retry-After") {
            if let seconds = Double(text.trimmingCharacters(in: .whitespaces)) { return .interval(max(0, seconds)) }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            if let date = formatter.date(from: text) { return .interval(max(0, date.timeIntervalSince(clock.now()))) }
        }
        if reply.status == 429, let reset = reply.header("X-Rate-Limit-Reset").flatMap(Double.init) {
            return .interval(max(0, reset - clock.now().timeIntervalSince1970))
        }
        return nil
    }

    /// The URL without its query (which may carry credentials, as SYSPRO logon does).
    public static func pathOnly(_ url: String) -> String {
        String(url.split(separator: "?", maxSplits: 1).first ?? "")
    }

    /// A transport error in words a customer can act on, without the URL's query.
    public static func describe(_ error: any Error) -> String {
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return "connection timed out (is the host reachable and the port open?)"
            case .deadlineExceeded, .readTimeout: return "no answer before the deadline"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return "\(client)"
            }
        }
        let text = "\(error)"
        let type = String(reflecting: Swift.type(of: error))
        if type.contains("SSL") || type.contains("TLS") || text.contains("handshake") || text.contains("SSL") {
            return "TLS handshake failed (\(text)); check that the URL's scheme matches the server (https against a plain-HTTP port fails here) and that its certificate is trusted"
        }
        if text.contains("connectionRefused") || text.contains("Connection refused") {
            return "connection refused (is the service running at that address?)"
        }
        return text
    }
}


/// Spaces calls evenly under a per-minute quota, so that a burst never meets the limit: one call
/// every 60/`callsPerMinute` seconds (and a millisecond, so that clock rounding never lets a
/// quota's worth plus one into the server's minute). A client keeps one and asks it before every
/// call; the wait runs on the transport's clock.
public struct CallPacer: Sendable {
    /// The quota paced to; `nil` or ≤ 0: no pacing.
    public let callsPerMinute: Int?
    private var nextSlot: Date?

    public init(callsPerMinute: Int?) { self.callsPerMinute = callsPerMinute }

    /// Takes the next slot.
    /// - Returns: how long to wait for it (`nil`: go now). Sleep it on the transport's clock.
    public mutating func reserve(now: Date) -> Duration? {
        guard let limit = callsPerMinute, limit > 0 else { return nil }
        let slot = max(now, nextSlot ?? now)
        nextSlot = slot.addingTimeInterval(60 / Double(limit) + 0.001)
        let wait = slot.timeIntervalSince(now)
        return wait > 0 ? .milliseconds(Int64((wait * 1000).rounded(.up))) : nil
    }
}
