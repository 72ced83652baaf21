import Foundation
import Synchronization

/// Bearer tokens (and optional refresh tokens) for the simulators of OAuth systems, with expiry on
/// the simulator's clock: issue, check, refresh, revoke, and "every token dies now" for the
/// expire-tokens fault. Tokens are random and opaque, as clients must treat them.
public final class TokenIssuer: Sendable {
    public struct Grant: Sendable, Equatable {
        /// Who the token speaks for (a client id, a service account).
        public var subject: String
        public var expiresAt: Date
        public var refreshToken: String?
    }

    private let state = Mutex<(access: [String: Grant], refresh: [String: String])>(([:], [:]))
    private let prefix: String

    /// - Parameter prefix: a recognisable start for the tokens (`eyJ` for JWT-looking ones).
    public init(prefix: String) { self.prefix = prefix }

    /// Issues a token for `subject` valid `lifetime` seconds from `now`.
    public func issue(subject: String, lifetime: TimeInterval, now: Date, withRefreshToken: Bool = false) -> (token: String, grant: Grant) {
        let token = prefix + Self.random()
        let refresh = withRefreshToken ? "rt-" + Self.random() : nil
        let grant = Grant(subject: subject, expiresAt: now.addingTimeInterval(lifetime), refreshToken: refresh)
        state.withLock {
            $0.access[token] = grant
            if let refresh { $0.refresh[refresh] = subject }
        }
        return (token, grant)
    }

    /// The grant behind a live token, or `nil` when it is unknown, expired or revoked.
    public func check(_ token: String?, now: Date) -> Grant? {
        guard let token else { return nil }
        return state.withLock { state in
            guard let grant = state.access[token] else { return nil }
            guard now < grant.expiresAt else {
                state.access[token] = nil
                return nil
            }
            return grant
        }
    }

    /// The subject of a live refresh token.
    public func subject(ofRefreshToken token: String) -> String? { state.withLock { $0.refresh[token] } }

    /// Revokes an access token, or a refresh token together with every access token it issued.
    /// - Returns: whether the token was known.
    @discardableResult
    public func revoke(_ token: String) -> Bool {
        state.withLock { state in
            if state.access.removeValue(forKey: token) != nil { return true }
            guard state.refresh.removeValue(forKey: token) != nil else { return false }
            state.access = state.access.filter { $0.value.refreshToken != token }
            return true
        }
    }

    /// Every access token stops working now (refresh tokens survive, as on a real server whose
    /// access tokens simply ran out).
    public func expireAll() { state.withLock { $0.access.removeAll() } }

    /// The token of an `Authorization: Bearer …` header.
    public static func bearer(_ header: String?) -> String? {
        guard let header, header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    static func random() -> String {
        (UUID().uuidString + UUID().uuidString).replacingOccurrences(of: "-", with: "").lowercased()
    }
}

/// Calls per key in a fixed window on the simulator's clock (`callsPerWindow` ≤ 0 = no limit).
public final class WindowLimiter: Sendable {
    private let state = Mutex<[String: (start: Date, count: Int)]>([:])
    public init() {}

    /// Counts a call. - Returns: seconds until the window reopens when over the limit, else `nil`.
    public func admit(_ key: String, limit: Int, window: TimeInterval, now: Date) -> Int? {
        guard limit > 0 else { return nil }
        return state.withLock { windows in
            var current = windows[key] ?? (now, 0)
            if now.timeIntervalSince(current.start) >= window { current = (now, 0) }
            current.count += 1
            windows[key] = current
            guard current.count > limit else { return nil }
            return max(1, Int((window - now.timeIntervalSince(current.start)).rounded(.up)))
        }
    }

    public func reset() { state.withLock { $0.removeAll() } }
}

extension SimRequest {
    /// The body as form fields (`application/x-www-form-urlencoded`), or `nil` for another type.
    public func formBody() -> [String: String]? {
        guard (header("content-type") ?? "").lowercased().hasPrefix("application/x-www-form-urlencoded") else { return nil }
        var fields: [String: String] = [:]
        for (name, value) in SimRequest.parseQuery(String(decoding: body, as: UTF8.self)) where fields[name] == nil {
            fields[name] = value
        }
        return fields
    }

    /// The user and password of an `Authorization: Basic …` header.
    public func basicCredentials() -> (user: String, password: String)? {
        guard let header = header("authorization"), header.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces))
        else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// The value of one cookie of the `Cookie` header.
    public func cookie(_ name: String) -> String? {
        guard let header = header("cookie") else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0] == name { return pair[1] }
        }
        return nil
    }
}
