import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SyncEngine

/// One event waiting for, or done with, delivery to an endpoint.
public struct WebhookEvent: Sendable, Equatable {
    public var id: Int64
    public var hookID: Int64
    public var url: String
    public var headers: [String: String]
    public var payload: JSONValue
    public var enqueuedAt: Date

    public init(id: Int64, hookID: Int64, url: String, headers: [String: String], payload: JSONValue, enqueuedAt: Date) {
        self.id = id
        self.hookID = hookID
        self.url = url
        self.headers = headers
        self.payload = payload
        self.enqueuedAt = enqueuedAt
    }
}

/// One delivery attempt, as a deliveries log lists it.
public struct WebhookAttempt: Sendable, Equatable {
    public enum Outcome: String, Sendable, Codable { case ok, retried, failed, discarded }
    public var id: Int64
    public var event: WebhookEvent
    public var outcome: Outcome
    public var startedAt: Date
    public var completedAt: Date
    public var responseStatus: Int?
    public var responseBody: String?
    public var responseError: String?
}

/// Delivers webhook events the way Procore documents it, on the simulator's clock:
///
/// - events go to each endpoint (destination URL) in order; an attempt succeeds on any 2xx
///   answered within `timeout` (5 s);
/// - on a failure, deliveries to that endpoint pause and the head event is retried after 1 s,
///   2 s, 4 s … up to 1 h between attempts; a success resumes normal flow;
/// - after `horizon` (12 h) of failing, the endpoint's queue is flushed and its events are
///   marked `discarded`.
///
/// Nothing runs in the background: ``deliverDue()`` delivers what is due now, and
/// ``advance(_:by:)`` walks a manual clock through every retry moment on the way. Faults can
/// hold and release an endpoint, duplicate the next events, or reorder a queue.
public actor WebhookDispatcher {
    struct Endpoint {
        var queue: [WebhookEvent] = []
        var nextAttemptAt: Date?
        var failingSince: Date?
        var failures = 0
        var held = false
    }

    private let clock: any SyncClock
    private var endpoints: [String: Endpoint] = [:]
    private var order: [String] = []
    public private(set) var attempts: [WebhookAttempt] = []
    private var nextAttemptID: Int64 = 9_000_000_000
    private var duplicateNext = 0
    /// Held as a whole: endpoints that appear later are held too.
    private var holdAll = false
    public var timeout: Duration = .seconds(5)
    public var horizon: TimeInterval = 12 * 3600
    public var maxInterval: TimeInterval = 3600

    public init(clock: any SyncClock) { self.clock = clock }

    // MARK: queueing and faults

    public func enqueue(_ event: WebhookEvent) {
        if endpoints[event.url] == nil {
            endpoints[event.url] = Endpoint()
            order.append(event.url)
        }
        endpoints[event.url]!.queue.append(event)
        if duplicateNext > 0 {
            duplicateNext -= 1
            endpoints[event.url]!.queue.append(event)  // at-least-once: the same event, twice
        }
    }

    /// The next `count` events are delivered twice.
    public func duplicateNextEvents(_ count: Int) { duplicateNext += count }

    /// Stops deliveries to every endpoint (or one) until ``release(url:)``.
    public func hold(url: String? = nil) {
        if let url { endpoints[url]?.held = true } else { holdAll = true }
    }

    public func release(url: String? = nil) {
        if url == nil { holdAll = false }
        for key in url.map({ [$0] }) ?? order { endpoints[key]?.held = false }
    }

    /// Reverses the order of the events waiting for each endpoint.
    public func reorder() {
        for key in order { endpoints[key]?.queue.reverse() }
    }

    public func reset() {
        endpoints = [:]
        order = []
        attempts = []
        duplicateNext = 0
        holdAll = false
    }

    public var pending: Int { endpoints.values.reduce(0) { $0 + $1.queue.count } }

    /// The background delivery run ``deliverSoon()`` started, if it is still going.
    private var background: Task<Void, Never>?

    /// Delivers what is due in the background: the API answer that caused the events goes out
    /// first and the receiver sees them a moment later, as with Procore (never inside the reply).
    public func deliverSoon() {
        let previous = background
        background = Task { [weak self] in
            await previous?.value
            _ = await self?.deliverDue()
        }
    }

    /// Waits until the background deliveries started so far are done (tests and scenario steps
    /// that look at a receiver call this first, instead of sleeping).
    public func settle() async {
        while let task = background {
            await task.value
            if background == task { background = nil }
        }
    }

    /// The earliest moment something is due, if anything waits.
    public var nextDue: Date? {
        guard !holdAll else { return nil }
        return endpoints.values.filter { !$0.held && !$0.queue.isEmpty }.map { $0.nextAttemptAt ?? .distantPast }.min()
    }

    // MARK: delivery

    /// The delivery run under way: runs are chained, never interleaved (a delivery awaits its
    /// HTTP answer, and a second run started meanwhile — a receiver whose work makes Procore
    /// answer requests — would otherwise send the same head event again).
    private var lastRun: Task<[WebhookAttempt], Never>?

    /// Delivers everything due now, endpoint by endpoint, in order, after any run under way.
    /// - Returns: the attempts made.
    @discardableResult
    public func deliverDue() async -> [WebhookAttempt] {
        let previous = lastRun
        let run = Task {
            _ = await previous?.value
            return await self.deliverDueNow()
        }
        lastRun = run
        return await run.value
    }

    private func deliverDueNow() async -> [WebhookAttempt] {
        var made: [WebhookAttempt] = []
        guard !holdAll else { return made }
        for url in order {
            while var endpoint = endpoints[url], !endpoint.held, let event = endpoint.queue.first {
                let now = clock.now()
                if let next = endpoint.nextAttemptAt, next > now { break }
                if let since = endpoint.failingSince, now.timeIntervalSince(since) >= horizon {
                    for dropped in endpoint.queue {
                        made.append(record(dropped, outcome: .discarded, started: now, status: nil, body: nil, error: "queue flushed after \(Int(horizon / 3600)) h of failed deliveries"))
                    }
                    endpoint.queue = []
                    endpoint.failingSince = nil
                    endpoint.nextAttemptAt = nil
                    endpoint.failures = 0
                    endpoints[url] = endpoint
                    break
                }
                let (status, body, error) = await post(event)
                let done = clock.now()
                if let status, (200..<300).contains(status) {
                    made.append(record(event, outcome: .ok, started: now, status: status, body: body, error: nil, completed: done))
                    endpoint.queue.removeFirst()
                    endpoint.failingSince = nil
                    endpoint.failures = 0
                    endpoint.nextAttemptAt = nil
                    endpoints[url] = endpoint
                } else {
                    made.append(record(event, outcome: .retried, started: now, status: status, body: body, error: error, completed: done))
                    endpoint.failures += 1
                    endpoint.failingSince = endpoint.failingSince ?? now
                    let wait = min(maxInterval, pow(2, Double(endpoint.failures - 1)))
                    endpoint.nextAttemptAt = done.addingTimeInterval(wait)
                    endpoints[url] = endpoint
                    break
                }
            }
        }
        attempts += made
        return made
    }

    /// Moves a manual clock forward by `duration`, stopping at every moment a delivery is due on
    /// the way, so retries happen exactly on their ladder.
    public func advance(_ clock: ManualClock, by duration: Duration) async {
        let target = clock.now().addingTimeInterval(duration.timeInterval)
        await deliverDue()
        while let due = nextDue, due <= target {
            if due > clock.now() { clock.set(due) }
            let made = await deliverDue()
            if made.isEmpty { break }
        }
        clock.set(target)
        await deliverDue()
    }

    /// One attempt is one connection attempt: a receiver that refuses the connection fails the
    /// attempt at once (AsyncHTTPClient would otherwise retry connecting until the deadline).
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    private func post(_ event: WebhookEvent) async -> (Int?, String?, String?) {
        var request = HTTPClientRequest(url: event.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in event.headers { request.headers.add(name: name, value: value) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        request.body = .bytes(ByteBuffer(bytes: (try? encoder.encode(event.payload)) ?? Data()))
        do {
            let response = try await Self.http.execute(request, timeout: .nanoseconds(Int64(timeout.timeInterval * 1e9)))
            let body = try await response.body.collect(upTo: 64 << 10)
            return (Int(response.status.code), String(buffer: body), nil)
        } catch {
            return (nil, nil, "\(error)")
        }
    }

    private func record(
        _ event: WebhookEvent, outcome: WebhookAttempt.Outcome, started: Date, status: Int?, body: String?, error: String?,
        completed: Date? = nil
    ) -> WebhookAttempt {
        nextAttemptID += 1
        return WebhookAttempt(
            id: nextAttemptID, event: event, outcome: outcome, startedAt: started, completedAt: completed ?? started,
            responseStatus: status, responseBody: body.map { String($0.prefix(500)) }, responseError: error)
    }
}
