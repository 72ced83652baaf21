import Foundation
import Synchronization
import SyncEngine

/// One client's bearer token: cached, renewed shortly before it runs out, renewed once after a
/// 401, and never requested more than once before a call is sent. The decisions are
/// ``AuthStateMachine``'s; this runs them, on the client's clock, around the client's own token
/// request and call, so that no bearer-token client writes the loop again.
///
/// The client keeps one instance and routes every authenticated call through
/// ``call(isolation:fetch:send:)``; `fetch` is its token request (client credentials, password
/// or refresh grant), `send` the call itself with the token it is given.
public final class BearerTokens: Sendable {
    private struct State {
        var machine: AuthStateMachine
        var fetched = 0
        var lifetime: TimeInterval?
        /// A token request is in flight; calls that need one meanwhile wait for it.
        var fetching = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>
    /// The client's clock: expiry is counted on it from the moment a token arrived.
    public let clock: any SyncClock

    /// - Parameters:
    ///   - system: named in failure messages ("Procore", "the ION API gateway").
    ///   - refreshMargin: renew this many seconds before the token runs out.
    public init(system: String, refreshMargin: TimeInterval, clock: any SyncClock) {
        self.state = Mutex(State(machine: AuthStateMachine(refreshMargin: refreshMargin, system: system)))
        self.clock = clock
    }

    /// Token requests that succeeded, since this client was made.
    public var tokensFetched: Int { state.withLock { $0.fetched } }
    /// `expires_in` of the latest token, in seconds.
    public var tokenLifetime: TimeInterval? { state.withLock { $0.lifetime } }
    /// The latest token's server issue time minus this machine's clock at its arrival, where the
    /// server says when it issued it (see ``AuthStateMachine/clockSkew``).
    public var clockSkew: TimeInterval? { state.withLock { $0.machine.clockSkew } }
    /// See ``AuthStateMachine/clockSkewWarning``.
    public var clockSkewWarning: String? { state.withLock { $0.machine.clockSkewWarning } }
    /// The token in use, if any (for revoking it).
    public var currentToken: String? { state.withLock { $0.machine.token } }

    /// Forgets the token; the next call requests a new one.
    public func invalidate() { state.withLock { $0.machine.invalidate() } }

    /// Requests a new token now and keeps it (a cycle starts with a fresh token).
    /// - Throws: what `fetch` throws, or ``SyncError`` `.authFailed` when the token would need
    ///   renewing the moment it arrived (the message names the figures).
    public func renew(isolation: isolated (any Actor)? = #isolation, _ fetch: () async throws -> IssuedToken) async throws {
        invalidate()
        if case .fail(let message) = keep(try await fetch()) { throw SyncError(.authFailed, message) }
    }

    /// Runs one authenticated call.
    /// - Parameters:
    ///   - fetch: requests a token; called at most once before the call is sent and at most once
    ///     more after a 401.
    ///   - send: sends the call with the given token.
    /// - Returns: the reply for any status other than 401.
    /// - Throws: what `fetch` or `send` throw; ``SyncError`` `.authFailed` for a second 401 or a
    ///   token that is dead on arrival.
    public func call(
        isolation: isolated (any Actor)? = #isolation, fetch: () async throws -> IssuedToken, send: (String) async throws -> HTTPReply
    ) async throws -> HTTPReply {
        var action = state.withLock { $0.machine.beforeCall(now: clock.now()) }
        var retried = false
        // Bounded: `.logIn` leads to `.send` or `.fail`, never back to `.logIn`, and a 401 gives
        // this call one retry (with a token another call fetched meanwhile, or a new one).
        while true {
            switch action {
            case .send(let token):
                let reply = try await send(token)
                guard reply.status == 401 else { return reply }
                action = state.withLock { $0.machine.callFinished(unauthorized: true, used: token, retried: retried) } ?? .fail("unreachable")
                retried = true
            case .logIn:
                action = try await logInOnce(fetch)
            case .fail(let message):
                throw SyncError(.authFailed, message)
            }
        }
    }

    /// One token request for every call that needs one at the same moment (a flow writing several
    /// records at once, all answered 401 when the token expired): the first call fetches, the
    /// others wait for its token.
    private func logInOnce(isolation: isolated (any Actor)? = #isolation, _ fetch: () async throws -> IssuedToken) async throws -> AuthStateMachine.Action {
        let leader = state.withLock { state -> Bool in
            if state.fetching { return false }
            state.fetching = true
            return true
        }
        guard leader else {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    guard state.fetching else { return true }
                    state.waiters.append(waiter)
                    return false
                }
                if ready { waiter.resume() }
            }
            let next = state.withLock { $0.machine.beforeCall(now: clock.now()) }
            if case .logIn = next {
                throw SyncError(.authFailed, "the token request another call made at the same moment failed; this call was not sent")
            }
            return next
        }
        let result: Result<IssuedToken, any Error>
        do {
            result = .success(try await fetch())
        } catch {
            result = .failure(error)
        }
        var action: AuthStateMachine.Action?
        if case .success(let issued) = result { action = keep(issued) }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fetching = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
        if let action { return action }
        _ = try result.get()
        throw SyncError(.authFailed, "no token")  // unreachable: a failed result throws above
    }

    private func keep(_ issued: IssuedToken) -> AuthStateMachine.Action {
        let now = clock.now()
        return state.withLock { state in
            state.fetched += 1
            state.lifetime = issued.lifetime
            return state.machine.loggedIn(issued, now: now)
        }
    }
}
