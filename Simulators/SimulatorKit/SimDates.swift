import Foundation
import SyncEngine

/// Dates as the simulated systems write and accept them, parsed one way for all simulators:
/// `YYYY-MM-DD` (midnight UTC), ISO 8601 with or without fractional seconds, and a date-time
/// without zone (read as UTC), as some SYSPRO hosts and Cin7 examples send it.
///
/// Foundation's format styles are values, safe to use from any thread at once; the shared
/// `DateFormatter`s this used to keep (`nonisolated(unsafe)`) were not.
public enum SimDates {
    /// - Returns: `nil` when the text is none of those forms.
    public static func parse(_ text: String) -> Date? {
        if text.count == 10 { return CalendarDay.date(text) }
        if let date = try? Date(text, strategy: isoFull) { return date }
        if let date = try? Date(text, strategy: isoFraction) { return date }
        return try? Date(String(text.prefix(19)), strategy: localDateTime)
    }

    /// An instant with milliseconds, as Cin7 stamps `LastModifiedOn`.
    public static func stamp(_ date: Date) -> String { date.formatted(isoFraction) }

    /// `2026-03-02T14:05:09Z`.
    public static func seconds(_ date: Date) -> String { date.formatted(isoFull) }

    /// `2026-03-02T14:05:09.246562Z`: microseconds, as Procore stamps webhook events.
    public static func microseconds(_ date: Date) -> String {
        let whole = date.timeIntervalSince1970.rounded(.down)
        let micros = min(999_999, Int(((date.timeIntervalSince1970 - whole) * 1_000_000).rounded()))
        let text = String(Date(timeIntervalSince1970: whole).formatted(isoFull).dropLast())  // without the Z
        let digits = String(micros)
        return text + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }

    static let isoFull = Date.ISO8601FormatStyle()
    static let isoFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    static let localDateTime = Date.ISO8601FormatStyle().year().month().day().dateSeparator(.dash).dateTimeSeparator(.standard)
        .time(includingFractionalSeconds: false).timeSeparator(.colon)
}
