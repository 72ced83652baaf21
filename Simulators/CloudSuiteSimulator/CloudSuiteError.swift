import Foundation
import SimulatorKit
import SyncEngine

/// Errors in the token server's OAuth shape and M3's per-transaction result shape.
extension CloudSuiteSimulator {
    static func oauthError(_ status: Int, _ code: String, _ text: String) -> SimResponse {
        .json(status, ["error": .string(code), "error_description": .string(text)])
    }

    static func failure(_ transaction: String, type: String, code: String = "", field: String = "", _ text: String) -> JSONValue {
        ["transaction": .string(transaction), "errorMessage": .string(text), "errorType": .string(type), "errorCode": .string(code),
         "errorField": .string(field), "errorCfg": "", "records": []]
    }
}
