import Foundation
import SyncEngine

/// Finding scenario files, printing results and writing JUnit XML.
public enum ScenarioReport {
    /// Every `.yaml`/`.yml` file under the given files or folders, sorted.
    /// - Throws: when a path does not exist.
    public static func files(_ paths: [String]) throws -> [String] {
        var result: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ScenarioLoadError(file: path, line: 0, message: "no such file or folder")
            }
            if isDirectory.boolValue {
                let enumerator = FileManager.default.enumerator(atPath: path)
                while let item = enumerator?.nextObject() as? String {
                    if item.hasSuffix(".yaml") || item.hasSuffix(".yml") { result.append((path as NSString).appendingPathComponent(item)) }
                }
            } else {
                result.append(path)
            }
        }
        return result.sorted()
    }

    /// Readable lines: one per step with ✔/✘ and its detail.
    public static func text(_ result: ScenarioResult) -> String {
        var lines = ["\(result.passed ? "PASS" : "FAIL")  \(result.scenario.name)  (\(result.scenario.file), \(String(format: "%.2f", result.seconds)) s)"]
        for (index, step) in result.steps.enumerated() {
            let mark = step.skipped ? "-" : (step.passed ? "✔" : "✘")
            lines.append("  \(mark) step \(index + 1) (line \(step.step.line)) \(step.step.name): \(step.detail)")
        }
        let ran = result.steps.count
        if ran < result.scenario.steps.count { lines.append("  … \(result.scenario.steps.count - ran) later step(s) not run") }
        return lines.joined(separator: "\n")
    }

    public static func junit(_ results: [ScenarioResult], loadErrors: [ScenarioLoadError]) -> String {
        let failures = results.filter { !$0.passed }.count + loadErrors.count
        let total = results.count + loadErrors.count
        let seconds = results.reduce(0) { $0 + $1.seconds }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites tests=\"\(total)\" failures=\"\(failures)\" time=\"\(String(format: "%.3f", seconds))\">\n"
        xml += "<testsuite name=\"scenarios\" tests=\"\(total)\" failures=\"\(failures)\" time=\"\(String(format: "%.3f", seconds))\">\n"
        for result in results {
            let name = SafeXML.escape(result.scenario.name)
            xml += "<testcase classname=\"\(SafeXML.escape(result.scenario.file))\" name=\"\(name)\" time=\"\(String(format: "%.3f", result.seconds))\">"
            if let failure = result.firstFailure {
                xml += "<failure message=\"\(SafeXML.escape("line \(failure.step.line) \(failure.step.name): \(failure.detail)"))\">"
                xml += SafeXML.escape(text(result)) + "</failure>"
            }
            xml += "<system-out>\(SafeXML.escape(text(result)))</system-out></testcase>\n"
        }
        for error in loadErrors {
            xml += "<testcase classname=\"\(SafeXML.escape(error.file))\" name=\"load\"><failure message=\"\(SafeXML.escape(error.description))\"/></testcase>\n"
        }
        xml += "</testsuite>\n</testsuites>\n"
        return xml
    }
}
