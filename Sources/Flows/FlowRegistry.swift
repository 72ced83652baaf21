import SyncEngine

/// A flow this build can run: what a config's `integrations[].flow`, `demo`, `bench` and a
/// scenario's `setup.flow` may name.
public struct RegisteredFlow: Sendable {
    /// The name configs and commands use (`syspro-procore`).
    public var name: String
    /// One line for people: what moves where.
    public var summary: String
    /// The systems it touches: an integration of this flow carries a connection section for each.
    public var systems: [BusinessSystem]
    /// Its entities' summary labels, in the order a cycle handles them.
    public var entityLabels: [String]
    /// How often `sync --watch` runs it when the config says nothing (`intervalMinutes`).
    public var defaultIntervalMinutes = 10
}

/// Every flow this build knows. A new flow is a definition on the flow runtime plus one entry here.
public enum FlowRegistry {
    public static let all: [RegisteredFlow] = [
        RegisteredFlow(
            name: SysproProcore.name,
            summary: "SYSPRO POs → Procore commitments, SYSPRO AP invoices → requisitions on them",
            systems: [.syspro, .procore], entityLabels: SysproProcore.entityLabels),
        RegisteredFlow(
            name: ProcurifySyspro.name,
            summary: "Procurify vendors → SYSPRO suppliers, purchased POs → PORTOI purchase orders, approved bills → APSTIN AP invoices",
            systems: [.procurify, .syspro], entityLabels: ProcurifySyspro.entityLabels),
        RegisteredFlow(
            name: ProcoreSAPB1.name,
            summary: "Procore commitments and approved change orders → SAP B1 purchase invoices (or journal entries), direct costs and approved subcontractor invoices → journal entries, on profit centers",
            systems: [.procore, .sapb1], entityLabels: ProcoreSAPB1.entityLabels, defaultIntervalMinutes: 1440),
        RegisteredFlow(
            name: ProcoreCloudSuite.name,
            summary: "Procore vendors → Infor CloudSuite M3 suppliers (CRS620MI), approved PO contracts → POs (PPS370MI), approved invoices → supplier invoices (APS450MI); woken by Procore webhooks under serve",
            systems: [.procore, .cloudsuite], entityLabels: ProcoreCloudSuite.entityLabels, defaultIntervalMinutes: 60),
        RegisteredFlow(
            name: SysproCin7.name,
            summary: "SYSPRO ↔ Cin7 Core suppliers (an owner per attribute), SYSPRO POs → Cin7 purchases at their order stage (INVOICE or STOCK first), AP invoices → the purchase's invoice stage on GL accounts checked against Cin7's chart",
            systems: [.syspro, .cin7], entityLabels: SysproCin7.entityLabels, defaultIntervalMinutes: 15),
    ]

    /// The names, for messages.
    public static var names: [String] { all.map(\.name) }

    /// The registered flow of that name.
    /// - Throws: ``SyncError`` `.invalidConfig` naming the flows this build knows.
    public static func named(_ name: String) throws -> RegisteredFlow {
        guard let flow = all.first(where: { $0.name == name }) else {
            throw SyncError(.invalidConfig, "unknown flow '\(name)'; this build knows: \(names.joined(separator: ", "))")
        }
        return flow
    }
}
