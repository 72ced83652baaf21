import Foundation

/// A pointer to a secret, as config files hold them: `env:NAME` (an environment variable),
/// `file:PATH` (a file whose content, trimmed, is the secret) or `vault:NAME` (a credential sealed
/// with `ml-connector credentials add`). Config files never hold a secret itself.
public struct CredentialReference: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case env, file, vault }
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
        } else if text.hasPrefix("vault:"), text.count > 6 {
            kind = .vault
            name = String(text.dropFirst(6))
        } else {
            throw CredentialError(message: "\(field) must be a reference such as vault:NAME, env:NAME or file:/path/to/secret, not the secret itself; seal it with `ml-connector credentials add`, or move it into an environment variable or a file readable only by you")
        }
    }

    public var description: String { "\(kind.rawValue):\(name)" }

    /// Resolves the secret.
    /// - Throws: ``CredentialError`` naming the reference (never the value) when it cannot be read.
    /// - Parameter vault: opens a `vault:` reference (the caller knows the database and master key).
    public func resolve(
        environment: [String: String] = ProcessInfo.processInfo.environment, vault: ((String) throws -> String)? = nil
    ) throws -> String {
        switch kind {
        case .vault:
            guard let vault else { throw CredentialError(message: "\(self) needs the vault, which is not available here") }
            do {
                return try vault(name)
            } catch let error as VaultError {
                throw CredentialError(message: "\(self): \(error.message)")
            }
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
