import Foundation
import SyncEngine
import Yams

/// A load-time problem in a scenario file, with where it is and what was expected.
public struct ScenarioLoadError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var message: String
    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    public var description: String { "\(file):\(line): \(message)" }
}

/// Reads a YAML node strictly: every key must be known, every value of the expected type, and
/// every complaint carries the file and line.
struct YAMLReader {
    let file: String
    let node: Node
    let context: String

    var line: Int { node.mark?.line ?? 0 }

    func fail(_ message: String) -> ScenarioLoadError { ScenarioLoadError(file: file, line: line, message: message) }

    /// The mapping's entries, checking that no key is outside `allowed`.
    func mapping(allowed: [String]) throws -> [String: YAMLReader] {
        guard let mapping = node.mapping else { throw fail("\(context) must be a mapping with keys \(allowed.joined(separator: ", "))") }
        var result: [String: YAMLReader] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw fail("\(context) has a key that is not text") }
            guard allowed.contains(key) else {
                throw ScenarioLoadError(
                    file: file, line: keyNode.mark?.line ?? line,
                    message: "unknown key '\(key)' in \(context); expected one of: \(allowed.joined(separator: ", "))")
            }
            result[key] = YAMLReader(file: file, node: valueNode, context: "\(context).\(key)")
        }
        return result
    }

    func sequence() throws -> [YAMLReader] {
        guard let sequence = node.sequence else { throw fail("\(context) must be a list") }
        return sequence.enumerated().map { YAMLReader(file: file, node: $1, context: "\(context)[\($0)]") }
    }

    func string() throws -> String {
        guard let scalar = node.scalar else { throw fail("\(context) must be text") }
        return scalar.string
    }

    func int() throws -> Int {
        guard node.scalar != nil, let value = node.int else { throw fail("\(context) must be a whole number, found '\(node.string ?? "?")'") }
        return value
    }

    func double() throws -> Double {
        guard node.scalar != nil, let value = node.float ?? node.int.map(Double.init) else {
            throw fail("\(context) must be a number, found '\(node.string ?? "?")'")
        }
        return value
    }

    func bool() throws -> Bool {
        guard node.scalar != nil, let value = node.bool else { throw fail("\(context) must be true or false, found '\(node.string ?? "?")'") }
        return value
    }

    func oneOf(_ choices: [String]) throws -> String {
        let value = try string()
        guard choices.contains(value) else { throw fail("\(context) is '\(value)'; expected one of: \(choices.joined(separator: ", "))") }
        return value
    }

    /// A duration such as `250ms`, `90s`, `15m`, `2h`, `1d` or a number of seconds.
    func duration() throws -> Duration {
        let text = try string().trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("ms"), let value = Double(text.dropLast(2)), value >= 0 { return .interval(value / 1000) }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last, let factor = units[unit], let value = Double(text.dropLast()), value >= 0 {
            return .interval(value * factor)
        }
        if let seconds = Double(text), seconds >= 0 { return .interval(seconds) }
        throw fail("\(context) must be a duration like 250ms, 90s, 15m, 2h or 1d, found '\(text)'")
    }

    /// Any YAML value as JSON (for rows and settings overrides).
    func json() throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if scalar.string == "null" || scalar.string == "~" { return .null }
                if let bool = node.bool, ["true", "false"].contains(scalar.string) { return .bool(bool) }
                if let int = node.int { return .number(Double(int)) }
                if let double = node.float { return .number(double) }
            }
            return .string(scalar.string)
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { throw fail("\(context) has a key that is not text") }
                object[name] = try YAMLReader(file: file, node: value, context: "\(context).\(name)").json()
            }
            return .object(object)
        case .sequence(let sequence):
            return .array(try sequence.enumerated().map { try YAMLReader(file: file, node: $1, context: "\(context)[\($0)]").json() })
        case .alias:
            throw fail("\(context): YAML aliases are not supported in scenarios")
        }
    }
}
