import Foundation
import Synchronization

/// When to try a failed call again.
///
/// The formula, written once: attempt *n* (1-based) waits `min(cap, base · 2^(n-1))` scaled by a
/// jitter factor drawn uniformly from `[1 - jitter, 1]` ("equal-ish" jitter keeps the wait near
/// the exponential curve but spreads clients apart). When the server says how long to wait
/// (`Retry-After`, or a rate-limit reset time), that figure wins if it is longer, capped by
/// `maxServerWait` so a hostile header cannot park the engine for a day.
public struct BackoffPolicy: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration
    public var jitter: Double
    public var maxAttempts: Int
    public var maxServerWait: Duration

    public init(
        base: Duration = .milliseconds(500), cap: Duration = .seconds(60), jitter: Double = 0.5,
        maxAttempts: Int = 6, maxServerWait: Duration = .seconds(3600)
    ) {
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.maxAttempts = maxAttempts
        self.maxServerWait = maxServerWait
    }

    /// The wait before retrying after `failedAttempt` failures.
    /// - Parameters:
    ///   - failedAttempt: how many attempts have failed so far (1 after the first failure).
    ///   - serverHint: what the server asked for (Retry-After), if anything.
    ///   - random: a number in `[0, 1)`; injected so tests are deterministic.
    public func delay(failedAttempt: Int, serverHint: Duration? = nil, random: Double) -> Duration {
        let exponent = Double(max(0, failedAttempt - 1))
        let raw = min(cap.timeInterval, base.timeInterval * pow(2, exponent))
        let factor = 1 - jitter * random
        let computed = raw * factor
        if let hint = serverHint {
            let server = min(hint.timeInterval, maxServerWait.timeInterval)
            return .interval(max(server, computed))
        }
        return .interval(computed)
    }
}

/// A small seeded generator so jitter is reproducible in tests and benchmarks.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A thread-safe seeded source of numbers in `[0, 1)`, for jitter.
public final class RandomSource: Sendable {
    private let generator: Mutex<SplitMix64>
    public init(seed: UInt64) { generator = Mutex(SplitMix64(seed: seed)) }
    public func next() -> Double { generator.withLock { Double($0.next() >> 11) / Double(1 << 53) } }
}
