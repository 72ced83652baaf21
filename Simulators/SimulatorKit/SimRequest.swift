import Foundation
import SyncEngine

/// A request as a simulator backend sees it: no HTTP framework types, so backends stay testable on
/// their own and the same handler serves in-process and standalone runs.
public struct SimRequest: Sendable {
    public var method: String
    /// The path, percent-decoded, without the query.
    public var path: String
    /// The raw query string (without `?`), as the client sent it.
    public var rawQuery: String
    /// Query items, decoded (`+` and `%20` both become a space), in the order sent.
    public var query: [(name: String, value: String)]
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: Data
    /// `scheme://host:port` the client used, for absolute links.
    public var origin: String

    public init(
        method: String, path: String, rawQuery: String = "", headers: [String: String] = [:], body: Data = Data(),
        origin: String = "http://127.0.0.1"
    ) {
        self.method = method.uppercased()
        self.path = path
        self.rawQuery = rawQuery
        self.query = SimRequest.parseQuery(rawQuery)
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        self.body = body
        self.origin = origin
    }

    /// The first value of a query parameter (names compared exactly).
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// Every value of a repeated query parameter (`cost_code_id[]=1&cost_code_id[]=2`).
    public func queryValues(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }

    /// The first value of a query parameter, names compared case-insensitively (SYSPRO e.net).
    public func queryValueIgnoringCase(_ name: String) -> String? {
        let lower = name.lowercased()
        return query.first { $0.name.lowercased() == lower }?.value
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// Decodes `application/x-www-form-urlencoded` text into pairs.
    public static func parseQuery(_ raw: String) -> [(name: String, value: String)] {
        guard !raw.isEmpty else { return [] }
        return raw.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The body as a JSON value, or `nil` if it is not JSON.
    public func jsonBody() -> JSONValue? { try? JSONValue(parsing: body) }
}

/// What a simulator answers.
public struct SimResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data
    /// Close the connection after the head instead of sending the body (a fault).
    public var dropConnection = false

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> SimResponse {
        let data = value.jsonData()
        return SimResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: data)
    }

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> SimResponse {
        SimResponse(status: status, headers: [("Content-Type", contentType)], body: Data(text.utf8))
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.0.lowercased() == name.lowercased() }
        headers.append((name, value))
    }
}

/// A path pattern with `{name}` segments, e.g. `/rest/v1.0/purchase_order_contracts/{id}/line_items`.
public struct PathPattern: Sendable {
    let segments: [String]
    let caseInsensitive: Bool

    public init(_ pattern: String, caseInsensitive: Bool = false) {
        self.segments = pattern.split(separator: "/").map(String.init)
        self.caseInsensitive = caseInsensitive
    }

    /// The captured `{name}` values, or `nil` when the path does not match.
    public func match(_ path: String) -> [String: String]? {
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count == segments.count else { return nil }
        var captured: [String: String] = [:]
        for (pattern, part) in zip(segments, parts) {
            if pattern.hasPrefix("{") && pattern.hasSuffix("}") {
                captured[String(pattern.dropFirst().dropLast())] = part
            } else if caseInsensitive ? pattern.lowercased() != part.lowercased() : pattern != part {
                return nil
            }
        }
        return captured
    }
}

/// One entry of a simulator's route table.
public struct SimRoute: Sendable {
    public typealias Handler = @Sendable (SimRequest, [String: String]) async -> SimResponse
    public let method: String
    public let pattern: PathPattern
    public let handler: Handler

    public init(_ method: String, _ pattern: String, caseInsensitive: Bool = false, _ handler: @escaping Handler) {
        self.method = method
        self.pattern = PathPattern(pattern, caseInsensitive: caseInsensitive)
        self.handler = handler
    }
}

/// An ordered route table: the first route whose method and pattern match answers.
public struct RouteTable: Sendable {
    public var routes: [SimRoute]
    public init(_ routes: [SimRoute]) { self.routes = routes }

    /// - Returns: the answer of the matching route; `nil` when no path matches (a 404 for the
    ///   caller to shape); a 405 response when the path matches under another method.
    public func dispatch(_ request: SimRequest) async -> SimResponse? {
        var pathMatched = false
        for route in routes {
            guard let params = route.pattern.match(request.path) else { continue }
            pathMatched = true
            if route.method == request.method { return await route.handler(request, params) }
        }
        return pathMatched ? SimResponse(status: 405) : nil
    }
}
