import ConnectorApp
import Dispatch
import Foundation
import Flows
import Scenarios
import SimulatorKit
import SyncEngine
import SysproClient
import SysproSimulator

/// The parsers untrusted bytes reach, each as a function that must return (or throw an error)
/// for every input — never trap, hang or grow without bound. libFuzzer calls ``run(_:_:)`` with
/// generated inputs; the replayer runs saved inputs (corpora, crashes) through the same code.
enum FuzzTargets {
    static let names = ["odata", "safexml", "syspro-client", "syspro-sim", "scenario", "config", "json", "records"]

    static func run(_ target: String, _ data: Data) {
        switch target {
        case "odata": odata(data)
        case "safexml": _ = try? SafeXML.parse(String(decoding: data, as: UTF8.self))
        case "syspro-client": _ = try? SysproClient.comfndRows(String(decoding: data, as: UTF8.self), table: "ApSupplier")
        case "syspro-sim": sysproSimulator(data)
        case "scenario": _ = try? Scenario.parse(String(decoding: data, as: UTF8.self), file: "fuzz.yaml")
        case "config": _ = try? ConnectorConfig.parse(String(decoding: data, as: UTF8.self), path: "fuzz.yaml")
        case "json": json(data)
        case "records": records(data)
        default: fatalError("unknown fuzz target '\(target)'; one of \(names.joined(separator: ", "))")
        }
    }

    /// The input as a query string: `$filter`, `$orderby`, `$select`, `$top`, `$skip` (and `LIKE`
    /// when the first byte is odd, as COMFND allows), then the filter evaluated on a row.
    static func odata(_ data: Data) {
        let columns: Set<String> = ["CardCode", "CardName", "DocTotal", "DocDate", "Valid"]
        let query = SimRequest.parseQuery(String(decoding: data.dropFirst(), as: UTF8.self))
        let like = (data.first ?? 0) & 1 == 1
        guard let parsed = try? ODataQuery({ name in query.first { $0.name == name }?.value }, columns: columns, sqlLike: like) else { return }
        if let filter = parsed.filter {
            _ = ODataQuery.evaluate(filter, ["CardCode": "V001", "CardName": "Acme", "DocTotal": 12.5, "DocDate": "2026-03-01", "Valid": "tYES"])
        }
    }

    /// A JSON document must parse or be refused; one that parses must write back to text that
    /// parses to the same value (the canonical form the engine hashes).
    static func json(_ data: Data) {
        guard let value = try? JSONValue(parsing: data) else { return }
        guard let again = try? JSONValue(parsing: value.jsonData()), again == value else {
            fatalError("JSON round trip changed the value: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
    }

    /// A JSON object as a SYSPRO PO header (its `lines` as PorMasterDetail rows) and as an AP
    /// invoice row: flow 000's record parsers, which must hold bad data, never trap on it.
    static func records(_ data: Data) {
        guard let value = try? JSONValue(parsing: data) else { return }
        let latest = Date(timeIntervalSince1970: 1_800_000_000)
        try? SysproRecordParsing.purchaseOrder(header: value, lines: value["lines"]?.arrayValue ?? [], latest: latest)
        try? SysproRecordParsing.invoice(value, latest: latest)
    }

    /// One simulator for the whole run: the input goes to COMFND or PORQ60 as `XmlIn` of a
    /// logged-on session, through the same request path a client's call takes.
    nonisolated(unsafe) static var syspro: (core: SimulatorCore, session: String)?

    static func sysproSimulator(_ data: Data) {
        blocking {
            if syspro == nil {
                let (core, backend) = SysproSimulator.makeCore(clock: ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000)))
                try? await backend.seed(DemoData.generate(purchaseOrders: 3, today: Date(timeIntervalSince1970: 1_800_000_000)).syspro)
                let logon = await core.respond(SimRequest(method: "GET", path: "/SYSPROWCFService/Rest/Logon",
                                                          rawQuery: "Operator=\(DemoData.operatorCode)&OperatorPassword=\(DemoData.operatorPassword)&CompanyId=\(DemoData.sysproCompany)"))
                syspro = (core, String(decoding: logon.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            guard let (core, session) = syspro else { return }
            let object = (data.first ?? 0) & 1 == 1 ? "PORQ60" : "COMFND"
            let xml = String(decoding: data.dropFirst(), as: UTF8.self)
            let query = "UserId=\(session)&BusinessObject=\(object)&XmlIn=" + xml.percentEncoded(keeping: "-._~")
            _ = await core.respond(SimRequest(method: "GET", path: "/SYSPROWCFService/Rest/Query/Query", rawQuery: query))
        }
    }

    /// Runs async work to completion from the synchronous fuzzing callback.
    static func blocking(_ work: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await work()
            done.signal()
        }
        done.wait()
    }
}

#if FUZZING
/// libFuzzer's entry point: `FUZZ_TARGET` names the parser.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.run(selectedTarget, bytes.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point as `<module>_main`; here it hands the command line
/// to libFuzzer's driver (the `main` libFuzzer would otherwise bring).
@_cdecl("ml_connector_fuzz_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { bytes, size in fuzzOneInput(bytes, size) }
}

let selectedTarget: String = {
    guard let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"], FuzzTargets.names.contains(name) else {
        fatalError("set FUZZ_TARGET to one of \(FuzzTargets.names.joined(separator: ", "))")
    }
    return name
}()
#else
/// Without libFuzzer: `ml-connector-fuzz <target> <file or directory>…` runs saved inputs through
/// a target and reports how many passed — how a crash file is reproduced and a corpus re-checked.
@main
struct Replay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let target = arguments.first, FuzzTargets.names.contains(target) else {
            FileHandle.standardError.write(Data("usage: ml-connector-fuzz <\(FuzzTargets.names.joined(separator: "|"))> <file or directory>…\n".utf8))
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { "\(path)/\($0)" } : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                FuzzTargets.run(target, data)
                count += 1
            }
        }
        print("\(target): \(count) input(s) ran without a crash")
    }
}
#endif
