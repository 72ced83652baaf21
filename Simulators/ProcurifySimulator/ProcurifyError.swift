import Foundation
import SimulatorKit
import SyncEngine

/// Errors in Django REST Framework's default shape, `{"detail": "…"}`.
extension ProcurifySimulator {
    static func detail(_ status: Int, _ text: String, headers: [(String, String)] = []) -> SimResponse {
        .json(status, ["detail": .string(text)], headers: headers)
    }
}
