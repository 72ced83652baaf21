import Foundation
import SimulatorKit
import SyncEngine

/// Procore's webhooks API: hooks (destination + headers, scoped to a company or a project),
/// triggers (resource name, event type) and the events a change to a subscribed resource makes.
struct ProcoreHook: Sendable {
    var id: Int64
    var companyID: Int64
    var projectID: Int64?
    var namespace: String
    var apiVersion: String
    var destinationURL: String
    var destinationHeaders: [String: String]
}

struct ProcoreTrigger: Sendable {
    var id: Int64
    var hookID: Int64
    var resourceName: String
    var eventType: String
}

/// A change the backend made, waiting to be turned into deliveries.
struct ProcoreChange: Sendable {
    var resourceName: String
    var eventType: String
    var resourceID: Int64
    var companyID: Int64
    var projectID: Int64?
    var at: Date
}

extension ProcoreBackend {
    /// The resources this simulator emits events for, with the events each offers.
    static let webhookResources: [(name: String, project: Bool, events: [String])] = [
        ("Purchase Order Contracts", true, ["create", "update", "delete"]),
        ("Purchase Order Contract Line Items", true, ["create", "update", "delete"]),
        ("Cost Codes", true, ["create", "update", "delete"]),
        ("Budget Line Items", true, ["create", "update", "delete"]),
        ("Company Vendors", false, ["create", "update"]),
        ("Change Order Packages", true, ["create", "update", "delete"]),
        ("Direct Costs", true, ["create", "update", "delete"]),
        ("Contract Payments", true, ["create", "update", "delete"]),
    ]

    func emit(_ resource: String, _ event: String, id: Int64, company: Int64, project: Int64?) {
        changes.append(ProcoreChange(resourceName: resource, eventType: event, resourceID: id, companyID: company, projectID: project, at: now))
    }

    func json(_ hook: ProcoreHook) -> JSONValue {
        [
            "id": JSONValue(id: hook.id), "api_version": .string(hook.apiVersion), "namespace": .string(hook.namespace),
            "destination_url": .string(hook.destinationURL),
            "destination_headers": .object(hook.destinationHeaders.mapValues { .string($0) }),
            "owned_by_company_id": hook.projectID == nil ? JSONValue(id: hook.companyID) : nil,
            "owned_by_project_id": JSONValue(id: hook.projectID), "owned_by_user_id": 160586,
        ]
    }

    func json(_ trigger: ProcoreTrigger) -> JSONValue {
        let hook = hooks[trigger.hookID]
        return [
            "id": JSONValue(id: trigger.id), "webhook_hook_id": JSONValue(id: trigger.hookID),
            "resource_name": .string(trigger.resourceName), "event_type": .string(trigger.eventType),
            "company_id": JSONValue(id: hook?.projectID == nil ? hook?.companyID : nil), "project_id": JSONValue(id: hook?.projectID),
            "user_id": 160586,
        ]
    }

    func createHook(company: Int64, project: Int64?, body: [String: JSONValue]) throws -> JSONValue {
        var errors: [String: [String]] = [:]
        guard let url = body["destination_url"]?.stringValue, let parsed = URL(string: url), parsed.scheme != nil, parsed.host != nil else {
            throw ProcoreError.unprocessable(["destination_url": ["is invalid"]])
        }
        let namespace = body["namespace"]?.stringValue ?? "default"
        if namespace.isEmpty || !namespace.allSatisfy({ ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "-" }) {
            errors["namespace"] = ["must be lowercase letters, digits and dashes"]
        }
        let version = body["api_version"]?.stringValue ?? "v2"
        if !["v2", "v3", "v4", "v2.0", "v3.0", "v4.0"].contains(version) { errors["api_version"] = ["is not supported"] }
        if !errors.isEmpty { throw ProcoreError.unprocessable(errors) }
        var headers: [String: String] = [:]
        for (name, value) in body["destination_headers"]?.objectValue ?? [:] { headers[name] = value.stringValue ?? "" }
        let hook = ProcoreHook(
            id: newID(), companyID: company, projectID: project, namespace: namespace, apiVersion: version, destinationURL: url,
            destinationHeaders: headers)
        hooks[hook.id] = hook
        return json(hook)
    }

    func hook(_ text: String, company: Int64?) throws -> ProcoreHook {
        guard let id = Int64(text), let hook = hooks[id], company == nil || hook.companyID == company else {
            throw ProcoreError.notFound("Webhook hook \(text) not found")
        }
        return hook
    }

    func listHooks(company: Int64, project: Int64?, namespace: String?) -> [JSONValue] {
        hooks.values.filter { $0.companyID == company && $0.projectID == project && (namespace == nil || $0.namespace == namespace) }
            .sorted { $0.id < $1.id }.map(json)
    }

    func updateHook(_ id: Int64, body: [String: JSONValue]) throws -> JSONValue {
        guard var hook = hooks[id] else { throw ProcoreError.notFound("Webhook hook \(id) not found") }
        if let url = body["destination_url"]?.stringValue { hook.destinationURL = url }
        if let headers = body["destination_headers"]?.objectValue { hook.destinationHeaders = headers.mapValues { $0.stringValue ?? "" } }
        if let version = body["api_version"]?.stringValue { hook.apiVersion = version }
        hooks[id] = hook
        return json(hook)
    }

