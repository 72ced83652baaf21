import Foundation
import Testing
import Vault

@Suite(.timeLimit(.minutes(2))) struct VaultTests {
    @Test func sealsAndOpensWithEnvelopeEncryption() throws {
        let (master, _) = MasterKey.generate()
        let sealed = try SealedSecret.seal("s3cr3t-client-secret", name: "procore-prod", system: "procore", master: master)
        #expect(sealed.ciphertext.range(of: Data("s3cr3t".utf8)) == nil)
        #expect(try sealed.open(name: "procore-prod", system: "procore", master: master) == "s3cr3t-client-secret")
        // the same secret sealed twice differs (fresh data key and nonce)
        let again = try SealedSecret.seal("s3cr3t-client-secret", name: "procore-prod", system: "procore", master: master)
        #expect(again.ciphertext != sealed.ciphertext)
    }

    @Test func aWrongMasterKeyIsNamedNotGarbage() throws {
        let (master, _) = MasterKey.generate()
        let (other, _) = MasterKey.generate()
        let sealed = try SealedSecret.seal("x", name: "a", system: "cin7", master: master)
        do {
            _ = try sealed.open(name: "a", system: "cin7", master: other)
            Issue.record("a wrong key opened the secret")
        } catch let error as VaultError {
            #expect(error.message.contains("does not open credential a"))
            #expect(error.message.contains(master.fingerprint))
        }
    }

    @Test func aRecordMovedToAnotherNameDoesNotOpen() throws {
        let (master, _) = MasterKey.generate()
        let sealed = try SealedSecret.seal("x", name: "a", system: "cin7", master: master)
        #expect(throws: VaultError.self) { try sealed.open(name: "b", system: "cin7", master: master) }
        var tampered = sealed
        tampered.ciphertext[tampered.ciphertext.count - 1] ^= 0xFF
        #expect(throws: VaultError.self) { try tampered.open(name: "a", system: "cin7", master: master) }
    }

    @Test func rotationRewrapsTheKeyNotTheSecret() throws {
        let (old, _) = MasterKey.generate()
        let (new, _) = MasterKey.generate()
        let sealed = try SealedSecret.seal("pw", name: "sys", system: "syspro", master: old)
        let rotated = try sealed.rewrapped(name: "sys", system: "syspro", from: old, to: new)
        #expect(rotated.ciphertext == sealed.ciphertext)
        #expect(rotated.wrappedKey != sealed.wrappedKey)
        #expect(try rotated.open(name: "sys", system: "syspro", master: new) == "pw")
        #expect(throws: VaultError.self) { try rotated.open(name: "sys", system: "syspro", master: old) }
    }

    @Test func masterKeysComeFromEnvironmentOrAnOwnerOnlyFile() throws {
        let (_, text) = MasterKey.generate()
        #expect(try MasterKey.fromEnvironment(["ML_CONNECTOR_MASTER_KEY": text]).fingerprint.count == 12)
        #expect(throws: VaultError.self) { try MasterKey.fromEnvironment([:]) }
        #expect(throws: VaultError.self) { try MasterKey(base64: Data(count: 16).base64EncodedString()) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlc-key-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        do {
            _ = try MasterKey.load(file: path)
            Issue.record("a world-readable key file was accepted")
        } catch let error as VaultError {
            #expect(error.message.contains("chmod 600"))
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try MasterKey.load(file: path).fingerprint == (try MasterKey(base64: text)).fingerprint)
    }
}
