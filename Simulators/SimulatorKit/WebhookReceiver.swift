import Foundation
import Synchronization
import SyncEngine

/// A small webhook receiver for tests and scenarios: it records every delivery it gets and can be
/// told to fail the next few (as a receiver that is down at first would).
public final class WebhookReceiver: SimulatedSystem {
    public struct Delivery: Sendable {
        public var headers: [String: String]
        public var body: JSONValue?
        public var answered: Int
    }
    public let name = "receiver"
    private let state = Mutex<(deliveries: [Delivery], failNext: Int, failStatus: Int)>(([], 0, 500))

    public init() {}

    /// The next `count` deliveries are answered with `status` (500 by default).
    public func failNext(_ count: Int, status: Int = 500) {
        state.withLock {
            $0.failNext = count
            $0.failStatus = status
        }
    }

    public var deliveries: [Delivery] { state.withLock { $0.deliveries } }
    /// Only the deliveries answered with 2xx.
    public var accepted: [Delivery] { deliveries.filter { (200..<300).contains($0.answered) } }

    public func handle(_ request: SimRequest) async -> SimResponse {
        let status = state.withLock { s -> Int in
            var status = 204
            if s.failNext > 0 {
                s.failNext -= 1
                status = s.failStatus
            }
            s.deliveries.append(Delivery(headers: request.headers, body: request.jsonBody(), answered: status))
            return status
        }
        return SimResponse(status: status)
    }

    public func apply(_ action: FaultAction) async {}
    public func reset() async { state.withLock { $0 = ([], 0, 500) } }
    public func seed(_ data: JSONValue) async throws {}
}
