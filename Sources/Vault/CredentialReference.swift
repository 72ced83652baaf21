import Foundation

/// A pointer to a secret, as config files hold them: `env:NAME` (an environment variable) or
/// `file:PATH` (a file whose content, trimmed, is the secret). Config files never hold a secret
/// itself; the sealed vault (`vault:NAME`) comes with the credentials command.
public struct CredentialReference: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case env, file }
    public var kind: Kind
    public var name: String

    /// - Throws: ``CredentialError`` when the text is not a reference (an inline secret is refused
    ///   without echoing it).
    public init(parsing text: String, field: String) throws {
        if text.hasPrefix("env:"), text.count > 4 {
            kind = .env
            name = String(text.dropFirst(4))
        } else if text.hasPrefix("file:"), text.count > 5 {
            kind = .file
            name = String(text.dropFirst(5))
        } else {
            throw CredentialError(message: "\(field) must be a reference such as env:NAME or file:/path/to/secret, not the secret itself; move the value into an environment variable or a file readable only by you")
        }
    }

    public var description: String { "\(kind.rawValue):\(name)" }

    /// Resolves the secret.
    /// - Throws: ``CredentialError`` naming the reference (never the value) when it cannot be read.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        switch kind {
        case .env:
            guard let value = environment[name], !value.isEmpty else {
                throw CredentialError(message: "environment variable \(name) is not set (referenced as \(self)); export it before running")
            }
            return value
        case .file:
            guard let data = FileManager.default.contents(atPath: name) else {
                throw CredentialError(message: "cannot read the secret file \(name) (referenced as \(self))")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

public struct CredentialError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
