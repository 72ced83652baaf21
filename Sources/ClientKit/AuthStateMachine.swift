import Foundation
import SyncEngine

/// A bearer token as a token endpoint handed it out.
public struct IssuedToken: Sendable, Equatable {
    public var accessToken: String
    /// `expires_in`, in seconds.
    public var lifetime: TimeInterval
    /// When the server says it issued the token (Procore's `created_at`), if it says so. Read for
    /// diagnostics only: expiry is always counted on the client's own clock from the moment the
    /// answer arrived, so a server (or local) clock that is off cannot make a fresh token look dead.
    public var serverIssuedAt: Date?

    public init(accessToken: String, lifetime: TimeInterval, serverIssuedAt: Date? = nil) {
        self.accessToken = accessToken
        self.lifetime = lifetime
        self.serverIssuedAt = serverIssuedAt
    }
}

/// What to do about a bearer token around each call. Reads no clock and does no I/O, so every
/// branch is a unit test; ``BearerTokens`` drives it for every bearer-token client (Procore,
/// Procurify, CloudSuite and any later one).
///
/// The rules, each bounded so that no answer of any server can make a client loop:
/// - A token expires `expires_in` seconds after it *arrived*, on the client's clock
///   (``loggedIn(_:now:)``); the server's own issue time is kept only as ``clockSkew``.
/// - ``beforeCall(now:)`` starts a call: it answers `.send` while the token is good for more than
///   `refreshMargin` seconds, else `.logIn`.
/// - ``loggedIn(_:now:)`` never answers `.logIn`: a token that would need renewing the moment it
///   arrives (its lifetime is not longer than the margin) fails the call with the figures, so a call
///   requests at most one token before it is sent.
/// - After a 401 ``callFinished(unauthorized:used:retried:)`` answers `.logIn` once per call (or
///   `.send` with a token another call fetched meanwhile); a second 401 fails the call. Whether a
///   call has had its retry is the caller's (``BearerTokens``), so calls in flight at once each
///   get their own.
public struct AuthStateMachine: Sendable, Equatable {
    public enum Action: Equatable, Sendable {
        case send(token: String)
        case logIn
        case fail(String)
    }

    public private(set) var token: String?
    public private(set) var expiresAt: Date?
    /// The latest token's server issue time minus this client's clock when it arrived (positive:
    /// the server's clock is ahead); `nil` when the server did not say when it issued it.
    public private(set) var clockSkew: TimeInterval?
    /// The latest token's issue time as the server stated it.
    public private(set) var serverIssuedAt: Date?
    public let refreshMargin: TimeInterval
    /// The system named in the failure message.
    public let system: String

    public init(refreshMargin: TimeInterval = 300, system: String = "Procore") {
        self.refreshMargin = refreshMargin
        self.system = system
    }

    /// At the start of each call: `.send` with the cached token, or `.logIn`.
    public mutating func beforeCall(now: Date) -> Action {
        guard let token, let expiresAt, now < expiresAt.addingTimeInterval(-refreshMargin) else { return .logIn }
        return .send(token: token)
    }

    /// After a successful token request: keeps the token, expiring `lifetime` seconds from `now`.
    /// - Returns: `.send` with the new token, or `.fail` when the token would have to be renewed
    ///   at once (never `.logIn`: that is what bounds the logins before a call to one).
    public mutating func loggedIn(_ issued: IssuedToken, now: Date) -> Action {
        clockSkew = issued.serverIssuedAt.map { $0.timeIntervalSince(now) }
        serverIssuedAt = issued.serverIssuedAt
        guard issued.lifetime > refreshMargin else {  // also false for NaN
            token = nil
            expiresAt = nil
            return .fail(expiredOnArrival(issued, now: now))
        }
        token = issued.accessToken
        expiresAt = now.addingTimeInterval(issued.lifetime)
        return .send(token: issued.accessToken)
    }

    /// Forget the token (each polling cycle starts with a fresh one, as the seed asks).
    /// The end of one call of several that may be in flight at once (``BearerTokens``): `used` is
    /// the token the call carried, `retried` whether this call already had its one retry.
    /// - Returns: `nil` when it was not a 401; `.send` with a token another call fetched
    ///   meanwhile (no new token request); `.logIn` once per call; `.fail` for a second 401.
    public mutating func callFinished(unauthorized: Bool, used: String, retried: Bool) -> Action? {
        guard unauthorized else { return nil }
        if let current = token, current != used, !retried { return .send(token: current) }
        if token == used {
            token = nil
            expiresAt = nil
        }
        if retried { return .fail("\(system) answered 401 again with a freshly issued token") }
        return .logIn
    }

    public mutating func invalidate() {
        token = nil
        expiresAt = nil
    }

    /// A warning worth showing (by `ping`) when the server's clock and this machine's differ by
    /// more than ``skewWorthMentioning``, with both times; `nil` otherwise.
    public var clockSkewWarning: String? {
        guard let skew = clockSkew, let issuedAt = serverIssuedAt, !(abs(skew) <= Self.skewWorthMentioning) else { return nil }
        return "\(system) says it issued the token at \(Self.timestamp(issuedAt)) while this machine's clock read \(Self.timestamp(issuedAt.addingTimeInterval(-skew))): \(Self.describeSkew(skew)). Tokens are timed on this machine's clock, so calls are not affected, but run records, audit times and watermarks are: set this machine's clock right (NTP)."
    }

    /// The message for a token judged expired right after it arrived: the likely cause and the figures.
    func expiredOnArrival(_ issued: IssuedToken, now: Date) -> String {
        let lifetime = issued.lifetime.isFinite ? "\(Int(issued.lifetime)) s" : "\(issued.lifetime)"
        var message = "\(system) issued a token that lives \(lifetime), not longer than this client's renewal margin of \(Int(refreshMargin)) s, so it would have to be renewed before every call"
        if let skew = clockSkew, abs(skew) > Self.skewWorthMentioning, let issuedAt = issued.serverIssuedAt {
            message += "; the server also says it issued the token at \(Self.timestamp(issuedAt)) while this machine's clock read \(Self.timestamp(now)) (\(Self.describeSkew(skew)))"
        }
        return message + ". Ask the system's administrator for a longer token lifetime, or check this machine's clock (NTP)."
    }

    /// Differences between the server's and this machine's clock below this are network delay and ordinary drift.
    public static let skewWorthMentioning: TimeInterval = 300

    /// `2026-12-03T08:15:00Z`.
    public static func timestamp(_ date: Date) -> String {
        guard date.timeIntervalSince1970.isFinite, abs(date.timeIntervalSince1970) < 1e11 else { return "\(date.timeIntervalSince1970) s after 1970" }
        return date.formatted(.iso8601)
    }

    /// "the server's clock is 3 d 0 h ahead of this machine's".
    public static func describeSkew(_ skew: TimeInterval) -> String {
        guard skew.isFinite, abs(skew) < 1e11 else { return "the server's clock is off by \(skew) s" }
        let minutes = Int(abs(skew) / 60)
        let amount = minutes >= 1440 ? "\(minutes / 1440) d \(minutes % 1440 / 60) h" : minutes >= 60 ? "\(minutes / 60) h \(minutes % 60) min" : "\(minutes) min"
        return "the server's clock is \(amount) \(skew > 0 ? "ahead of" : "behind") this machine's"
    }
}
