import ClientKit
import Foundation
import ProcoreClient
import SyncEngine

/// Reads a Procore list project by project — Procore scopes commitments, change orders, direct
/// costs and invoices to one `project_id` per call — from a watermark on `filters[updated_at]`
/// (less an overlap), following `Link: rel="next"`. The cursor is `<project index>|<next link>`;
/// records carry no watermark of their own: the last page of the last project completes the
/// watermark at the time the read began, so a crash halfway reads every project again. The
/// flows of Procore as a source (002, 003) share it.
public struct ProcoreProjectReader: Sendable {
    public let procore: ProcoreClient
    public let projects: [Int64]
    public let overlapMinutes: Int
    public let pageSize: Int
    public let clock: any SyncClock

    public init(procore: ProcoreClient, projects: [Int64], overlapMinutes: Int, pageSize: Int, clock: any SyncClock) {
        self.procore = procore
        self.projects = projects
        self.overlapMinutes = overlapMinutes
        self.pageSize = pageSize
        self.clock = clock
    }

    /// Every configured project is in the connection's company (the service account sees it):
    /// checked before anything else is asked of Procore for them.
    /// - Throws: `.invalidConfig` naming the first project that is not.
    public func checkProjects() async throws {
        guard !projects.isEmpty else {
            throw SyncError(.invalidConfig, "settings.projects is empty: name the Procore projects this integration covers")
        }
        let company = procore.connection.companyID
        let listed = try await procore.list("/rest/v1.0/projects", query: [("company_id", String(company))], what: "the projects of company \(company)")
        let ids = Set(listed.compactMap { $0["id"].flatMap(Self.int64) })
        if let missing = projects.first(where: { !ids.contains($0) }) {
            throw SyncError(.invalidConfig, "Procore project \(missing) is not in company \(company) (or the service account cannot see it); fix settings.projects or the connection's companyId")
        }
    }

    static func cursor(_ text: String?) -> (Int, String?) {
        guard let text, let bar = text.firstIndex(of: "|"), let index = Int(text[..<bar]) else { return (0, nil) }
        let link = String(text[text.index(after: bar)...])
        return (index, link.isEmpty ? nil : link)
    }

    static func int64(_ value: JSONValue) -> Int64? {
        if let n = value.doubleValue, n == n.rounded() { return Int64(n) }
        return value.stringValue.flatMap { Int64($0) }
    }

    /// One page.
    /// - Parameters:
    ///   - started: when this entity's read began (the watermark the last page completes).
    ///   - list: the list's path and query for a project (`project_id`, status filters).
    ///   - keep: whether a listed item is one to sync (approved, …).
    ///   - detail: the record as planning needs it, from its list item (lines fetched, …).
    public func page(
        _ entity: FlowEntity, since watermark: String?, cursor: String?, started: String,
        list: @Sendable (Int64) -> (String, [(String, String)]), keep: @Sendable (JSONValue) -> Bool,
        detail: @Sendable (_ id: Int64, _ project: Int64, _ item: JSONValue) async throws -> JSONValue
    ) async throws -> SourcePage {
        let (index, link) = Self.cursor(cursor)
        guard index < projects.count else { return SourcePage(records: [], next: nil, completes: started) }
        let project = projects[index]
        let reply: HTTPReply
        if let link {
            reply = try await procore.call("GET", link)
        } else {
            var (path, query) = list(project)
            if let since = watermark.flatMap({ try? Date($0, strategy: .iso8601) }) {
                let from = since.addingTimeInterval(-Double(overlapMinutes) * 60).formatted(.iso8601)
                query.append(("filters[updated_at]", "\(from)...\(clock.now().addingTimeInterval(86_400).formatted(.iso8601))"))
            }
            reply = try await procore.call("GET", path, query: query + [("per_page", String(pageSize))])
        }
        guard let items = try ProcoreClient.decode(reply, what: "\(entity.name) of project \(project)").arrayValue else {
            throw SyncError(.unexpectedResponse, "Procore answered the \(entity.name) of project \(project) with something that is not a list")
        }
        var records: [SourceRecord] = []
        for item in items {
            guard let id = item["id"].flatMap(Self.int64) else {
                records.append(SourceRecord(id: SourceRecord.unreadableID(entity: entity.name, row: item), payload: item, watermark: nil))
                continue
            }
            guard keep(item) else { continue }
            records.append(SourceRecord(id: String(id), payload: try await detail(id, project, item), watermark: nil))
        }
        let next = items.isEmpty ? nil : ProcoreClient.nextLink(reply.header("Link"))
        if let next { return SourcePage(records: records, next: "\(index)|\(next)") }
        if index + 1 < projects.count { return SourcePage(records: records, next: "\(index + 1)|") }
        return SourcePage(records: records, next: nil, completes: started)
    }
}
