import Foundation
import Synchronization

/// The one clock that token lifetimes, session timeouts, rate-limit windows, schedules and backoff
/// sleeps read. Production uses ``SystemClock``; tests and scenario runs share one ``ManualClock``
/// between the engine and the simulators so an hour passes in microseconds.
public protocol SyncClock: Sendable {
    /// The current wall-clock time.
    func now() -> Date
    /// Waits `duration`. A manual clock advances itself instead of waiting.
    func sleep(for duration: Duration) async throws
}

/// The real wall clock.
public struct SystemClock: SyncClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// A clock that only moves when told to. `sleep` advances it by the slept duration and returns at
/// once, so backoff and rate-limit waits cost nothing in tests but still show in the time line.
public final class ManualClock: SyncClock {
    private let current: Mutex<Date>
    private let slept: Mutex<[Duration]>

    /// - Parameter start: the moment the clock shows before anything advances it.
    public init(start: Date = Date(timeIntervalSince1970: 1_772_460_000)) {
        self.current = Mutex(start)
        self.slept = Mutex([])
    }

    public func now() -> Date { current.withLock { $0 } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        slept.withLock { $0.append(duration) }
        advance(by: duration)
    }

    /// Moves the clock forward.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }

    /// Sets the clock to a given moment (forward or back).
    public func set(_ date: Date) { current.withLock { $0 = date } }

    /// Every duration passed to `sleep`, in order: lets tests see backoff without waiting for it.
    public var sleeps: [Duration] { slept.withLock { $0 } }
}

extension Duration {
    /// The duration in (fractional) seconds.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// A duration from (fractional) seconds, saturating instead of trapping: `inf`, `1e10` or an
    /// epoch-milliseconds figure where seconds were meant (all seen in `Retry-After`-like headers
    /// and control calls) end at ±``maxIntervalSeconds``, and `nan` is zero.
    public static func interval(_ seconds: TimeInterval) -> Duration {
        guard !seconds.isNaN else { return .zero }
        let clamped = min(max(seconds, -maxIntervalSeconds), maxIntervalSeconds)
        return .nanoseconds(Int64((clamped * 1e9).rounded()))
    }

    /// The longest ``interval(_:)`` gives: 9·10⁹ s (about 285 years), inside what `Int64`
    /// nanoseconds can hold.
    public static let maxIntervalSeconds: TimeInterval = 9e9
}
