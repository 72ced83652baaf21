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
            guard double.isFinite, abs(double) < 1e15 else { return nil }
            return Money(minor: Int64((double * 100).rounded(.toNearestOrAwayFromZero)))
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, let decimal = Decimal(string: trimmed, locale: Locale(identifier: "en_US_POSIX")),
                trimmed.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" })
            else { return nil }
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

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.minor < rhs.minor }
    public static func + (lhs: Money, rhs: Money) -> Money { Money(minor: lhs.minor + rhs.minor) }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(minor: lhs.minor - rhs.minor) }
    public static let zero = Money(minor: 0)
}
