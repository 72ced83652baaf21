import Foundation
import ClientKit
import Testing

@Suite struct AuthStateMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func logsInFirstThenSendsUntilShortlyBeforeExpiry() {
        var machine = AuthStateMachine(refreshMargin: 300)
        #expect(machine.beforeCall(now: t0) == .logIn)
        machine.loggedIn(token: "a", expiresAt: t0.addingTimeInterval(5400))
        #expect(machine.beforeCall(now: t0.addingTimeInterval(5000)) == .send(token: "a"))
        #expect(machine.beforeCall(now: t0.addingTimeInterval(5200)) == .logIn)
    }

    @Test func a401LogsInOnceThenFails() {
        var machine = AuthStateMachine()
        machine.loggedIn(token: "a", expiresAt: t0.addingTimeInterval(5400))
        #expect(machine.callFinished(unauthorized: true) == .logIn)
        #expect(machine.beforeCall(now: t0) == .logIn)
        machine.loggedIn(token: "b", expiresAt: t0.addingTimeInterval(5400))
        if case .fail = machine.callFinished(unauthorized: true) {} else { Issue.record("second 401 must fail") }
    }

    @Test func successResetsTheRetry() {
        var machine = AuthStateMachine()
        machine.loggedIn(token: "a", expiresAt: t0.addingTimeInterval(5400))
        #expect(machine.callFinished(unauthorized: true) == .logIn)
        machine.loggedIn(token: "b", expiresAt: t0.addingTimeInterval(5400))
        #expect(machine.callFinished(unauthorized: false) == nil)
        #expect(machine.callFinished(unauthorized: true) == .logIn)
    }
}
