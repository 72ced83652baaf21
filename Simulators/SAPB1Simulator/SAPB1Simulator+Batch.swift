import Foundation
import SimulatorKit
import SyncEngine

/// `POST /$batch` as the Service Layer answers it (sapb1.md §7): a `multipart/mixed` body of
/// `application/http` parts, each a request with an absolute path, and change sets nested as
/// `multipart/mixed` parts that succeed or fail as one. v1 answers 202, v2 200; the answer is
/// `multipart/mixed;boundary=batchresponse_<uuid>` with one part per request, change-set answers
/// nested under `changesetresponse_<uuid>` (written `Content-Type: multipart/mixed; boundary=…`
/// with the space one published client needs) echoing each `Content-ID`. Processing stops at the
/// first failing part; a failed change set is rolled back and answered by one error part. A body
/// that is not a batch is 400 -1000 `Incomplete Batch Request Body!`.
extension SAPB1Simulator {
    /// Most parts one batch may carry; a bigger one is refused as malformed rather than run.
    static let maximumBatchParts = 1_000

    struct BatchPart {
        var headers: [String: String]
        var content: String
    }

    struct InnerRequest {
        var method: String
        var target: String
        var headers: [String: String]
        var body: String
        var contentID: String?
    }

    enum BatchItem {
        case single(InnerRequest)
        case changeSet([InnerRequest])
    }

    struct Malformed: Error { var text = "Incomplete Batch Request Body!" }

    func batch(_ request: SimRequest, company: String, root: String, v4: Bool) async -> SimResponse {
        let items: [BatchItem]
        do {
            guard let type = request.header("content-type"), let boundary = Self.boundary(type), type.lowercased().hasPrefix("multipart/mixed") else {
                throw Malformed()
            }
            items = try Self.parseBatch(String(decoding: request.body, as: UTF8.self), boundary: boundary, v4: v4)
        } catch let malformed as Malformed {
            return Self.error(400, code: -1000, malformed.text, v4: v4)
        } catch {
            return Self.error(400, code: -1000, "Incomplete Batch Request Body!", v4: v4)
        }
        let outer = "batchresponse_" + UUID().uuidString.lowercased()
        var out = ""
        batchLoop: for item in items {
            switch item {
            case .single(let inner):
                let reply = await run(inner, outer: request, references: [:])
                out += "--\(outer)\r\n" + Self.httpPart(reply, contentID: inner.contentID)
                if reply.status >= 400 { break batchLoop }
            case .changeSet(let requests):
                let saved = await backend.snapshot()
                var references: [String: String] = [:]
                var answers: [(SimResponse, String?)] = []
                var failed: (SimResponse, String?)?
                for inner in requests {
                    let reply = await run(inner, outer: request, references: references)
                    if reply.status >= 400 {
                        failed = (reply, inner.contentID)
                        break
                    }
                    if let id = inner.contentID, let location = reply.header("Location"), let path = URL(string: location)?.path {
                        references[id] = path
                    }
                    answers.append((reply, inner.contentID))
                }
                if let (reply, id) = failed {
                    await backend.restore(saved)
                    out += "--\(outer)\r\n" + Self.httpPart(reply, contentID: id)
                    break batchLoop
                }
                let inner = "changesetresponse_" + UUID().uuidString.lowercased()
                out += "--\(outer)\r\nContent-Type: multipart/mixed; boundary=\(inner)\r\n\r\n"
                for (reply, id) in answers { out += "--\(inner)\r\n" + Self.httpPart(reply, contentID: id) }
                out += "--\(inner)--\r\n"
            }
        }
        out += "--\(outer)--\r\n"
        var response = SimResponse(status: v4 ? 200 : 202, headers: [("Content-Type", "multipart/mixed;boundary=\(outer)")], body: Data(out.utf8))
        response.setHeader(v4 ? "OData-Version" : "DataServiceVersion", v4 ? "4.0" : "3.0")
        return response
    }

