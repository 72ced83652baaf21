import Foundation
import ProcoreSimulator
import SimulatorKit
import SyncEngine
import Testing

/// Procore's webhooks API and the delivery semantics (procore.md §18), with a real receiver on loopback.
@Suite(.serialized, .timeLimit(.minutes(3))) struct WebhookTests {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))

    func withProcore(_ body: @Sendable (SimulatorCore, WebhookReceiver, String, String) async throws -> Void) async throws {
        let (core, _) = ProcoreSimulator.makeCore(clock: clock)
        try await core.system.seed([
            "companies": [["id": 8, "name": "Acme"]],
            "apps": [["clientID": "cid", "clientSecret": "sec", "companyIDs": [8]]],
            "projects": [["id": 101, "company_id": 8, "name": "Tower", "project_number": "2301"]],
            "vendors": [["company_id": 8, "name": "Rebar Co", "origin_id": "SUP001"]],
        ])
        let receiver = WebhookReceiver()
        let receiverCore = SimulatorCore(system: receiver, clock: clock)
        try await SimulatorHost.withRunning([receiverCore]) { urls in
            let token = await core.respond(SimRequest(
                method: "POST", path: "/oauth/token", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: Data("grant_type=client_credentials&client_id=cid&client_secret=sec".utf8)))
            let bearer = try #require(JSONDecoder().decode(JSONValue.self, from: token.body)["access_token"]?.stringValue)
            try await body(core, receiver, bearer, urls["receiver"]! + "/hooks")
        }
    }

    func call(_ core: SimulatorCore, _ method: String, _ path: String, _ query: String = "", token: String, body: JSONValue? = nil) async -> (Int, JSONValue?) {
        var headers = ["Authorization": "Bearer \(token)", "Procore-Company-Id": "8"]
        var data = Data()
        if let body {
            headers["Content-Type"] = "application/json"
            data = try! JSONEncoder().encode(body)
        }
        let response = await core.respond(SimRequest(method: method, path: path, rawQuery: query, headers: headers, body: data))
        return (response.status, try? JSONDecoder().decode(JSONValue.self, from: response.body))
    }

    /// Creates a commitment and waits for the deliveries it set off, which run after the reply.
    func createCommitment(_ core: SimulatorCore, token: String, number: String) async -> Int {
        let status = await call(core, "POST", "/rest/v1.0/purchase_order_contracts", token: token,
                                body: ["project_id": 101, "purchase_order_contract": ["number": .string(number), "origin_id": .string("O-\(number)")]]).0
        await core.system.webhooks?.settle()
        return status
    }

    /// A hook to `url` with one trigger: commitments created.
    func hookOnCommitmentCreate(_ core: SimulatorCore, token: String, url: String) async throws -> Int64 {
        let (_, hook) = await call(core, "POST", "/rest/v1.0/webhooks/hooks", token: token,
                                   body: ["company_id": 8, "hook": ["destination_url": .string(url)]])
        let hookID = Int64(try #require(hook?["id"]?.doubleValue))
        _ = await call(core, "POST", "/rest/v1.0/webhooks/hooks/\(hookID)/triggers", token: token,
                       body: ["trigger": ["resource_name": "Purchase Order Contracts", "event_type": "create"]])
        return hookID
    }

    @Test func deliversProcorePayloadsWithTheHooksHeaders() async throws {
        try await withProcore { core, receiver, token, url in
            let (status, hook) = await call(core, "POST", "/rest/v1.0/webhooks/hooks", token: token, body: [
                "company_id": 8,
                "hook": ["api_version": "v2", "namespace": "ml-connector", "destination_url": .string(url),
                         "destination_headers": ["Authorization": "Bearer hook-secret"]],
            ])
            #expect(status == 201)
            let hookID = Int64(try #require(hook?["id"]?.doubleValue))
            let trigger: JSONValue = ["company_id": 8, "api_version": "v2", "trigger": ["resource_name": "Purchase Order Contracts", "event_type": "create"]]
            #expect(await call(core, "POST", "/rest/v1.0/webhooks/hooks/\(hookID)/triggers", token: token, body: trigger).0 == 201)
            #expect(await call(core, "POST", "/rest/v1.0/webhooks/hooks/\(hookID)/triggers", token: token, body: trigger).0 == 422)
            let bad: JSONValue = ["company_id": 8, "trigger": ["resource_name": "Nope", "event_type": "create"]]
            #expect(await call(core, "POST", "/rest/v1.0/webhooks/hooks/\(hookID)/triggers", token: token, body: bad).0 == 422)

            #expect(await createCommitment(core, token: token, number: "1") == 201)
            let delivery = try #require(receiver.accepted.first)
            #expect(delivery.headers["authorization"] == "Bearer hook-secret")
            let payload = try #require(delivery.body)
            #expect(payload["resource_name"] == "Purchase Order Contracts")
            #expect(payload["event_type"] == "create")
            #expect(payload["company_id"] == 8)
            #expect(payload["project_id"] == 101)
            #expect(payload["api_version"] == "v2.0")
            #expect(payload["ulid"]?.stringValue?.count == 26)
            #expect(payload["timestamp"]?.stringValue?.contains(".") == true)  // microseconds
            #expect((payload["id"]?.doubleValue ?? 0) > 4_294_967_296)

            let (_, log) = await call(core, "GET", "/rest/v1.0/webhooks/hooks/\(hookID)/deliveries", "company_id=8&filters%5Bstatus%5D=successful", token: token)
            #expect(log?.arrayValue?.count == 1)
            #expect(log?.arrayValue?.first?["outcome"] == "ok")
            #expect(log?.arrayValue?.first?["response_status"] == 204)
        }
    }

    @Test func failedDeliveriesPauseTheEndpointAndRetryOnTheLadder() async throws {
        try await withProcore { core, receiver, token, url in
            let hookID = try await hookOnCommitmentCreate(core, token: token, url: url)
            receiver.failNext(2)
            _ = await createCommitment(core, token: token, number: "1")
            _ = await createCommitment(core, token: token, number: "2")
            #expect(receiver.deliveries.count == 1)  // paused after the first failure
            let dispatcher = try #require(core.system.webhooks)
            await dispatcher.advance(clock, by: .seconds(1))
            #expect(receiver.deliveries.map(\.answered) == [500, 500])
            await dispatcher.advance(clock, by: .seconds(2))
            #expect(receiver.deliveries.map(\.answered) == [500, 500, 204, 204])
            let numbers = receiver.accepted.compactMap { $0.body?["resource_id"]?.doubleValue }
            #expect(numbers == numbers.sorted())  // per-endpoint order kept
            let (_, failing) = await call(core, "GET", "/rest/v1.0/webhooks/hooks/\(hookID)/deliveries", "filters%5Bstatus%5D=failing&page_size=1", token: token)
            #expect(failing?.arrayValue?.count == 1)
            let first = Int(try #require(failing?.arrayValue?.first?["id"]?.doubleValue))
            let (_, next) = await call(core, "GET", "/rest/v1.0/webhooks/hooks/\(hookID)/deliveries", "filters%5Bstatus%5D=failing&page_start=\(first)", token: token)
            #expect(next?.arrayValue?.count == 1)
        }
    }

    @Test func reorderAndDuplicateFaults() async throws {
        try await withProcore { core, receiver, token, url in
            _ = try await hookOnCommitmentCreate(core, token: token, url: url)
            _ = await core.respond(SimRequest(method: "POST", path: "/_sim/webhooks/hold", headers: ["Content-Type": "application/json"]))
            for n in 1...3 { _ = await createCommitment(core, token: token, number: String(n)) }
            #expect(receiver.deliveries.isEmpty)
            _ = await core.respond(SimRequest(method: "POST", path: "/_sim/webhooks/reorder", headers: ["Content-Type": "application/json"]))
            _ = await core.respond(SimRequest(method: "POST", path: "/_sim/webhooks/release", headers: ["Content-Type": "application/json"]))
            let ids = receiver.accepted.compactMap { $0.body?["resource_id"]?.doubleValue }
            #expect(ids.count == 3)
            #expect(ids == ids.sorted(by: >))
            _ = await core.respond(SimRequest(method: "POST", path: "/_sim/webhooks/duplicate", headers: ["Content-Type": "application/json"], body: Data(#"{"count":1}"#.utf8)))
            _ = await createCommitment(core, token: token, number: "4")
            let last = receiver.accepted.suffix(2).map { $0.body?["ulid"] }
            #expect(last[0] == last[1])
        }
    }
}
