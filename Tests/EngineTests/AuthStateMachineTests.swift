import ClientKit
import Foundation
import SyncEngine
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(2))) struct AuthStateMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func token(_ value: String, lifetime: TimeInterval = 5400, issuedAt: Date? = nil) -> IssuedToken {
        IssuedToken(accessToken: value, lifetime: lifetime, serverIssuedAt: issuedAt)
    }

    @Test func logsInFirstThenSendsUntilShortlyBeforeExpiry() {
        var machine = AuthStateMachine(refreshMargin: 300)
        #expect(machine.beforeCall(now: t0) == .logIn)
        #expect(machine.loggedIn(token("a"), now: t0) == .send(token: "a"))
        #expect(machine.beforeCall(now: t0.addingTimeInterval(5000)) == .send(token: "a"))
        #expect(machine.beforeCall(now: t0.addingTimeInterval(5200)) == .logIn)
    }

    /// Expiry counts from arrival on the client's clock: a server clock days off changes nothing
    /// but the reported skew.
    @Test(arguments: [-3.0 * 86_400, 3.0 * 86_400])
    func aServerClockDaysOffStillGivesAFullLifetime(_ offset: TimeInterval) {
        var machine = AuthStateMachine(refreshMargin: 300)
        #expect(machine.loggedIn(token("a", issuedAt: t0.addingTimeInterval(offset)), now: t0) == .send(token: "a"))
        #expect(machine.beforeCall(now: t0.addingTimeInterval(5000)) == .send(token: "a"))
        #expect(machine.clockSkew == offset)
        let warning = machine.clockSkewWarning
        #expect(warning?.contains("3 d 0 h \(offset > 0 ? "ahead of" : "behind")") == true)
        #expect(warning?.contains(AuthStateMachine.timestamp(t0)) == true)  // both times are named
    }

    @Test func aSmallSkewIsNotWorthAWarning() {
        var machine = AuthStateMachine()
        _ = machine.loggedIn(token("a", issuedAt: t0.addingTimeInterval(-2)), now: t0)
        #expect(machine.clockSkew == -2)
        #expect(machine.clockSkewWarning == nil)
    }

    /// A token that would need renewing the moment it arrives fails the call with the figures;
    /// the machine never answers `.logIn` right after a login.
    @Test(arguments: [200.0, 300, 0, -5, .nan])
    func aTokenDeadOnArrivalFailsInsteadOfLoggingInAgain(_ lifetime: TimeInterval) {
        var machine = AuthStateMachine(refreshMargin: 300, system: "Procore")
        #expect(machine.beforeCall(now: t0) == .logIn)
        guard case .fail(let message) = machine.loggedIn(token("a", lifetime: lifetime), now: t0) else {
            Issue.record("lifetime \(lifetime) must fail")
            return
        }
        #expect(message.contains("renewal margin of 300 s"))
        #expect(message.contains("Procore"))
        #expect(machine.token == nil)
    }

    @Test func a401LogsInOnceThenFails() {
        var machine = AuthStateMachine()
        _ = machine.loggedIn(token("a"), now: t0)
        #expect(machine.beforeCall(now: t0) == .send(token: "a"))
        #expect(machine.callFinished(unauthorized: true, used: "a", retried: false) == .logIn)
        #expect(machine.loggedIn(token("b"), now: t0) == .send(token: "b"))
        if case .fail = machine.callFinished(unauthorized: true, used: "b", retried: true) {} else { Issue.record("second 401 must fail") }
        #expect(machine.token == nil)  // the refused token is forgotten
    }

    @Test func eachCallGetsItsOwnRetry() {
        var machine = AuthStateMachine()
        _ = machine.loggedIn(token("a"), now: t0)
        #expect(machine.callFinished(unauthorized: true, used: "a", retried: false) == .logIn)
        _ = machine.loggedIn(token("b"), now: t0)
        #expect(machine.callFinished(unauthorized: false, used: "b", retried: true) == nil)
        // another call, refused with the token it carried, gets its own retry
        #expect(machine.callFinished(unauthorized: true, used: "b", retried: false) == .logIn)
        _ = machine.loggedIn(token("c"), now: t0)
        // a call that carried an older token resends with the one another call already fetched
        #expect(machine.callFinished(unauthorized: true, used: "b", retried: false) == .send(token: "c"))
        #expect(machine.token == "c")
    }
}

