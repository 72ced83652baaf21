import Foundation
import SyncEngine

/// A poller's schedule driven by hand instead of a timer: the demo and the serve scenarios say
/// when the interval is over (after moving their simulated clock), so `Serve.poll` runs exactly
/// the cycles they ask for — a webhook still wakes it early, as in production.
public actor ManualSchedule {
    private var waiter: (id: Int, continuation: CheckedContinuation<Void, any Error>)?
    private var nextID = 0
    private var released = false
    /// Waits given up before they began (a webhook woke the poller first).
    private var abandoned: Set<Int> = []

    public init() {}

    /// What `Serve.poll` sleeps on: returns when ``release()`` says the interval is over; throws
    /// `CancellationError` when the wait is cancelled (a wake-up, a shutdown).
    public func due() async throws {
        if released {
            released = false
            return
        }
        nextID += 1
        let id = nextID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if abandoned.remove(id) != nil { continuation.resume(throwing: CancellationError()) } else { waiter = (id, continuation) }
            }
        } onCancel: {
            Task { await self.abandon(id) }
        }
    }

    /// The interval is over: the poller's current wait ends (or its next one, if it is busy).
    public func release() {
        if let waiter {
            self.waiter = nil
            waiter.continuation.resume()
        } else {
            released = true
        }
    }

    private func abandon(_ id: Int) {
        guard let waiter, waiter.id == id else {
            if id == nextID { abandoned.insert(id) }  // cancelled before it began to wait
            return
        }
        self.waiter = nil
        waiter.continuation.resume(throwing: CancellationError())
    }
}

/// Cycle summaries in the order a poller finishes them (`Serve.poll`'s `reported`), handed out one by one.
public actor CycleFeed {
    private var ready: [CycleSummary] = []
    private var waiter: (id: Int, continuation: CheckedContinuation<CycleSummary?, Never>)?
    private var nextID = 0

    public init() {}

    public func add(_ summary: CycleSummary) {
        if let waiter {
            self.waiter = nil
            waiter.continuation.resume(returning: summary)
        } else {
            ready.append(summary)
        }
    }

    /// The next summary; `nil` when none came within `timeout` (wall time — a deadline, so a
    /// poller that was never woken fails the caller instead of hanging it).
    public func next(timeout: Duration = .seconds(60)) async -> CycleSummary? {
        if !ready.isEmpty { return ready.removeFirst() }
        nextID += 1
        let id = nextID
        let deadline = Task {
            try? await Task.sleep(for: timeout)
            self.expire(id)
        }
        defer { deadline.cancel() }
        return await withCheckedContinuation { waiter = (id, $0) }
    }

    /// Cycles finished and not yet handed out.
    public var waiting: Int { ready.count }

    private func expire(_ id: Int) {
        guard let waiter, waiter.id == id else { return }
        self.waiter = nil
        waiter.continuation.resume(returning: nil)
    }
}
