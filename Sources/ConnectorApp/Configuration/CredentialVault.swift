import CloudSuiteClient
import Foundation
import SyncEngine
import SyncStore
import Vault

/// Credentials sealed in the state database: `credentials add|list|remove|rotate-key` and the
/// `vault:NAME` references of config files.
public struct CredentialVault: Sendable {
    public static let systems = BusinessSystem.names
    let store: SQLiteSyncStore
    let master: MasterKey

    public init(store: SQLiteSyncStore, master: MasterKey) {
        self.store = store
        self.master = master
    }

    /// Seals and stores a secret (replacing one of the same name).
    public func add(name: String, system: String, secret: String, at date: Date = Date()) async throws {
        guard Self.systems.contains(system) else {
            throw VaultError("unknown system '\(system)'; one of \(Self.systems.joined(separator: ", "))")
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw VaultError("a credential name uses letters, digits, '-', '_' and '.' only")
        }
        guard !secret.isEmpty else { throw VaultError("the secret is empty") }
        if system == "cloudsuite" {
            // A CloudSuite credential is the whole .ionapi file: refuse one that cannot work,
            // naming the missing keys (never a value).
            do {
                _ = try IonAPIFile(text: secret, source: "the .ionapi file for \(name)")
            } catch let error as SyncError {
                throw VaultError(error.message)
            }
        }
        let sealed = try SealedSecret.seal(secret, name: name, system: system, master: master)
        try await store.saveCredential(StoredCredential(
            name: name, system: system, ciphertext: sealed.ciphertext, wrappedKey: sealed.wrappedKey,
            keyFingerprint: sealed.keyFingerprint, createdAt: date))
    }

    /// The secret of a stored credential.
    public func secret(named name: String) throws -> String {
        guard let stored = try store.credentialNow(named: name) else {
            throw VaultError("no credential named \(name); add it with `ml-connector credentials add \(name) --system …`")
        }
        return try SealedSecret(ciphertext: stored.ciphertext, wrappedKey: stored.wrappedKey, keyFingerprint: stored.keyFingerprint)
            .open(name: stored.name, system: stored.system, master: master)
    }

    /// Re-wraps every data key under `newKey`, in one transaction; secrets stay as sealed.
    /// - Returns: how many credentials were re-wrapped.
    public func rotate(to newKey: MasterKey, at date: Date = Date()) async throws -> Int {
        var rotated: [StoredCredential] = []
        for var stored in try await store.credentials() {
            let sealed = try SealedSecret(ciphertext: stored.ciphertext, wrappedKey: stored.wrappedKey, keyFingerprint: stored.keyFingerprint)
                .rewrapped(name: stored.name, system: stored.system, from: master, to: newKey)
            stored.wrappedKey = sealed.wrappedKey
            stored.keyFingerprint = sealed.keyFingerprint
            stored.rotatedAt = date
            rotated.append(stored)
        }
        try await store.replaceCredentials(rotated)
        return rotated.count
    }
}

extension CredentialVault {
    /// A resolver for `vault:NAME` references: opens the vault only when a reference needs it, so
    /// configs that use `env:`/`file:` references need no master key.
    public static func resolver(store: SQLiteSyncStore) -> @Sendable (String) throws -> String {
        { name in try CredentialVault(store: store, master: try MasterKey.fromEnvironment()).secret(named: name) }
    }
}
