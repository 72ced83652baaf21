import CloudSuiteClient
import ConnectorApp
import Foundation
import SyncEngine
import SyncStore
import Testing
import Vault

@Suite(.timeLimit(.minutes(2))) struct CredentialVaultTests {
    @Test func storesSealedSecretsRotatesAndNeverWritesThemInClear() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-vault-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteSyncStore.open(path: path)
        let (master, _) = MasterKey.generate()
        let vault = CredentialVault(store: store, master: master)
        let secret = "procore-client-secret-\(UUID().uuidString)"
        try await vault.add(name: "procore-sandbox", system: "procore", secret: secret)
        try await vault.add(name: "syspro-operator", system: "syspro", secret: "operator-pw-\(UUID().uuidString)")
        #expect(try vault.secret(named: "procore-sandbox") == secret)
        await #expect(throws: VaultError.self) { try await vault.add(name: "x", system: "oracle", secret: "y") }
        #expect(throws: VaultError.self) { try vault.secret(named: "missing") }

        let (newKey, _) = MasterKey.generate()
        #expect(try await vault.rotate(to: newKey) == 2)
        #expect(throws: VaultError.self) { try vault.secret(named: "procore-sandbox") }
        #expect(try CredentialVault(store: store, master: newKey).secret(named: "procore-sandbox") == secret)
        #expect(try await store.credentials().allSatisfy { $0.rotatedAt != nil && $0.keyFingerprint == newKey.fingerprint })

        var bytes = Data()
        for suffix in ["", "-wal"] { bytes += FileManager.default.contents(atPath: path + suffix) ?? Data() }
        #expect(!bytes.isEmpty)
        #expect(bytes.range(of: Data(secret.utf8)) == nil)
        #expect(bytes.range(of: Data("procore-client-secret".utf8)) == nil)
    }

    @Test func anIonapiFileIsSealedWholeAndOneWithoutItsKeysIsRefused() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-vault-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteSyncStore.open(path: path)
        let vault = CredentialVault(store: store, master: MasterKey.generate().0)
        var fields = DemoData.ionapiFile(base: "https://mingle-ionapi.inforcloudsuite.com").objectValue ?? [:]
        let sask = "sask-\(UUID().uuidString)"
        fields["sask"] = .string(sask)
        try await vault.add(name: "acme-ionapi", system: "cloudsuite", secret: JSONValue.object(fields).canonicalJSON())
        let file = try IonAPIFile(text: try vault.secret(named: "acme-ionapi"))
        #expect(file.serviceAccountSecretKey == sask)
        #expect(file.tokenURL == "https://mingle-ionapi.inforcloudsuite.com/ACME_TST/as/token.oauth2")
        #expect(!"\(file)".contains(sask))  // the description names the tenant and app, never a secret
        fields["saak"] = nil
        await #expect {
            try await vault.add(name: "web-app", system: "cloudsuite", secret: JSONValue.object(fields).canonicalJSON())
        } throws: { error in
            let message = (error as? VaultError)?.message ?? ""
            return message.contains("lacks saak") && message.contains("Backend Service") && !message.contains(sask)
        }
        var bytes = Data()
        for suffix in ["", "-wal"] { bytes += FileManager.default.contents(atPath: path + suffix) ?? Data() }
        #expect(bytes.range(of: Data(sask.utf8)) == nil)
    }
}
