import Crypto
import Foundation

/// A strict RFC 8259 reader straight into ``JSONValue``.
///
/// Why not `JSONDecoder`: decoding an enum of unknown shape through `Codable` tries each case in
/// turn and throws (and allocates) an error for every miss — a tenth of the engine's time in the
/// flow-000 profile went there. This reader looks at the next byte instead. It also does what the
/// decoder cannot: ``JSONValue/parseRows(_:key:)`` reads the rows of a page one by one, so one row
/// with bytes that are not UTF-8 becomes an ``UnreadableRow`` instead of failing the whole page.
///
/// Limits that make it safe on untrusted input: nesting deeper than ``maximumDepth`` is refused
/// (no stack exhaustion), strings must be valid UTF-8, numbers must be finite.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    public var offset: Int
    public var reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A row of a page that could not be read, kept as a digest of its bytes.
public struct UnreadableRow: Error, Sendable, Equatable {
    /// SHA-256 of the row's bytes, in hex.
    public var digest: String
    public var byteCount: Int
    public var reason: String

    /// What a flow stores as the row's payload: `{"_unreadable": {"sha256", "bytes", "reason"}}`.
    public var payload: JSONValue {
        ["_unreadable": ["sha256": .string(digest), "bytes": .number(Double(byteCount)), "reason": .string(reason)]]
    }

    /// The unreadable row a payload stands for, if it is one.
    public init?(payload: JSONValue) {
        guard let info = payload["_unreadable"], let digest = info["sha256"]?.stringValue else { return nil }
        self.digest = digest
        self.byteCount = Int(info["bytes"]?.doubleValue ?? 0)
        self.reason = info["reason"]?.stringValue ?? ""
    }

    init(bytes: UnsafeRawBufferPointer, reason: String) {
        digest = SourceRecord.hex(SHA256.hash(data: bytes))
        byteCount = bytes.count
        self.reason = reason
    }
}

extension JSONValue {
    /// Nesting deeper than this is refused.
    public static let maximumDepth = 512

    /// Parses a whole JSON document.
    public init(parsing data: Data) throws {
        self = try data.withUnsafeBytes { buffer in
            var reader = JSONReader(buffer)
            let value = try reader.value(depth: 0)
            try reader.end()
            return value
        }
    }

    /// Parses UTF-8 text.
    public init(parsing text: String) throws { try self.init(parsing: Data(text.utf8)) }

    /// Parses a JSON object and reads the array under `key` row by row: a row that is not valid
    /// (bytes that are not UTF-8, a bad escape, a non-finite number) is returned as an
    /// ``UnreadableRow`` with a digest of its bytes, the other rows as values.
    ///
    /// - Returns: the object without `key`, and the rows in order (`nil` when the object has no
    ///   array under `key`).
    /// - Throws: ``JSONParseError`` when the document's structure is broken (the row boundaries
    ///   cannot be found), so the page as a whole cannot be read.
    public static func parseRows(_ data: Data, key: String) throws -> (envelope: JSONValue, rows: [Result<JSONValue, UnreadableRow>]?) {
        try data.withUnsafeBytes { buffer in
            var reader = JSONReader(buffer)
            reader.skipSpace()
            guard reader.peek == UInt8(ascii: "{") else { throw reader.error("expected an object") }
            reader.index += 1
            var envelope: [String: JSONValue] = [:]
            var rows: [Result<JSONValue, UnreadableRow>]?
            reader.skipSpace()
            if reader.peek == UInt8(ascii: "}") {
                reader.index += 1
            } else {
                while true {
                    reader.skipSpace()
                    let name = try reader.string()
                    reader.skipSpace()
                    try reader.expect(UInt8(ascii: ":"))
                    reader.skipSpace()
                    if name == key, reader.peek == UInt8(ascii: "[") {
                        rows = try reader.tolerantRows()
                    } else {
                        envelope[name] = try reader.value(depth: 1)
                    }
                    reader.skipSpace()
                    if reader.peek == UInt8(ascii: ",") {
                        reader.index += 1
                        continue
                    }
                    try reader.expect(UInt8(ascii: "}"))
                    break
                }
            }
            try reader.end()
            return (.object(envelope), rows)
        }
    }
}

struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    func error(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func expect(_ byte: UInt8) throws {
        guard peek == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    mutating func end() throws {
        skipSpace()
        guard index == bytes.count else { throw error("unexpected text after the value") }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONValue.maximumDepth else { throw error("nested deeper than \(JSONValue.maximumDepth) levels") }
        skipSpace()
        guard let byte = peek else { throw error("unexpected end of the document") }
        switch byte {
        case UInt8(ascii: "{"):
            index += 1
            var object: [String: JSONValue] = [:]
            skipSpace()
            if peek == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            while true {
                skipSpace()
                let key = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                object[key] = try value(depth: depth + 1)
                skipSpace()
                if peek == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                return .object(object)
            }
        case UInt8(ascii: "["):
            index += 1
            var array: [JSONValue] = []
            skipSpace()
            if peek == UInt8(ascii: "]") {
                index += 1
                return .array(array)
            }
            while true {
                array.append(try value(depth: depth + 1))
                skipSpace()
                if peek == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "]"))
                return .array(array)
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of the document") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw error("unexpected character")
        }
        index += count
    }

    mutating func number() throws -> Double {
        let start = index
        if peek == UInt8(ascii: "-") { index += 1 }
        guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw error("a number needs a digit") }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            digits()
        }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw error("a fraction needs a digit") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw error("an exponent needs a digit") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            index = start
            throw error("number \(text.prefix(40)) is out of range")
        }
        return value
    }

    @discardableResult
    mutating func digits() -> Int {
        let start = index
        while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        // Fast path: no escapes.
        while let byte = peek, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw error("control character in a string") }
            index += 1
        }
        guard let stop = peek else { throw error("unterminated string") }
        if stop == UInt8(ascii: "\"") {
            let text = try utf8(start..<index)
            index += 1
            return text
        }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: try utf8(start..<index).unicodeScalars)
        while true {
            guard let byte = peek else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                index += 1
                guard let escape = peek else { throw error("unterminated string") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate in a \\u escape")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in a \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("\\u escape is not a character") }
                    scalars.append(scalar)
                default:
                    throw error("unknown escape")
                }
            default:
                let chunk = index
                while let next = peek, next != UInt8(ascii: "\""), next != UInt8(ascii: "\\") {
                    guard next >= 0x20 else { throw error("control character in a string") }
                    index += 1
                }
                scalars.append(contentsOf: try utf8(chunk..<index).unicodeScalars)
            }
        }
    }

    func utf8(_ range: Range<Int>) throws -> String {
        guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) else {
            throw JSONParseError(offset: range.lowerBound, reason: "a string holds bytes that are not UTF-8")
        }
        return text
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("short \\u escape") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("bad hex digit in a \\u escape")
            }
            code = code << 4 | digit
            index += 1
        }
        return code
    }

    /// The rows of an array one by one; a row that does not parse is skipped structurally and
    /// kept as an ``UnreadableRow``.
    mutating func tolerantRows() throws -> [Result<JSONValue, UnreadableRow>] {
        try expect(UInt8(ascii: "["))
        var rows: [Result<JSONValue, UnreadableRow>] = []
        skipSpace()
        if peek == UInt8(ascii: "]") {
            index += 1
            return rows
        }
        while true {
            skipSpace()
            let start = index
            do {
                rows.append(.success(try value(depth: 2)))
            } catch let failure as JSONParseError {
                index = start
                try skipValue()
                rows.append(.failure(UnreadableRow(bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), reason: failure.reason)))
            }
            skipSpace()
            if peek == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "]"))
            return rows
        }
    }

    /// Moves past one value without validating its text: brackets and strings only.
    mutating func skipValue() throws {
        var depth = 0
        repeat {
            guard let byte = peek else { throw error("unexpected end of the document") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                while true {
                    guard let next = peek else { throw error("unterminated string") }
                    index += 1
                    if next == UInt8(ascii: "\\") {
                        index += 1
                    } else if next == UInt8(ascii: "\"") {
                        break
                    }
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard depth > 0 else { throw error("unbalanced brackets") }
                depth -= 1
                index += 1
            case UInt8(ascii: ","):
                guard depth > 0 else { return }
                index += 1
            default:
                index += 1
            }
        } while depth > 0 || !(peek == UInt8(ascii: ",") || peek == UInt8(ascii: "]"))
    }
}
