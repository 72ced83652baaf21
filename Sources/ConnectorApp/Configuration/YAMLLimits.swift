import Foundation
import Yams

/// A bound on what a YAML document may expand to, checked before anything walks it.
///
/// Anchors and aliases let a short file stand for an enormous tree (the "billion laughs": ten
/// aliases of ten aliases of …). Composing shares the aliased nodes, but every walk over the
/// document — key checks, decoding, the scenario reader — visits each use, so a 1 KB file could
/// keep a loader busy for hours. The count below stops as soon as the bound is passed, so the
/// check itself costs at most `limit` visits.
public enum YAMLLimits {
    /// Nodes a config, scenario or data set file may expand to (a large real config has a few
    /// thousand).
    public static let maximumNodes = 200_000

    /// - Throws: ``Exceeded`` when the document expands to more than `limit` nodes.
    public static func check(_ node: Node, limit: Int = maximumNodes) throws {
        var count = 0
        func visit(_ node: Node) throws {
            count += 1
            guard count <= limit else { throw Exceeded(limit: limit) }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    try visit(key)
                    try visit(value)
                }
            case .sequence(let sequence):
                for item in sequence { try visit(item) }
            default:
                break
            }
        }
        try visit(node)
    }

    public struct Exceeded: Error, CustomStringConvertible {
        public var limit: Int
        public var description: String {
            "the document expands to more than \(limit) nodes (anchors and aliases repeated inside each other?); write it out plainly or split it"
        }
    }
}
