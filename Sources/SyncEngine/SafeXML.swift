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
        if body.hasPrefix("<?xml"), let next = body.dropFirst(5).first, next.isWhitespace || next == "?", let end = body.range(of: "?>") {
            body = String(body[end.upperBound...])
        }
        // Foundation's XMLParser on Linux crashes (a NULL strlen) on a processing instruction
        // without data, such as `<?x?>` (found by fuzzing); no system we read sends one.
        if containsProcessingInstruction(body) {
            throw ParseError(description: "XML with a processing instruction (<?…?>) other than the XML declaration is refused")
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

    /// Whether `<?` opens a processing instruction anywhere outside comments and CDATA sections.
    static func containsProcessingInstruction(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func starts(_ pattern: [UInt8], at index: Int) -> Bool {
            index + pattern.count <= bytes.count && bytes[index..<(index + pattern.count)].elementsEqual(pattern)
        }
        func skip(to end: [UInt8], from index: Int) -> Int {
            var i = index
            while i < bytes.count && !starts(end, at: i) { i += 1 }
            return i + end.count
        }
        let (lt, question, comment, commentEnd, cdata, cdataEnd) = (UInt8(ascii: "<"), UInt8(ascii: "?"), Array("<!--".utf8), Array("-->".utf8),
                                                                   Array("<![CDATA[".utf8), Array("]]>".utf8))
        var i = 0
        while i < bytes.count {
            if bytes[i] == lt {
                if starts(comment, at: i) { i = skip(to: commentEnd, from: i + comment.count); continue }
                if starts(cdata, at: i) { i = skip(to: cdataEnd, from: i + cdata.count); continue }
                if i + 1 < bytes.count && bytes[i + 1] == question { return true }
            }
            i += 1
        }
        return false
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
