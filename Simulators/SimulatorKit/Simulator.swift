import Foundation
import SyncEngine

/// A simulated system: its backend answers requests; the kit adds faults, the journal and the
/// `/_sim/` control API around it.
public protocol SimulatedSystem: Sendable {
    /// Short name (`syspro`, `procore`).
    var name: String { get }
    /// Answers one request (after faults decided not to answer it).
    func handle(_ request: SimRequest) async -> SimResponse
    /// Applies a state-changing fault action.
    func apply(_ action: FaultAction) async
    /// Clears all data back to empty.
    func reset() async
    /// Loads a data set (the system's own fixture JSON shape) on top of what is there.
    func seed(_ data: JSONValue) async throws
    /// Adds headers every answer carries (Procore's rate-limit headers), fault answers included.
    func decorate(_ response: inout SimResponse, for request: SimRequest) async
    /// The system's outbound webhook deliveries, if it sends any.
    var webhooks: WebhookDispatcher? { get }
}

/// A simulator built around one backend actor, as every system's is.
public protocol BackedSimulator: SimulatedSystem {
    associatedtype Backend: Sendable
    var backend: Backend { get }
    init(clock: any SyncClock)
}

extension BackedSimulator {
    /// A simulator wrapped in the shared machinery, and its backend for tests to inspect and seed.
    public static func makeCore(clock: any SyncClock) -> (SimulatorCore, Backend) {
        let simulator = Self(clock: clock)
        return (SimulatorCore(system: simulator, clock: clock), simulator.backend)
    }
}

extension SimulatedSystem {
    public func decorate(_ response: inout SimResponse, for request: SimRequest) async {}
    public var webhooks: WebhookDispatcher? { nil }
}

/// Wraps a simulated system with the shared machinery: fault plan, request journal, control API.
public final class SimulatorCore: Sendable {
    public let system: any SimulatedSystem
    public let faults = FaultPlan()
    public let journal = RequestJournal()
    public let clock: any SyncClock

    public init(system: any SimulatedSystem, clock: any SyncClock) {
        self.system = system
        self.clock = clock
    }

    public var name: String { system.name }

