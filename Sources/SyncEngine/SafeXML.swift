import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A parsed XML element: a small read-only tree for the documents SYSPRO e.net exchanges.
public struct XMLElementNode: Sendable, Equatable {
    public var name: String
    public var attributes: [String: String]
    public var text: String
    public var children: [XMLElementNode]

    /// The first child with this name (case-sensitive unless told otherwise).
    public func child(_ name: String, ignoringCase: Bool = false) -> XMLElementNode? {
        children.first { ignoringCase ? $0.name.lowercased() == name.lowercased() : $0.name == name }
    }

    public func children(_ name: String) -> [XMLElementNode] { children.filter { $0.name == name } }

    /// Text of a child, trimmed.
    public func value(_ name: String) -> String? {
        child(name).map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Every descendant (depth first), this element included.
    public var descendants: [XMLElementNode] { [self] + children.flatMap(\.descendants) }
}

/// Parses untrusted XML safely: documents with a DTD (`<!DOCTYPE`, `<!ENTITY`) are refused
/// outright, so neither external entities nor entity-expansion bombs can be smuggled in, and the
/// parser is told not to resolve external entities in any case.
public enum SafeXML {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// - Throws: ``ParseError`` when the text is not well-formed, carries a DTD, or is larger than
    ///   `maxBytes`.
    public static func parse(_ text: String, maxBytes: Int = 8 << 20) throws -> XMLElementNode {
        let data = Data(text.utf8)
        guard data.count <= maxBytes else { throw ParseError(description: "XML document larger than \(maxBytes) bytes") }
        let upper = text.uppercased()
        if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
            throw ParseError(description: "XML with a DTD or entity declarations is refused")
        }
        // XMLParser does not understand the Windows-1252 declaration SYSPRO sends; the text is
        // already decoded, so declare it as UTF-8.
        var body = text
        if body.hasPrefix("<?xml"), let end = body.range(of: "?>") {
            body = String(body[end.upperBound...])
        }
        let parser = XMLParser(data: Data(body.utf8))
        parser.shouldResolveExternalEntities = false
        let delegate = TreeBuilder()
        parser.delegate = delegate
        guard parser.parse(), let root = delegate.root else {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "no root element"
            throw ParseError(description: "malformed XML at line \(parser.lineNumber): \(reason)")
        }
        return root
    }

    /// Escapes text for use inside an element or a single/double-quoted attribute.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLElementNode] = []
    var root: XMLElementNode?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        stack.append(XMLElementNode(name: elementName, attributes: attributes, text: "", children: []))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard let done = stack.popLast() else { return }
        if stack.isEmpty { root = done } else { stack[stack.count - 1].children.append(done) }
    }

    func parser(_ parser: XMLParser, resolveExternalEntityName name: String, systemID: String?) -> Data? { nil }
}
