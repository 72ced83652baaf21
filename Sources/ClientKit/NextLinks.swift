import Foundation
import SyncEngine

/// The rules for following a server's "next page" link (`Link: rel="next"`, `@odata.nextLink`,
/// `metadata.pagination.next`): credentials go only to the origin they were configured for, and
/// a link already followed ends the loop instead of repeating it forever.
public struct NextLinks: Sendable {
    /// `scheme://host:port` of the configured base URL.
    public let origin: String
    private let system: String
    private var seen: Set<String> = []

    /// - Parameters:
    ///   - base: the configured API base (or OData root) the credentials belong to.
    ///   - system: the system as a person names it, for messages.
    public init(base: String, system: String) {
        self.origin = Self.origin(of: base) ?? base
        self.system = system
    }

    /// `scheme://host:port`, lower-cased, with the scheme's default port written out, or `nil` for
    /// a URL that has no scheme or host.
    public static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
        return "\(scheme)://\(host):\(port)"
    }

    /// Checks a next link before any request is sent to it.
    /// - Returns: the link to follow, or `nil` when it was followed already in this listing (the
    ///   server is looping; the listing ends here).
    /// - Throws: `.unexpectedResponse` when the link points to another scheme, host or port: the
    ///   token or session is never sent there.
    public mutating func check(_ link: String) throws -> String? {
        guard let target = Self.origin(of: link), target == origin else {
            throw SyncError(.unexpectedResponse, "\(system) answered a next-page link to another origin (\(Self.origin(of: link) ?? "no origin"), expected \(origin)); it was not followed and no credentials were sent there. Check the configured base URL, or a proxy rewriting links.")
        }
        guard seen.insert(link).inserted else { return nil }
        return link
    }
}
