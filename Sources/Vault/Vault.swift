import Crypto
import Foundation

/// A master key: 32 bytes that wrap every credential's data key. It comes from an environment
/// variable (base64) or a key file readable by its owner only, never from the config or the
/// database.
public struct MasterKey: Sendable {
    private let bytes: Data
    var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// A short, non-secret fingerprint, stored beside each wrapped key so a wrong key is named as
    /// such instead of failing as garbage.
    public let fingerprint: String

    public init(bytes: Data) throws {
        guard bytes.count == 32 else {
            throw VaultError("the master key must be 32 bytes (base64 of 32 random bytes, e.g. `openssl rand -base64 32`); this one has \(bytes.count)")
        }
        self.bytes = bytes
        fingerprint = SHA256.hash(data: Data("ml-connector master key".utf8) + bytes).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random key.
    public static func generate() -> (key: MasterKey, base64: String) {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return (try! MasterKey(bytes: bytes), bytes.base64EncodedString())
    }

    /// From base64 text (an environment variable or a key file's content).
    public init(base64 text: String) throws {
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw VaultError("the master key is not valid base64")
        }
        try self.init(bytes: bytes)
    }

    /// Reads a key file, refusing one that others may read or write.
    public static func load(file path: String) throws -> MasterKey {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw VaultError("cannot read the master key file \(path)")
        }
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw VaultError("the master key file \(path) is readable by others (mode \(String(mode, radix: 8))); run `chmod 600 \(path)`")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw VaultError("cannot read the master key file \(path)") }
        return try MasterKey(base64: String(decoding: data, as: UTF8.self))
    }

    /// The environment variable `ML_CONNECTOR_MASTER_KEY`, else the key file named by
    /// `ML_CONNECTOR_MASTER_KEY_FILE`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MasterKey {
        if let text = environment["ML_CONNECTOR_MASTER_KEY"], !text.isEmpty { return try MasterKey(base64: text) }
        if let path = environment["ML_CONNECTOR_MASTER_KEY_FILE"], !path.isEmpty { return try load(file: path) }
        throw VaultError("no master key: set ML_CONNECTOR_MASTER_KEY (base64 of 32 random bytes) or ML_CONNECTOR_MASTER_KEY_FILE (a file readable only by you)")
    }
}

public struct VaultError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A secret sealed with envelope encryption: the secret under its own random data key
/// (AES-256-GCM), the data key under the master key (AES-256-GCM, bound to the credential's name
/// and system). Rotating the master key re-wraps data keys only; secrets are never re-entered.
public struct SealedSecret: Sendable, Equatable, Codable {
    public var ciphertext: Data
    public var wrappedKey: Data
    public var keyFingerprint: String

    public init(ciphertext: Data, wrappedKey: Data, keyFingerprint: String) {
        self.ciphertext = ciphertext
        self.wrappedKey = wrappedKey
        self.keyFingerprint = keyFingerprint
    }

    /// Seals `secret` for the credential `name` of `system`.
    public static func seal(_ secret: String, name: String, system: String, master: MasterKey) throws -> SealedSecret {
        let dataKey = SymmetricKey(size: .bits256)
        let box = try AES.GCM.seal(Data(secret.utf8), using: dataKey)
        let keyBytes = dataKey.withUnsafeBytes { Data($0) }
        let wrapped = try AES.GCM.seal(keyBytes, using: master.key, authenticating: Data("\(system)/\(name)".utf8))
        return SealedSecret(ciphertext: box.combined!, wrappedKey: wrapped.combined!, keyFingerprint: master.fingerprint)
    }

    /// Opens the secret.
    /// - Throws: ``VaultError`` saying the master key is wrong (fingerprint mismatch) or the
    ///   record was tampered with — never a garbled value.
    public func open(name: String, system: String, master: MasterKey) throws -> String {
        let dataKey = try unwrap(name: name, system: system, master: master)
        do {
            let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: ciphertext), using: dataKey)
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw VaultError("credential \(name) is damaged: its secret does not authenticate")
        }
    }

    /// The same secret with its data key wrapped by `new` instead of `old`.
    public func rewrapped(name: String, system: String, from old: MasterKey, to new: MasterKey) throws -> SealedSecret {
        let dataKey = try unwrap(name: name, system: system, master: old)
        let keyBytes = dataKey.withUnsafeBytes { Data($0) }
        let wrapped = try AES.GCM.seal(keyBytes, using: new.key, authenticating: Data("\(system)/\(name)".utf8))
        return SealedSecret(ciphertext: ciphertext, wrappedKey: wrapped.combined!, keyFingerprint: new.fingerprint)
    }

    private func unwrap(name: String, system: String, master: MasterKey) throws -> SymmetricKey {
        guard master.fingerprint == keyFingerprint else {
            throw VaultError("the master key does not open credential \(name): it was sealed under key \(keyFingerprint), this key is \(master.fingerprint). Use the key the vault was created or last rotated with.")
        }
        do {
            let bytes = try AES.GCM.open(
                AES.GCM.SealedBox(combined: wrappedKey), using: master.key, authenticating: Data("\(system)/\(name)".utf8))
            return SymmetricKey(data: bytes)
        } catch {
            throw VaultError("credential \(name) is damaged or belongs to another name/system: its key does not authenticate")
        }
    }
}
