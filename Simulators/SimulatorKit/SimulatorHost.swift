import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SyncEngine

/// Serves simulators over real HTTP on loopback, each on its own port, for as long as a closure
/// runs. The listeners are children of the calling task: when the closure returns or throws they
/// are shut down.
public enum SimulatorHost {
    /// Starts every simulator, calls `body` with their base URLs (`http://127.0.0.1:PORT`, keyed by
    /// simulator name), then stops them.
    /// - Parameters:
    ///   - host: the address to bind; loopback by default.
    ///   - firstPort: 0 for ephemeral ports; otherwise simulator *i* binds `firstPort + i`.
    public static func withRunning<R: Sendable>(
        _ simulators: [SimulatorCore], host: String = "127.0.0.1", firstPort: Int = 0,
        logger: Logger = Logger(label: "simulator"),
        _ body: @Sendable ([String: String]) async throws -> R
    ) async throws -> R {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, continuation) = AsyncStream.makeStream(of: (String, Int).self)
            for (index, simulator) in simulators.enumerated() {
                let port = firstPort == 0 ? 0 : firstPort + index
                let app = makeApplication(simulator, host: host, port: port, logger: logger) { bound in
                    continuation.yield((simulator.name, bound))
                }
                group.addTask { try await app.run() }
            }
            var urls: [String: String] = [:]
            for await (name, port) in ports {
                urls[name] = "http://\(host):\(port)"
                if urls.count == simulators.count { break }
            }
            continuation.finish()
            do {
                let result = try await body(urls)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// A Hummingbird application that hands every request to the simulator core.
    public static func makeApplication(
        _ simulator: SimulatorCore, host: String, port: Int, logger: Logger,
        onRunning: @escaping @Sendable (Int) -> Void
    ) -> some ApplicationProtocol {
        let responder = CallbackResponder<BasicRequestContext> { request, context in
            let body = try await request.body.collect(upTo: 32 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let authority = request.head.authority ?? headers["host"] ?? "\(host):\(port)"
            let rawPath = request.uri.path
            let simRequest = SimRequest(
                method: request.method.rawValue, path: rawPath.removingPercentEncoding ?? rawPath,
                rawQuery: request.uri.query ?? "", headers: headers, body: Data(buffer: body),
                origin: "http://\(authority)")
            let answer = await simulator.respond(simRequest)
            var fields = HTTPFields()
            for (name, value) in answer.headers {
                if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
            }
            if answer.dropConnection {
                // The head goes out; the body writer fails, and the server closes the connection.
                let length = max(answer.body.count, 1)
                return Response(
                    status: .init(code: answer.status), headers: fields,
                    body: .init(contentLength: length) { _ in throw DroppedConnection() })
            }
            return Response(
                status: .init(code: answer.status), headers: fields,
                body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        var quiet = logger
        quiet.logLevel = .critical  // cancellation at shutdown is logged as an error by the server
        return Application(
            responder: responder,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
            logger: quiet)
    }
}

/// Thrown by a response body to make the server drop the connection (a fault).
struct DroppedConnection: Error {}
