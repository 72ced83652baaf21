import Foundation

/// Dates as the simulated systems write and accept them, parsed one way for all simulators:
/// `YYYY-MM-DD` (midnight UTC), ISO 8601 with or without fractional seconds, and a date-time
/// without zone (read as UTC), as some SYSPRO hosts and Cin7 examples send it.
public enum SimDates {
    /// - Returns: `nil` when the text is none of those forms.
    public static func parse(_ text: String) -> Date? {
        if text.count == 10 { return dateOnly.date(from: text) }
        if let date = isoFull.date(from: text) { return date }
        if let date = isoFraction.date(from: text) { return date }
        return localDateTime.date(from: String(text.prefix(19)))
    }

    /// An instant with milliseconds, as Cin7 stamps `LastModifiedOn`.
    public static func stamp(_ date: Date) -> String { isoFraction.string(from: date) }

    nonisolated(unsafe) static let isoFull: ISO8601DateFormatter = ISO8601DateFormatter()
    nonisolated(unsafe) static let isoFraction: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
    static let dateOnly: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter
    }()
    static let localDateTime: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter
    }()
}
