import Foundation
import SyncEngine

/// OData system query options as the simulated OData services take them (SYSPRO OData, the SAP B1
/// Service Layer): `$filter` (eq ne gt ge lt le, and, or, not, parentheses; string, number,
/// boolean, null, date-time and date-only literals; the string functions `startswith(F,'x')`,
/// `endswith(F,'x')`, `contains(F,'x')` and v3's `substringof('x',F)`, optionally `eq true|false`,
/// as the SAP B1 Service Layer takes them), `$orderby` (`asc`/`desc`, several keys),
/// `$select`, `$top`, `$skip`. Properties are checked against the entity set's columns.
public struct ODataQuery: Sendable {
    public enum Literal: Equatable, Sendable {
        case string(String), number(Double), date(Date), bool(Bool), null
    }
    public indirect enum Filter: Sendable {
        case compare(String, String, Literal)
        /// A string function on a property: `startswith`, `endswith`, `contains` (`substringof`
        /// is read as `contains`), case-sensitive as SQL Server's default collation is not —
        /// the Service Layer on HANA is; the simulator follows HANA.
        case function(String, String, String)
        case and(Filter, Filter)
        case or(Filter, Filter)
        case not(Filter)
    }
    public struct QueryError: Error, Sendable {
        public var message: String
        /// The property the query named that the entity type does not have, so a simulator can
        /// word the refusal its own way (SAP: `Property 'X' of 'Document' is invalid`).
        public var property: String?
        public init(message: String, property: String? = nil) {
            self.message = message
            self.property = property
        }
        static func unknown(_ name: String) -> QueryError {
            QueryError(message: "Could not find a property named '\(name)' on the entity type.", property: name)
        }
    }

    public var filter: Filter?
    public var orderBy: [(String, Bool)] = []  // (property, descending)
    public var select: [String]?
    public var top: Int?
    public var skip: Int = 0

    /// Parses the query options of a request; `columns` are the entity set's properties.
    /// - Throws: ``QueryError`` naming the option or property that is wrong.
    /// - Parameter sqlLike: also accept `like(Column,'pattern')` (SQL `LIKE`: `%` any run, `_` one
    ///   character, case-insensitive): e.net's COMFND `LIKE` condition, never an OData client's.
    public init(_ request: (String) -> String?, columns: Set<String>, sqlLike: Bool = false) throws {
        if let text = request("$filter"), !text.trimmingCharacters(in: .whitespaces).isEmpty {
            var parser = FilterParser(text: text, columns: columns)
            parser.allowLike = sqlLike
            filter = try parser.parse()
        }
        if let text = request("$orderby") {
            for part in text.split(separator: ",") {
                let words = part.split(separator: " ").map(String.init)
                guard let name = words.first, columns.contains(name) else {
                    throw QueryError.unknown(part.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? "")
                }
                let direction = words.count > 1 ? words[1].lowercased() : "asc"
                guard direction == "asc" || direction == "desc" else {
                    throw QueryError(message: "Syntax error in $orderby: '\(direction)'.")
                }
                orderBy.append((name, direction == "desc"))
            }
        }
        if let text = request("$select") {
            let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for name in names where !columns.contains(name) && name != "*" {
                throw QueryError.unknown(name)
            }
            select = names.contains("*") ? nil : names
        }
        if let text = request("$top") {
            guard let value = Int(text), value >= 0 else { throw QueryError(message: "Invalid value '\(text)' for $top query option found.") }
            top = value
        }
        if let text = request("$skip") {
            guard let value = Int(text), value >= 0 else { throw QueryError(message: "Invalid value '\(text)' for $skip query option found.") }
            skip = value
        }
    }

    /// When the filter is `C eq 'a' or C eq 'b' …` on one column, that column and the values: the
    /// backend answers such look-ups from a hash index instead of a scan.
    public var equalitySet: (column: String, values: [String])? {
        guard let filter else { return nil }
        var column: String?
        var values: [String] = []
        func collect(_ f: Filter) -> Bool {
            switch f {
            case .or(let a, let b): return collect(a) && collect(b)
            case .compare(let c, "eq", .string(let v)):
                if column == nil { column = c }
                guard column == c else { return false }
                values.append(v)
                return true
            default: return false
            }
        }
        guard collect(filter), let column else { return nil }
        return (column, values)
    }

    public func matches(_ row: [String: JSONValue]) -> Bool {
        guard let filter else { return true }
        return Self.evaluate(filter, row)
    }

    public static func evaluate(_ filter: Filter, _ row: [String: JSONValue]) -> Bool {
        switch filter {
        case .and(let a, let b): return evaluate(a, row) && evaluate(b, row)
        case .or(let a, let b): return evaluate(a, row) || evaluate(b, row)
        case .not(let a): return !evaluate(a, row)
        case .function(let name, let column, let text):
            guard case .string(let value) = row[column] ?? .null else { return false }
            switch name {
            case "startswith": return value.hasPrefix(text)
            case "endswith": return value.hasSuffix(text)
            case "like": return sqlLike(value, text)
            default: return value.contains(text)
            }
        case .compare(let column, let op, let literal):
            guard let order = compare(row[column] ?? .null, literal) else {
                // null or type mismatch: only `ne` holds
                return op == "ne"
            }
            switch op {
            case "eq": return order == .orderedSame
            case "ne": return order != .orderedSame
            case "gt": return order == .orderedDescending
            case "ge": return order != .orderedAscending
            case "lt": return order == .orderedAscending
            case "le": return order != .orderedDescending
            default: return false
            }
        }
    }