/// ``BearerTokens`` drives the machine around real token requests and calls: these count them.
@Suite(.timeLimit(.minutes(2))) struct BearerTokensTests {
    /// A fake client: counts token requests and calls, answers each call with `status`.
    actor FakeClient {
        let tokens: BearerTokens
        let clock: ManualClock
        var lifetime: TimeInterval
        var serverOffset: TimeInterval = 0
        var status = 200
        var tokenRequests = 0
        var calls = 0

        init(lifetime: TimeInterval, clock: ManualClock) {
            self.clock = clock
            self.lifetime = lifetime
            self.tokens = BearerTokens(system: "Fake", refreshMargin: 300, clock: clock)
        }

        func set(status: Int) { self.status = status }
        func set(lifetime: TimeInterval) { self.lifetime = lifetime }
        func set(serverOffset: TimeInterval) { self.serverOffset = serverOffset }

        func requestToken() -> IssuedToken {
            tokenRequests += 1
            return IssuedToken(accessToken: "t\(tokenRequests)", lifetime: lifetime, serverIssuedAt: clock.now().addingTimeInterval(serverOffset))
        }

        func get() async throws -> HTTPReply {
            try await tokens.call(fetch: { self.requestToken() }) { _ in
                calls += 1
                return HTTPReply(status: status, headers: [], body: Data())
            }
        }
    }

    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))

    @Test(arguments: [-3.0 * 86_400, 3.0 * 86_400])
    func aServerClockDaysOffCostsOneTokenRequest(_ offset: TimeInterval) async throws {
        let client = FakeClient(lifetime: 5400, clock: clock)
        await client.set(serverOffset: offset)
        for _ in 0..<10 { #expect(try await client.get().status == 200) }
        #expect(await client.tokenRequests == 1)
        #expect(client.tokens.clockSkew == offset)
        clock.advance(by: .seconds(5200))  // inside the renewal margin: renewed once
        _ = try await client.get()
        #expect(await client.tokenRequests == 2)
    }

    @Test func aTokenShorterThanTheMarginFailsAfterOneRequest() async throws {
        let client = FakeClient(lifetime: 120, clock: clock)
        await #expect {
            try await client.get()
        } throws: { error in
            (error as? SyncError)?.code == .authFailed && "\(error)".contains("lives 120 s")
        }
        #expect(await client.tokenRequests == 1)
        #expect(await client.calls == 0)
        await #expect(throws: SyncError.self) { try await client.tokens.renew { await client.requestToken() } }
        #expect(await client.tokenRequests == 2)
    }

    /// A server that accepts only its latest token; token requests take a while.
    actor RevokingServer {
        let tokens: BearerTokens
        var issued = 0
        var valid = "t1"
        var refused = 0

        init(clock: ManualClock) { tokens = BearerTokens(system: "Fake", refreshMargin: 300, clock: clock) }

        func requestToken() async -> IssuedToken {
            issued += 1
            for _ in 0..<20 { await Task.yield() }  // other calls run meanwhile
            valid = "t\(issued)"
            return IssuedToken(accessToken: valid, lifetime: 5400)
        }

        func revoke() { valid = "revoked" }

        func get() async throws -> HTTPReply {
            try await tokens.call(fetch: { await self.requestToken() }) { token in
                await Task.yield()
                if token != valid { refused += 1 }
                return HTTPReply(status: token == valid ? 200 : 401, headers: [], body: Data())
            }
        }
    }

    /// Eight calls in flight when the token is revoked: each is refused once, one token request
    /// serves them all, and each is replayed once with the new token.
    @Test func concurrentCallsShareOneTokenRequest() async throws {
        let server = RevokingServer(clock: clock)
        #expect(try await server.get().status == 200)
        await server.revoke()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { try await server.get().status } }
            for try await status in group { #expect(status == 200) }
        }
        #expect(await server.issued == 2)
        #expect(await server.refused <= 8)
    }

    @Test func endless401sCostTwoTokenRequestsAndTwoCalls() async throws {
        let client = FakeClient(lifetime: 5400, clock: clock)
        await client.set(status: 401)
        await #expect {
            try await client.get()
        } throws: { error in
            (error as? SyncError)?.code == .authFailed && "\(error)".contains("401 again")
        }
        #expect(await client.tokenRequests == 2)
        #expect(await client.calls == 2)
    }
}
