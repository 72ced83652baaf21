import Foundation
import SimulatorKit
import SyncEngine

/// Answers in the Service Layer's own shapes: v1 `{"error":{"code":<int>,"message":{"lang","value"}}}`
/// with `DataServiceVersion: 3.0`, v2 `{"error":{"code":"<string>","message":"…"}}` with `OData-Version: 4.0`.
extension SAPB1Simulator {
    /// The error body in the shape of the service root's OData version.
    static func error(_ status: Int, code: Int, _ text: String, v4: Bool) -> SimResponse {
        let body: JSONValue = v4
            ? ["error": ["code": .string(String(code)), "message": .string(text)]]
            : ["error": ["code": .number(Double(code)), "message": ["lang": "en-us", "value": .string(text)]]]
        return .json(status, body, headers: v4 ? [("OData-Version", "4.0")] : [("DataServiceVersion", "3.0")])
    }

    static func ok(_ status: Int, _ body: JSONValue, v4: Bool, headers: [(String, String)] = []) -> SimResponse {
        var response = SimResponse.json(status, body, headers: headers)
        response.setHeader("Content-Type", v4 ? "application/json;charset=utf-8" : "application/json;odata=minimalmetadata;charset=utf-8")
        response.setHeader(v4 ? "OData-Version" : "DataServiceVersion", v4 ? "4.0" : "3.0")
        return response
    }
}
