import Foundation
import ProcoreClient
import SyncEngine

/// The Procore side of `serve`'s webhooks: one company-scoped hook per integration in the
/// `ml-connector` namespace, pointing at `<publicURL>/webhooks/<integration>` with the secret in
/// its `destination_headers`, and a trigger for each (resource, create/update) pair — made when
/// missing, corrected when its headers differ (a rotated secret), left alone when right
/// (procore.md §18: hooks, triggers, bulk triggers).
public enum ProcoreHooks {
    public static let namespace = "ml-connector"

    /// What `ensure` found and did, in words for the log.
    public struct Report: Sendable, Equatable {
        public var hookID: String
        public var created: Bool
        public var headersUpdated: Bool
        public var triggersAdded: Int
        public var triggersRefused: [String]
    }

    /// - Throws: ``SyncError`` from Procore's answers (403: the service account lacks the
    ///   Webhooks API permission).
    public static func ensure(
        procore: ProcoreClient, destination: String, header: String, secret: String, resources: [String], events: [String] = ["create", "update"]
    ) async throws -> Report {
        let company = String(procore.connection.companyID)
        let headers: JSONValue = [header: .string(header.lowercased() == "authorization" ? "Bearer \(secret)" : secret)]
        let hooks = try await procore.list(
            "/rest/v1.0/webhooks/hooks", query: [("company_id", company), ("namespace", namespace)], what: "the company's webhook hooks")
        var created = false
        var updated = false
        let hookID: String
        if let hook = hooks.first(where: { $0["destination_url"]?.stringValue == destination }), let id = hook["id"]?.scalarText {
            hookID = id
            if hook["destination_headers"] != headers {
                _ = try await procore.json(
                    "PATCH", "/rest/v1.0/webhooks/hooks/\(id)", query: [("company_id", company)],
                    body: ["company_id": .string(company), "hook": ["destination_headers": headers]], what: "the webhook hook's headers")
                updated = true
            }
        } else {
            let hook = try await procore.json(
                "POST", "/rest/v1.0/webhooks/hooks",
                body: ["company_id": .string(company), "hook": [
                    "api_version": "v2", "namespace": .string(namespace), "destination_url": .string(destination), "destination_headers": headers,
                ]], what: "a webhook hook")
            guard let id = hook["id"]?.scalarText, !id.isEmpty else { throw SyncError(.unexpectedResponse, "Procore created a webhook hook without an id") }
            hookID = id
            created = true
        }
        let existing = try await procore.list("/rest/v1.0/webhooks/hooks/\(hookID)/triggers", query: [("company_id", company)], what: "the hook's triggers")
        let have = Set(existing.compactMap { t in t["resource_name"]?.stringValue.map { "\($0)|\(t["event_type"]?.stringValue ?? "")" } })
        var missing: [JSONValue] = []
        for resource in resources {
            for event in events where !have.contains("\(resource)|\(event)") {
                missing.append(["resource_name": .string(resource), "event_type": .string(event)])
            }
        }
        var refused: [String] = []
        if !missing.isEmpty {
            let reply = try await procore.call(
                "POST", "/rest/v1.0/webhooks/hooks/\(hookID)/triggers/bulk",
                body: ["company_id": .string(company), "api_version": "v2", "triggers": .array(missing)])
            let answer = try ProcoreClient.decode(reply, what: "the hook's triggers")
            refused = (answer["failed"]?.arrayValue ?? []).map { "\($0["trigger"]?["resource_name"]?.stringValue ?? "?") \($0["trigger"]?["event_type"]?.stringValue ?? "?"): \($0["errors"]?.scalarText ?? "")" }
        }
        return Report(hookID: hookID, created: created, headersUpdated: updated, triggersAdded: missing.count - refused.count, triggersRefused: refused)
    }
}