    func deleteHook(_ id: Int64) {
        hooks[id] = nil
        triggers = triggers.filter { $0.value.hookID != id }
    }

    func createTrigger(hook: ProcoreHook, body: [String: JSONValue]) throws -> JSONValue {
        guard let resource = body["resource_name"]?.stringValue,
            let known = Self.webhookResources.first(where: { $0.name == resource })
        else { throw ProcoreError.unprocessable(["resource_name": ["is not a webhook resource"]]) }
        guard let event = body["event_type"]?.stringValue, known.events.contains(event) else {
            throw ProcoreError.unprocessable(["event_type": ["is not offered for \(resource)"]])
        }
        if !known.project && hook.projectID != nil {
            throw ProcoreError.unprocessable(["resource_name": ["is a company-level resource; use a company hook"]])
        }
        if triggers.values.contains(where: { $0.hookID == hook.id && $0.resourceName == resource && $0.eventType == event }) {
            throw ProcoreError.unprocessable(["base": ["Trigger already exists for this resource and event type"]])
        }
        let trigger = ProcoreTrigger(id: newID(), hookID: hook.id, resourceName: resource, eventType: event)
        triggers[trigger.id] = trigger
        return json(trigger)
    }

    func listTriggers(hook: Int64) -> [JSONValue] {
        triggers.values.filter { $0.hookID == hook }.sorted { $0.id < $1.id }.map(json)
    }

    func deleteTrigger(hook: Int64, _ text: String) throws {
        guard let id = Int64(text), triggers[id]?.hookID == hook else { throw ProcoreError.notFound("Trigger \(text) not found") }
        triggers[id] = nil
    }

    func resourceCatalogue() -> [JSONValue] {
        Self.webhookResources.map { resource in
            let all = ["create", "update", "delete"]
            return [
                "api_version": "v2", "product_category": "Financials", "tools": .string(resource.name),
                "resource_name": .string(resource.name), "except": .array(all.filter { !resource.events.contains($0) }.map { .string($0) }),
            ]
        }
    }

    /// Turns the changes made since the last call into events for every hook that has a matching
    /// trigger in scope.
    func drainEvents() -> [WebhookEvent] {
        let pending = changes
        changes = []
        var events: [WebhookEvent] = []
        for change in pending {
            for trigger in triggers.values.sorted(by: { $0.id < $1.id })
            where trigger.resourceName == change.resourceName && trigger.eventType == change.eventType {
                guard let hook = hooks[trigger.hookID], hook.companyID == change.companyID else { continue }
                if let project = hook.projectID, project != change.projectID { continue }
                events.append(WebhookEvent(
                    id: Int64(bitPattern: random.next() >> 1), hookID: hook.id, url: hook.destinationURL,
                    headers: hook.destinationHeaders, payload: payload(change, hook: hook), enqueuedAt: change.at))
            }
        }
        return events
    }

    /// The delivered body in the hook's `api_version` (v2 legacy shape by default).
    func payload(_ change: ProcoreChange, hook: ProcoreHook) -> JSONValue {
        let stamp = ProcoreTime.microseconds(change.at)
        let ulid = Self.ulid(change.at, random: random.next())
        if hook.apiVersion.hasPrefix("v4") {
            return [
                "id": .string(ulid), "timestamp": .string(stamp), "reason": .string(change.eventType),
                "company_id": .string(String(change.companyID)), "project_id": change.projectID.map { .string(String($0)) } ?? nil,
                "user_id": "160586", "resource_type": .string(change.resourceName), "resource_id": .string(String(change.resourceID)),
            ]
        }
        var body: [String: JSONValue] = [
            "id": .number(Double(random.next() >> 12)), "ulid": .string(ulid), "timestamp": .string(stamp),
            "event_type": .string(change.eventType), "resource_name": .string(change.resourceName),
            "resource_id": JSONValue(id: change.resourceID), "company_id": JSONValue(id: change.companyID),
            "project_id": JSONValue(id: change.projectID), "user_id": 160586,
            "api_version": hook.apiVersion.hasPrefix("v3") ? "v3.0" : "v2.0",
            "metadata": [
                "source_user_id": 160586, "source_company_id": JSONValue(id: change.companyID),
                "source_project_id": JSONValue(id: change.projectID), "source_application_id": nil, "source_operation_id": nil,
            ],
        ]
        if hook.apiVersion.hasPrefix("v3") { body["related_resources"] = [] }
        return .object(body)
    }

    /// A ULID: 48 bits of milliseconds and 80 random bits in Crockford base 32.
    static func ulid(_ date: Date, random: UInt64) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var time = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var head: [Character] = []
        for _ in 0..<10 {
            head.insert(alphabet[Int(time % 32)], at: 0)
            time /= 32
        }
        var bits = random
        var tail: [Character] = []
        for index in 0..<16 {
            if index == 12 { bits = random &* 0x9E37_79B9_7F4A_7C15 }
            tail.append(alphabet[Int(bits % 32)])
            bits /= 32
        }
        return String(head + tail)
    }
}
