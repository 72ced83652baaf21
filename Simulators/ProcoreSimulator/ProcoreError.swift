import Foundation
import SimulatorKit
import SyncEngine

/// Errors in Procore's own v1 shapes (`{"errors": …}`; OAuth errors in Doorkeeper's shape).
enum ProcoreError: Error, Equatable {
    case invalidClient
    case unsupportedGrant(String)
    case invalidRequest(String)
    case invalidGrant
    case tokenInvalid(String)  // "The access token expired" / "…is invalid" / "…was revoked"
    case missingCompanyHeader
    case appNotConnected
    case notFound(String)
    case badRequest(String)
    case unprocessable([String: [String]])
    case rateLimited(reset: Int, retryAfter: Int)

    var response: SimResponse {
        switch self {
        case .invalidClient:
            return .json(401, [
                "error": "invalid_client",
                "error_description":
                    "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
            ])
        case .unsupportedGrant(let grant):
            return .json(400, [
                "error": "unsupported_grant_type",
                "error_description": .string("The authorization grant type '\(grant)' is not supported by the authorization server."),
            ])
        case .invalidRequest(let what):
            return .json(400, ["error": "invalid_request", "error_description": .string(what)])
        case .invalidGrant:
            // Doorkeeper's text for a used, unknown, revoked or foreign refresh token or code.
            return .json(400, [
                "error": "invalid_grant",
                "error_description": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
            ])
        case .tokenInvalid(let description):
            var response = SimResponse.json(401, ["errors": .string(description)])
            response.setHeader(
                "WWW-Authenticate", "Bearer realm=\"Doorkeeper\", error=\"invalid_token\", error_description=\"\(description)\"")
            return response
        case .missingCompanyHeader:
            return .json(400, ["errors": "Missing Procore-Company-Id header!"])
        case .appNotConnected:
            return .json(403, ["errors": "App is not connected to this company"])
        case .notFound(let what):
            return .json(404, ["errors": .string(what)])
        case .badRequest(let what):
            return .json(400, ["errors": .string(what)])
        case .unprocessable(let fields):
            return .json(422, ["errors": .object(fields.mapValues { .array($0.map { .string($0) }) })])
        case .rateLimited(let reset, let retryAfter):
            var response = SimResponse.json(429, ["errors": "Rate limit exceeded"])
            response.setHeader("Retry-After", String(retryAfter))
            response.setHeader("X-Rate-Limit-Reset", String(reset))
            return response
        }
    }
}