    /// SQL Server's `LIKE` under a case-insensitive collation: `%` matches any run, `_` one
    /// character. Linear backtracking on the last `%` only, so no pattern can make it slow.
    public static func sqlLike(_ value: String, _ pattern: String) -> Bool {
        let text = Array(value.lowercased())
        let wanted = Array(pattern.lowercased())
        var t = 0, p = 0
        var star: Int?
        var resume = 0
        while t < text.count {
            if p < wanted.count, wanted[p] == "_" || (wanted[p] != "%" && wanted[p] == text[t]) {
                t += 1
                p += 1
            } else if p < wanted.count, wanted[p] == "%" {
                star = p
                resume = t
                p += 1
            } else if let at = star {
                p = at + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < wanted.count, wanted[p] == "%" { p += 1 }
        return p == wanted.count
    }

    /// Orders a field value against a literal; `nil` when they cannot be compared.
    static func compare(_ value: JSONValue, _ literal: Literal) -> ComparisonResult? {
        switch (value, literal) {
        case (.null, .null): return .orderedSame
        case (.string(let a), .string(let b)): return a == b ? .orderedSame : (a < b ? .orderedAscending : .orderedDescending)
        case (.number(let a), .number(let b)): return a == b ? .orderedSame : (a < b ? .orderedAscending : .orderedDescending)
        case (.bool(let a), .bool(let b)): return a == b ? .orderedSame : nil
        case (.string(let text), .date(let b)):
            guard let a = parseDate(text) else { return nil }
            return a == b ? .orderedSame : (a < b ? .orderedAscending : .orderedDescending)
        default: return nil
        }
    }

    /// Orders two field values for `$orderby` (nulls first, as SQL Server does).
    public static func order(_ a: JSONValue, _ b: JSONValue) -> ComparisonResult {
        switch (a, b) {
        case (.null, .null): return .orderedSame
        case (.null, _): return .orderedAscending
        case (_, .null): return .orderedDescending
        case (.number(let x), .number(let y)): return x == y ? .orderedSame : (x < y ? .orderedAscending : .orderedDescending)
        case (.string(let x), .string(let y)): return x == y ? .orderedSame : (x < y ? .orderedAscending : .orderedDescending)
        default: return .orderedSame
        }
    }

    public static func parseDate(_ text: String) -> Date? { SimDates.parse(text) }

    /// The filter with every literal passed through `transform` (a system's literal aliases,
    /// such as SAP's enum values `'S'` for `cSupplier`).
    public static func mapLiterals(_ filter: Filter, _ transform: (String, Literal) -> Literal) -> Filter {
        switch filter {
        case .compare(let column, let op, let literal): return .compare(column, op, transform(column, literal))
        case .and(let a, let b): return .and(mapLiterals(a, transform), mapLiterals(b, transform))
        case .or(let a, let b): return .or(mapLiterals(a, transform), mapLiterals(b, transform))
        case .not(let a): return .not(mapLiterals(a, transform))
        case .function: return filter
        }
    }
}

/// Recursive-descent parser for `$filter`.
private struct FilterParser {
    enum Token: Equatable { case word(String), string(String), open, close, comma, end }
    let columns: Set<String>
    var tokens: [Token] = []
    var position = 0
    let text: String

    init(text: String, columns: Set<String>) {
        self.text = text
        self.columns = columns
    }

    mutating func parse() throws -> ODataQuery.Filter {
        tokens = try tokenize(text)
        let result = try parseOr()
        guard tokens[position] == .end else { throw error("unexpected '\(describe(tokens[position]))'") }
        return result
    }

    func error(_ what: String) -> ODataQuery.QueryError {
        ODataQuery.QueryError(message: "Syntax error at position \(position) in '\(text)': \(what).")
    }

    func describe(_ token: Token) -> String {
        switch token {
        case .word(let w): w
        case .string(let s): "'\(s)'"
        case .open: "("
        case .close: ")"
        case .comma: ","
        case .end: "end of filter"
        }
    }

    mutating func parseOr() throws -> ODataQuery.Filter {
        var left = try parseAnd()
        while case .word(let w) = tokens[position], w == "or" {
            position += 1
            left = .or(left, try parseAnd())
        }
        return left
    }

    mutating func parseAnd() throws -> ODataQuery.Filter {
        var left = try parseUnary()
        while case .word(let w) = tokens[position], w == "and" {
            position += 1
            left = .and(left, try parseUnary())
        }
        return left
    }

    /// Limits that keep a request from exhausting the stack (parsing and evaluating recurse on
    /// parentheses, `not`, and the length of `and`/`or` chains): a real server refuses such
    /// filters too (IIS caps the URL; the OData library caps the node count).
    static let maximumNesting = 64
    static let maximumTerms = 1000
    var nesting = 0
    var terms = 0

    mutating func parseUnary() throws -> ODataQuery.Filter {
        if case .word("not") = tokens[position] {
            position += 1
            return .not(try nested { try $0.parseUnary() })
        }
        if tokens[position] == .open {
            position += 1
            let inner = try nested { try $0.parseOr() }
            guard tokens[position] == .close else { throw error("expected ')'") }
            position += 1
            return inner
        }
        terms += 1
        guard terms <= Self.maximumTerms else {
            throw ODataQuery.QueryError(message: "The query specified in the URI is not valid. The node count limit of \(Self.maximumTerms) comparisons has been exceeded.")
        }
        if case .word(let word) = tokens[position], Self.functions.contains(word.lowercased()) || (allowLike && word == "like"),
            tokens[position + 1] == .open
        {
            return try parseFunction(word.lowercased())
        }
        guard case .word(let column) = tokens[position] else { throw error("expected a property name") }
        guard columns.contains(column) else {
            throw ODataQuery.QueryError.unknown(column)
        }
        position += 1
        guard case .word(let op) = tokens[position], ["eq", "ne", "gt", "ge", "lt", "le"].contains(op) else {
            throw error("expected a comparison operator after '\(column)'")
        }
        position += 1
        let literal = try parseLiteral()
        return .compare(column, op, literal)
    }

    static let functions: Set<String> = ["startswith", "endswith", "contains", "substringof"]
    var allowLike = false

    /// `startswith(F,'x')`, `endswith(F,'x')`, `contains(F,'x')`, `substringof('x',F)`, each
    /// optionally compared with `eq true` / `eq false`.
    mutating func parseFunction(_ name: String) throws -> ODataQuery.Filter {
        position += 2  // the name and "("
        func column() throws -> String {
            guard case .word(let column) = tokens[position] else { throw error("expected a property name in \(name)()") }
            guard columns.contains(column) else {
                throw ODataQuery.QueryError.unknown(column)
            }
            position += 1
            return column
        }
        func text() throws -> String {
            guard case .string(let text) = tokens[position] else { throw error("expected a string literal in \(name)()") }
            position += 1
            return text
        }
        func comma() throws {
            guard tokens[position] == .comma else { throw error("expected ',' in \(name)()") }
            position += 1
        }
        let property: String
        let value: String
        if name == "substringof" {
            value = try text()
            try comma()
            property = try column()
        } else {
            property = try column()
            try comma()
            value = try text()
        }
        guard tokens[position] == .close else { throw error("expected ')' after \(name)(…)") }
        position += 1
        terms += 1
        let filter = ODataQuery.Filter.function(name == "substringof" ? "contains" : name, property, value)
        if case .word("eq") = tokens[position], case .word(let flag) = tokens[position + 1], flag == "true" || flag == "false" {
            position += 2
            return flag == "true" ? filter : .not(filter)
        }
        return filter
    }

    mutating func nested(_ body: (inout Self) throws -> ODataQuery.Filter) throws -> ODataQuery.Filter {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maximumNesting else {
            throw ODataQuery.QueryError(message: "The query specified in the URI is not valid. The limit of \(Self.maximumNesting) nested parentheses or 'not' has been exceeded.")
        }
        return try body(&self)
    }

    mutating func parseLiteral() throws -> ODataQuery.Literal {
        let token = tokens[position]
        position += 1
        switch token {
        case .string(let s): return .string(s)
        case .word(let w):
            if w == "null" { return .null }
            if w == "true" { return .bool(true) }
            if w == "false" { return .bool(false) }
            if w.count >= 10, w.first?.isNumber == true, w.contains("-"), let date = ODataQuery.parseDate(w) {
                return .date(date)
            }
            if let number = Double(w.trimmingCharacters(in: CharacterSet(charactersIn: "mMdDlLfF"))) { return .number(number) }
            throw error("'\(w)' is not a literal")
        default:
            throw error("expected a literal")
        }
    }

    func tokenize(_ text: String) throws -> [Token] {
        var result: [Token] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " { i += 1; continue }
            if c == "(" { result.append(.open); i += 1; continue }
            if c == ")" { result.append(.close); i += 1; continue }
            if c == "," { result.append(.comma); i += 1; continue }
            if c == "'" {
                var value = ""
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "'" {
                        if i + 1 < chars.count && chars[i + 1] == "'" { value.append("'"); i += 2; continue }
                        closed = true
                        i += 1
                        break
                    }
                    value.append(chars[i])
                    i += 1
                }
                guard closed else { throw ODataQuery.QueryError(message: "Unterminated string literal in '\(text)'.") }
                result.append(.string(value))
                continue
            }
            var word = ""
            while i < chars.count, chars[i] != " ", chars[i] != "(", chars[i] != ")", chars[i] != ",", chars[i] != "'" {
                word.append(chars[i])
                i += 1
            }
            result.append(.word(word))
        }
        result.append(.end)
        return result
    }
}
