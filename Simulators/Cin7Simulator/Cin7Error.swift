import Foundation
import SimulatorKit
import SyncEngine

/// Errors in Cin7's own shape: a JSON array of `{"ErrorCode": <status>, "Exception": "…"}`.
extension Cin7Simulator {
    static func error(_ status: Int, _ text: String) -> SimResponse {
        .json(status, [["ErrorCode": .number(Double(status)), "Exception": .string(text)]])
    }
}
