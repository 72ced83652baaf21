import Foundation
import SyncEngine

/// What to do about a bearer token around each call. Reads no clock and does no I/O, so every
/// branch is a unit test.
///
/// Used by every bearer-token client (Procore, Procurify, CloudSuite): tokens last `expires_in`
/// seconds; the machine renews early, `refreshMargin` before expiry, and after a 401 it logs in
/// once and replays the call once; a second 401 fails the call instead of looping.
public struct AuthStateMachine: Sendable, Equatable {
    public enum Action: Equatable, Sendable {
        case send(token: String)
        case logIn
        case fail(String)
    }

    public private(set) var token: String?
    public private(set) var expiresAt: Date?
    private var retriedAfter401 = false
    public let refreshMargin: TimeInterval
    /// The system named in the failure message.
    public let system: String

    public init(refreshMargin: TimeInterval = 300, system: String = "Procore") {
        self.refreshMargin = refreshMargin
        self.system = system
    }

    /// Before each call.
    public mutating func beforeCall(now: Date) -> Action {
        guard let token, let expiresAt, now < expiresAt.addingTimeInterval(-refreshMargin) else { return .logIn }
        return .send(token: token)
    }

    /// After a successful token request.
    public mutating func loggedIn(token: String, expiresAt: Date) {
        self.token = token
        self.expiresAt = expiresAt
    }

    /// After a call answered; `unauthorized` is HTTP 401.
    public mutating func callFinished(unauthorized: Bool) -> Action? {
        guard unauthorized else {
            retriedAfter401 = false
            return nil
        }
        token = nil
        expiresAt = nil
        if retriedAfter401 {
            retriedAfter401 = false
            return .fail("\(system) answered 401 again with a freshly issued token")
        }
        retriedAfter401 = true
        return .logIn
    }

    /// Forget the token (each polling cycle starts with a fresh one, as the seed asks).
    public mutating func invalidate() {
        token = nil
        expiresAt = nil
    }
}