    /// One inner request run as if sent alone, with the batch's session cookie; `$<Content-ID>`
    /// at the start of its path names an entity created earlier in the same change set.
    func run(_ inner: InnerRequest, outer: SimRequest, references: [String: String]) async -> SimResponse {
        var target = inner.target
        if let url = URL(string: target), url.scheme != nil { target = url.path + (url.query.map { "?" + $0 } ?? "") }
        // `$1`, `/b1s/v1/$1` or `$1/DocumentLines`: the reference replaces the root and the `$id`
        for root in ["/b1s/v1/", "/b1s/v2/", "/", ""] where target.hasPrefix(root + "$") && !target.hasPrefix(root + "$batch") {
            let rest = target.dropFirst(root.count + 1)
            let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            let id = String(rest[..<end])
            guard let path = references[id] else {
                return Self.error(400, code: -1000, "Content-ID '\(id)' does not name an entity created earlier in this change set", v4: target.hasPrefix("/b1s/v2/"))
            }
            target = path + rest[end...]
            break
        }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var headers = inner.headers
        if headers["cookie"] == nil, let cookie = outer.header("cookie") { headers["cookie"] = cookie }
        let path = String(parts[0]).removingPercentEncoding ?? String(parts[0])
        let sub = SimRequest(method: inner.method, path: path, rawQuery: parts.count > 1 ? String(parts[1]) : "", headers: headers,
                             body: Data(inner.body.utf8), origin: outer.origin)
        if path.hasSuffix("/$batch") { return Self.error(400, code: -1000, "Incomplete Batch Request Body!", v4: false) }
        return await handle(sub)
    }

    /// An answer as an `application/http` part.
    static func httpPart(_ reply: SimResponse, contentID: String?) -> String {
        var text = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        if let contentID { text += "Content-ID: \(contentID)\r\n" }
        text += "\r\nHTTP/1.1 \(reply.status) \(reason(reply.status))\r\n"
        for (name, value) in reply.headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        if !reply.body.isEmpty { text += String(decoding: reply.body, as: UTF8.self) + "\r\n" }
        return text
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 412: "Precondition Failed"
        default: "Status \(status)"
        }
    }

    /// The `boundary` parameter of a content type, quotes removed; headers compared
    /// case-insensitively and with or without spaces.
    static func boundary(_ contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }

    /// The parts between `--boundary` lines up to the closing `--boundary--`; line ends CRLF or LF.
    static func parts(_ text: String, boundary: String) throws -> [BatchPart] {
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        var parts: [[String]] = []
        var current: [String]?
        var closed = false
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "--\(boundary)--" {
                if let current { parts.append(current) }
                closed = true
                break
            }
            if trimmed == "--\(boundary)" {
                if let current { parts.append(current) }
                current = []
                guard parts.count < maximumBatchParts else { throw Malformed() }
            } else if current != nil {
                current!.append(line)
            }
        }
        guard closed, !parts.isEmpty else { throw Malformed() }
        return try parts.map { lines in
            guard let blank = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) else { throw Malformed() }
            var headers: [String: String] = [:]
            for line in lines[..<blank] {
                guard let colon = line.firstIndex(of: ":") else { throw Malformed() }
                headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let content = lines[(blank + 1)...].joined(separator: "\n").trimmingCharacters(in: .newlines)
            return BatchPart(headers: headers, content: content)
        }
    }

    /// The request an `application/http` part carries: request line, headers, blank line, body.
    static func innerRequest(_ part: BatchPart) throws -> InnerRequest {
        guard part.headers["content-type"]?.lowercased().hasPrefix("application/http") == true else { throw Malformed() }
        var lines = part.content.components(separatedBy: "\n")[...]
        guard let first = lines.popFirst() else { throw Malformed() }
        let words = first.split(separator: " ")
        guard words.count >= 2, ["GET", "POST", "PATCH", "PUT", "MERGE", "DELETE"].contains(words[0].uppercased()) else { throw Malformed() }
        var headers: [String: String] = [:]
        while let line = lines.first, !line.trimmingCharacters(in: .whitespaces).isEmpty {
            lines.removeFirst()
            guard let colon = line.firstIndex(of: ":") else { throw Malformed() }
            headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = lines.dropFirst().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        return InnerRequest(method: words[0].uppercased(), target: String(words[1]), headers: headers, body: body,
                            contentID: part.headers["content-id"] ?? headers["content-id"])
    }

    static func parseBatch(_ text: String, boundary: String, v4: Bool) throws -> [BatchItem] {
        try parts(text, boundary: boundary).map { part in
            let type = part.headers["content-type"] ?? ""
            guard type.lowercased().hasPrefix("multipart/mixed") else { return .single(try innerRequest(part)) }
            guard let inner = Self.boundary(type) else { throw Malformed() }
            let requests = try parts(part.content, boundary: inner).map(innerRequest)
            for request in requests {
                guard request.method != "GET" else { throw Malformed(text: "A change set cannot contain a GET request") }
                if v4 && request.contentID == nil { throw Malformed(text: "Content-ID is required for each request in a change set") }
            }
            return .changeSet(requests)
        }
    }
}