    /// Answers a request as the real system would, unless a fault rule says otherwise.
    /// Waits in real time on a thread of its own (`usleep`), not with `Task.sleep`: under
    /// libfaketime — CI runs the suite with the date a year ahead and a year back — a
    /// `Task.sleep` never returns, so a delayed answer never came and its client timed out.
    static func realDelay(milliseconds: Int) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                usleep(UInt32(min(milliseconds, 600_000)) * 1000)
                done.resume()
            }
        }
    }

    public func respond(_ request: SimRequest) async -> SimResponse {
        if request.path.hasPrefix("/_sim/") || request.path == "/_sim" {
            return await control(request)
        }
        let effect = faults.effect(method: request.method, path: request.path, now: clock.now())
        var response: SimResponse
        if let effect {
            if let delay = effect.delayMilliseconds, delay > 0 {
                await Self.realDelay(milliseconds: delay)
            }
            if let action = effect.action { await system.apply(action) }
            if let status = effect.status {
                response = SimResponse(status: status, body: Data((effect.body ?? "").utf8))
                if effect.body.map({ $0.hasPrefix("{") || $0.hasPrefix("[") }) == true {
                    response.setHeader("Content-Type", "application/json; charset=utf-8")
                }
            } else {
                response = await system.handle(request)
                if let after = effect.delayAfterMilliseconds, after > 0 { await Self.realDelay(milliseconds: after) }  // done, answered late
            }
            for (name, value) in effect.headers ?? [:] { response.setHeader(name, value) }
            if effect.truncateBody == true { response.body = response.body.prefix(response.body.count / 2) }
            if effect.dropConnection == true { response.dropConnection = true }
        } else {
            response = await system.handle(request)
        }
        await system.decorate(&response, for: request)
        journal.record(
            at: clock.now(), method: request.method, path: request.path, query: request.rawQuery,
            status: response.status, authorization: request.header("authorization"), faulted: effect != nil,
            origin: request.method == "GET" ? nil : Self.origin(in: request))
        return response
    }

    /// The `/_sim/` control API, the same for every simulator:
    ///
    /// | call | effect |
    /// |---|---|
    /// | `POST /_sim/reset` | empty the system, clear faults and journal |
    /// | `POST /_sim/seed` (body: data set JSON) | load data |
    /// | `POST /_sim/clock/advance` `{"seconds": 3600}` | move the simulated clock (manual clock only) |
    /// | `GET /_sim/clock` | the simulated time |
    /// | `POST /_sim/faults` (body: a ``FaultRule``) · `GET` · `DELETE` | manage fault rules |
    /// | `POST /_sim/expire-tokens` · `POST /_sim/kill-sessions` | the fault actions, now |
    /// | `GET /_sim/journal` | the request journal |
    /// | `POST /_sim/webhooks/{deliver,hold,release,reorder}` · `POST /_sim/webhooks/duplicate {"count":1}` · `GET /_sim/webhooks/attempts` | webhook delivery control (systems that send webhooks) |
    /// Why a control request is refused before it does anything, or `nil`.
    ///
    /// A web page open in the developer's browser can send requests to `127.0.0.1` too. Browsers
    /// send a "simple" cross-site POST (form or `text/plain` body) without asking first, but a
    /// JSON content type makes them ask (CORS preflight), which the simulators never grant; and
    /// a cross-site request carries its page's `Origin`. So a state-changing control call must
    /// say `Content-Type: application/json` and carry no foreign `Origin`.
    static func refusal(of request: SimRequest) -> SimResponse? {
        if let origin = request.header("Origin"), !isLoopback(origin: origin) {
            return .json(403, ["error": .string("control requests from a web page (Origin \(origin.prefix(100))) are refused")])
        }
        guard request.method != "GET" else { return nil }
        let type = request.header("Content-Type")?.lowercased() ?? ""
        guard type.hasPrefix("application/json") else {
            return .json(415, ["error": "control requests must send Content-Type: application/json (even with an empty body)"])
        }
        return nil
    }

    static func isLoopback(origin: String) -> Bool {
        guard let host = URLComponents(string: origin)?.host?.lowercased() else { return false }
        return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]"
    }

    /// The most a control call may move a simulated clock at once: ten years.
    static let maximumAdvance: Double = 10 * 366 * 86400

    func control(_ request: SimRequest) async -> SimResponse {
        if let refused = Self.refusal(of: request) { return refused }
        let sub = String(request.path.dropFirst("/_sim".count))
        switch (request.method, sub) {
        case ("POST", "/reset"):
            await system.reset()
            faults.clear()
            journal.clear()
            return .json(200, ["reset": true])
        case ("POST", "/seed"):
            guard let data = request.jsonBody() else { return .json(400, ["error": "body must be a JSON data set"]) }
            do {
                try await system.seed(data)
                return .json(200, ["seeded": true])
            } catch {
                return .json(422, ["error": .string("\(error)")])
            }
        case ("GET", "/clock"):
            return .json(200, ["now": .string(ISO8601DateFormatter().string(from: clock.now()))])
        case ("POST", "/clock/advance"):
            guard let manual = clock as? ManualClock else {
                return .json(409, ["error": "this simulator runs on the wall clock; start it with a simulated clock"])
            }
            guard let seconds = request.jsonBody()?["seconds"]?.doubleValue, seconds.isFinite, (0...Self.maximumAdvance).contains(seconds) else {
                return .json(400, ["error": .string("body must be {\"seconds\": N} with 0 <= N <= \(Int(Self.maximumAdvance)) (ten years)")])
            }
            if let webhooks = system.webhooks {
                await webhooks.advance(manual, by: .interval(seconds))  // retries fall due on the way
            } else {
                manual.advance(by: .interval(seconds))
            }
            return .json(200, ["now": .string(ISO8601DateFormatter().string(from: clock.now()))])
        case ("GET", "/faults"):
            let data = (try? Self.encoder.encode(faults.rules)) ?? Data("[]".utf8)
            return SimResponse(status: 200, headers: [("Content-Type", "application/json")], body: data)
        case ("POST", "/faults"):
            do {
                let rule = try Self.decoder.decode(FaultRule.self, from: request.body)
                if let problem = rule.problem { return .json(400, ["error": .string("not a usable fault rule: \(problem)")]) }
                faults.add(rule)
                return .json(201, ["added": true])
            } catch {
                return .json(400, ["error": .string("not a fault rule: \(error)")])
            }
        case ("DELETE", "/faults"):
            faults.clear()
            return .json(200, ["cleared": true])
        case ("POST", "/expire-tokens"):
            await system.apply(.expireTokens)
            return .json(200, ["applied": "expire-tokens"])
        case ("POST", "/kill-sessions"):
            await system.apply(.killSessions)
            return .json(200, ["applied": "kill-sessions"])
        case ("POST", "/webhooks/deliver"), ("POST", "/webhooks/hold"), ("POST", "/webhooks/release"),
            ("POST", "/webhooks/duplicate"), ("POST", "/webhooks/reorder"), ("GET", "/webhooks/attempts"):
            guard let webhooks = system.webhooks else { return .json(404, ["error": .string("\(name) sends no webhooks")]) }
            switch sub {
            case "/webhooks/deliver":
                let made = await webhooks.deliverDue()
                return .json(200, ["attempts": .number(Double(made.count))])
            case "/webhooks/hold": await webhooks.hold()
            case "/webhooks/release":
                await webhooks.release()
                await webhooks.deliverDue()
            case "/webhooks/duplicate":
                await webhooks.duplicateNextEvents(Int(request.jsonBody()?["count"]?.doubleValue ?? 1))
            case "/webhooks/reorder": await webhooks.reorder()
            default:
                let list: [JSONValue] = await webhooks.attempts.map {
                    ["id": .number(Double($0.id)), "url": .string($0.event.url), "outcome": .string($0.outcome.rawValue),
                     "status": $0.responseStatus.map { .number(Double($0)) } ?? .null, "error": $0.responseError.map { .string($0) } ?? .null]
                }
                return .json(200, .array(list))
            }
            return .json(200, ["applied": .string(String(sub.dropFirst("/webhooks/".count)))])
        case ("GET", "/journal"):
            let data = (try? Self.encoder.encode(journal.all)) ?? Data("[]".utf8)
            return SimResponse(status: 200, headers: [("Content-Type", "application/json")], body: data)
        default:
            return .json(404, ["error": .string("unknown control call \(request.method) \(request.path)")])
        }
    }

    static func origin(in request: SimRequest) -> String? {
        guard let body = request.jsonBody()?.objectValue else { return nil }
        if let origin = body["origin_id"]?.stringValue { return origin }
        for value in body.values { if let origin = value["origin_id"]?.stringValue { return origin } }
        return nil
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
