import ArgumentParser
import AsyncHTTPClient
import ClientKit
import ConnectorApp
import Flows
import Foundation
import Logging
import ProcoreClient
import ServiceLifecycle
import SyncEngine
import SyncStore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every configured integration on its schedule and receive webhooks (/webhooks/NAME, /healthz, /metrics) until SIGTERM or SIGINT.")
    @Option(help: "Config file (see Fixtures/config/sample.yaml; `serve:` sets host, port, maxBodyBytes).") var config: String
    @Option(help: "Listen on this port instead of the config's (0: any free port).") var port: Int?
    @OptionGroup var log: LogOptions

    func run() async throws {
        let logger = log.bootstrap()
        do {
            let file = try ConnectorConfig.load(path: config)
            let store = try SQLiteSyncStore.open(path: file.database ?? "ml-connector.sqlite")
            let clock = SystemClock()
            let stats = TransportStats()
            let resolve = CredentialVault.resolver(store: store)
            try await HTTPClient.withHTTPClient { http in
                var served: [(ServedIntegration, [String])] = []
                for integration in file.integrations {
                    try await adoptLegacyState(of: integration, in: file, store: store, logger: logger)
                    let flow = try FlowRegistry.named(integration.flow)
                    let runner = try integration.makeRunner(http: http, store: store, clock: clock, logger: logger, vault: resolve, stats: stats)
                    let secret = try integration.webhookSecret(vault: resolve)
                    if let webhook = integration.webhook, let publicURL = webhook.publicURL, let secret {
                        await registerHook(integration, webhook: webhook, publicURL: publicURL, secret: secret, http: http, clock: clock, resolve: resolve, logger: logger)
                    }
                    let minutes = integration.intervalMinutes ?? flow.defaultIntervalMinutes
                    served.append((ServedIntegration(
                        name: integration.name, runner: runner, interval: .seconds(60 * minutes), webhookSecret: secret,
                        webhookHeader: integration.webhook?.header ?? "Authorization"), flow.entityLabels))
                }
                let receiver = ServeListener(
                    integrations: served.map(\.0), store: store, metrics: ServeMetrics(), clock: clock, maxBodyBytes: file.serve?.maxBodyBytes ?? 1 << 20)
                let host = file.serve?.host ?? "127.0.0.1"
                let names = served.map(\.0.name).joined(separator: ",")
                let app = ConnectorApp.Serve.application(receiver: receiver, stats: stats, host: host, port: port ?? file.serve?.port ?? 8080, logger: logger) { bound in
                    logger.notice("Serving", metadata: ["address": "http://\(host):\(bound)", "integrations": "\(names)"])
                }
                var services: [any Service] = [app]
                for (integration, labels) in served {
                    services.append(IntegrationService(integration: integration, labels: labels, receiver: receiver, logger: logger))
                }
                let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                try await group.run()
            }
        } catch let error as SyncError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(error.code == .invalidConfig ? 2 : 1)
        }
    }
}

/// Registers or verifies the integration's Procore hook. A failure is logged, not fatal: the
/// integration still polls on its schedule, which reads every change a lost webhook announced.
func registerHook(
    _ integration: ConnectorConfig.Integration, webhook: ConnectorConfig.WebhookSection, publicURL: String, secret: String, http: HTTPClient,
    clock: any SyncClock, resolve: @escaping (String) throws -> String, logger: Logger
) async {
    let destination = publicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/webhooks/" + integration.name
    do {
        let connection = try integration.procoreConnection(vault: resolve)
        let procore = ProcoreClient(connection: connection, transport: HTTPTransport(http: http, system: "procore", clock: clock, logger: logger))
        let report = try await ProcoreHooks.ensure(
            procore: procore, destination: destination, header: webhook.header ?? "Authorization", secret: secret, resources: webhook.resources ?? [])
        logger.notice("Procore webhook hook ready", metadata: [
            "integration": "\(integration.name)", "hook": "\(report.hookID)", "created": "\(report.created)",
            "headers.updated": "\(report.headersUpdated)", "triggers.added": "\(report.triggersAdded)",
        ])
        for refusal in report.triggersRefused { logger.warning("Procore refused a trigger", metadata: ["integration": "\(integration.name)", "trigger": "\(refusal)"]) }
    } catch {
        logger.error("Procore webhook hook not registered; the integration still polls on its schedule", metadata: [
            "integration": "\(integration.name)", "destination": "\(destination)", "error": "\(error)",
        ])
    }
}

/// One integration's poller under the service group: its wait ends early on a webhook and on
/// shutdown; a cycle in progress runs to its end.
struct IntegrationService: Service {
    let integration: ServedIntegration
    let labels: [String]
    let receiver: ServeListener
    let logger: Logger

    func run() async throws {
        await ConnectorApp.Serve.poll(
            integration, labels: labels, receiver: receiver, clock: SystemClock(), logger: logger,
            sleep: { wait in try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } },
            keepGoing: { !Task.isShuttingDownGracefully })
    }
}
