/// The six systems ml-connector speaks to, in one list: configs, `ping`, `contract verify`,
/// `simulate`, the vault and the flows all name them by these raw values.
public enum BusinessSystem: String, Sendable, Codable, CaseIterable {
    case syspro, procore, cin7, procurify, sapb1, cloudsuite

    /// Every system's name, in the order commands list them.
    public static let names = allCases.map(\.rawValue)

    /// The name a person knows the system by.
    public var displayName: String {
        switch self {
        case .syspro: "SYSPRO"
        case .procore: "Procore"
        case .cin7: "Cin7 Core"
        case .procurify: "Procurify"
        case .sapb1: "SAP Business One"
        case .cloudsuite: "Infor CloudSuite"
        }
    }
}
