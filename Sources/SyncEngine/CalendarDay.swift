import Foundation

/// A `yyyy-MM-dd` day in UTC, read and written without `DateFormatter`.
///
/// Every source date on the record path is one (SYSPRO's date-only columns, watermarks), and the
/// formatter's `date(from:)` was a twentieth of the engine's time in the flow-000 profile. The
/// reading is strict: four-digit year, real month and day (leap years included), nothing after.
public enum CalendarDay {
    /// Midnight UTC of `text`'s day, or `nil` when it is not exactly a real `yyyy-MM-dd` day.
    public static func date(_ text: some StringProtocol) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), (1...12).contains(month), day >= 1 else {
            return nil
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month - 1] else { return nil }
        return Date(timeIntervalSince1970: Double(daysFromEpoch(year: year, month: month, day: day)) * 86400)
    }

    /// `yyyy-MM-dd` of a date's UTC day.
    public static func string(_ date: Date) -> String {
        let days = Int((date.timeIntervalSince1970 / 86400).rounded(.down))
        let (year, month, day) = civil(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// The last day of the month `date`'s UTC day falls in (a billing period's end).
    public static func lastDayOfMonth(_ date: Date) -> Date {
        let (year, month, _) = civil(Int((date.timeIntervalSince1970 / 86400).rounded(.down)))
        let next = month == 12 ? daysFromEpoch(year: year + 1, month: 1, day: 1) : daysFromEpoch(year: year, month: month + 1, day: 1)
        return Date(timeIntervalSince1970: Double(next - 1) * 86400)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian day (Howard Hinnant's algorithm).
    static func daysFromEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of ``daysFromEpoch(year:month:day:)``.
    static func civil(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp + (mp < 10 ? 3 : -9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
