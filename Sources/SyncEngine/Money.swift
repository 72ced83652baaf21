import Foundation

/// An amount in integer minor units (cents), so sums never drift.
public struct Money: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var minor: Int64

    public init(minor: Int64) { self.minor = minor }

    /// Parses a JSON number or decimal string such as `1250.5` or `"1250.50"`.
    /// - Returns: `nil` when the value is not a finite number with at most 2 decimals worth keeping
    ///   (more decimals are rounded half away from zero).
    public static func parse(_ value: JSONValue?) -> Money? {
        switch value {
        case .number(let double):
            return Money(units: double)
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, let decimal = Decimal(string: trimmed, locale: Locale(identifier: "en_US_POSIX")),
                trimmed.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" })
            else { return nil }
            guard abs(decimal) < Decimal(Self.limitUnits) else { return nil }
            var scaled = decimal * 100
            var rounded = Decimal()
            NSDecimalRound(&rounded, &scaled, 0, .plain)
            return Money(minor: NSDecimalNumber(decimal: rounded).int64Value)
        default:
            return nil
        }
    }

    /// `1234.50` style text, as Procore wants money on commitments and requisitions.
    public var decimalString: String {
        let sign = minor < 0 ? "-" : ""
        let magnitude = minor.magnitude
        let cents = magnitude % 100
        return "\(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    public var description: String { decimalString }

    /// The largest amount any source may carry, in currency units (10^15: a thousand times the
    /// largest construction contract ever signed). Values at or past it are refused when read.
    public static let limitUnits: Double = 1e15

    /// An amount in currency units (`1250.5`), rounded half away from zero to cents.
    /// - Returns: `nil` for a value that is not finite or not below ``limitUnits`` in size: the
    ///   caller holds the record instead of trapping on the conversion.
    public init?(units: Double) {
        guard units.isFinite, abs(units) < Self.limitUnits else { return nil }
        self.init(minor: Int64((units * 100).rounded(.toNearestOrAwayFromZero)))
    }

    /// Whether the amount is below ``limitUnits`` in size. A sum that went past it (or saturated)
    /// is not; flows hold such a record rather than post it.
    public var isWithinLimit: Bool { minor.magnitude < UInt64(Self.limitUnits * 100) }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.minor < rhs.minor }
    /// Sums saturate at the ends of `Int64` instead of trapping; ``isWithinLimit`` tells.
    public static func + (lhs: Money, rhs: Money) -> Money {
        let (sum, overflow) = lhs.minor.addingReportingOverflow(rhs.minor)
        return Money(minor: overflow ? (rhs.minor > 0 ? .max : .min) : sum)
    }
    public static func - (lhs: Money, rhs: Money) -> Money {
        let (difference, overflow) = lhs.minor.subtractingReportingOverflow(rhs.minor)
        return Money(minor: overflow ? (rhs.minor < 0 ? .max : .min) : difference)
    }
    public static let zero = Money(minor: 0)
}
