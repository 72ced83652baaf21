import Foundation
import SyncEngine

/// Loads a Procore data set:
/// `{"companies":[{"id":8,"name":"…"}], "apps":[{"clientID":"…","clientSecret":"…","companyIDs":[8]}],
///   "lineItemTypes":[{"name":"Materials","code":"M","base_type":"material"}],
///   "projects":[{"id":101,"company_id":8,"name":"…","project_number":"2301","origin_id":"JOB-2301",
///                "cost_codes":[{"full_code":"03-300","name":"…","budget":250000.0}],
///                "direct_costs":[…], "commitments":[…]}],   (see addDirectCost, seedCommitment)
///   "vendors":[{"company_id":8,"name":"…","origin_id":"SUP01"}],
///   "refreshTokens":[{"token":"…","clientID":"…"}], "authorizationCodes":[{"code":"…","clientID":"…","redirectURI":"…"}],
///   "settings":{…}}`.
enum ProcoreSeed {
    struct SeedError: Error, CustomStringConvertible { var description: String }

    static func load(_ data: JSONValue, into backend: ProcoreBackend) async throws {
        if let raw = data["settings"] { await backend.setSettings(try raw.applied(to: await backend.settings)) }
        for company in data["companies"]?.arrayValue ?? [] {
            guard let id = company["id"].flatMap(ProcoreBackend.int64), let name = company["name"]?.stringValue else {
                throw SeedError(description: "companies[]: id and name are required")
            }
            await backend.addCompany(id: id, name: name)
        }
        if let apps = data["apps"] {
            for app in try JSONDecoder().decode([ProcoreApp].self, from: JSONEncoder().encode(apps)) { await backend.addApp(app) }
        }
        // user-level OAuth: refresh tokens a client already holds, authorization codes as consent returns them
        for grant in data["refreshTokens"]?.arrayValue ?? [] {
            guard let token = grant["token"]?.stringValue, let client = grant["clientID"]?.stringValue else {
                throw SeedError(description: "refreshTokens[]: token and clientID are required")
            }
            await backend.addRefreshToken(token, clientID: client)
        }
        for grant in data["authorizationCodes"]?.arrayValue ?? [] {
            guard let code = grant["code"]?.stringValue, let client = grant["clientID"]?.stringValue else {
                throw SeedError(description: "authorizationCodes[]: code and clientID are required")
            }
            await backend.addAuthorizationCode(code, clientID: client, redirectURI: grant["redirectURI"]?.stringValue ?? "urn:ietf:wg:oauth:2.0:oob")
        }
        var firstType: Int64?
        for type in data["lineItemTypes"]?.arrayValue ?? [] {
            let id = await backend.addLineItemType(
                name: type["name"]?.stringValue ?? "Materials", code: type["code"]?.stringValue ?? "M",
                baseType: type["base_type"]?.stringValue ?? "material")
            firstType = firstType ?? id
        }
        var pendingDirectCosts: [(Int64, JSONValue)] = []  // after the vendors they name
        var pendingCommitments: [(Int64, JSONValue)] = []
        for project in data["projects"]?.arrayValue ?? [] {
            guard let company = project["company_id"].flatMap(ProcoreBackend.int64), let name = project["name"]?.stringValue,
                let number = project["project_number"]?.stringValue
            else { throw SeedError(description: "projects[]: company_id, name and project_number are required") }
            let id = await backend.addProject(
                companyID: company, name: name, number: number, originID: project["origin_id"]?.stringValue,
                id: project["id"].flatMap(ProcoreBackend.int64))
            if project["active"]?.boolValue == false { _ = await backend.setProjectActive(number: number, active: false) }
            for code in project["cost_codes"]?.arrayValue ?? [] {
                guard let full = code["full_code"]?.stringValue else { throw SeedError(description: "cost_codes[]: full_code is required") }
                let codeID = try await backend.addCostCode(
                    projectID: id, fullCode: full, name: code["name"]?.stringValue ?? full, originID: code["origin_id"]?.stringValue)
                if let budget = Money.parse(code["budget"]), let type = firstType {
                    try await backend.addBudget(projectID: id, costCodeID: codeID, lineItemTypeID: type, amount: budget)
                }
            }
            for period in project["billing_periods"]?.arrayValue ?? [] {
                guard let start = period["start_date"]?.stringValue, let end = period["end_date"]?.stringValue else {
                    throw SeedError(description: "billing_periods[]: start_date and end_date are required")
                }
                try await backend.addBillingPeriod(projectID: id, start: start, end: end, due: period["due_date"]?.stringValue ?? end,
                                                   status: period["status"]?.stringValue ?? "open")
            }
            pendingDirectCosts += (project["direct_costs"]?.arrayValue ?? []).map { (id, $0) }
            pendingCommitments += (project["commitments"]?.arrayValue ?? []).map { (id, $0) }
        }
        for vendor in data["vendors"]?.arrayValue ?? [] {
            guard let company = vendor["company_id"].flatMap(ProcoreBackend.int64), let name = vendor["name"]?.stringValue else {
                throw SeedError(description: "vendors[]: company_id and name are required")
            }
            await backend.addVendor(companyID: company, name: name, originID: vendor["origin_id"]?.stringValue,
                                    originCode: vendor["origin_code"]?.stringValue)
        }
        for (project, cost) in pendingDirectCosts { try await backend.addDirectCost(projectID: project, seed: cost) }
        for (project, commitment) in pendingCommitments { try await backend.seedCommitment(projectID: project, seed: commitment) }
    }
}
