import ArgumentParser
import ConnectorApp
import Foundation
import SyncEngine
import SyncStore
import Vault
#if canImport(Glibc)
import Glibc
#endif

struct Credentials: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sealed credentials (AES-256-GCM, a data key per credential wrapped by the master key).",
        discussion: "The master key comes from ML_CONNECTOR_MASTER_KEY (base64 of 32 bytes) or ML_CONNECTOR_MASTER_KEY_FILE (mode 600). Config files refer to a credential as vault:NAME.",
        subcommands: [CredentialsAdd.self, CredentialsList.self, CredentialsRemove.self, CredentialsRotateKey.self])
}

struct VaultOptions: ParsableArguments {
    @Option(help: "The state database that holds the sealed credentials.") var database = "ml-connector.sqlite"

    func vault() throws -> (SQLiteSyncStore, CredentialVault) {
        let store = try SQLiteSyncStore.open(path: database)
        return (store, CredentialVault(store: store, master: try MasterKey.fromEnvironment()))
    }
}

/// Runs a vault command, turning vault problems into a message and exit status 2.
func vaultCommand(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as VaultError {
        FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
        throw ExitCode(2)
    }
}

struct CredentialsAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Seal a secret under a name (replaces one of the same name).")
    @Argument(help: "The credential's name, used in configs as vault:NAME.") var name: String
    @Option(help: "The system it opens: \(CredentialVault.systems.joined(separator: ", ")).") var system: String
    @Option(help: "Take the secret from this environment variable instead of asking.") var fromEnv: String?
    @Option(help: "Take the secret from this file, whole (a CloudSuite .ionapi file); delete the file afterwards.") var fromFile: String?
    @OptionGroup var options: VaultOptions

    func validate() throws {
        if fromEnv != nil && fromFile != nil { throw ValidationError("give --from-env or --from-file, not both") }
    }

    func run() async throws {
        try await vaultCommand {
            let (_, vault) = try options.vault()
            let secret: String
            if let fromFile {
                guard let data = FileManager.default.contents(atPath: fromFile) else { throw VaultError("cannot read \(fromFile)") }
                secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } else if let fromEnv {
                guard let value = ProcessInfo.processInfo.environment[fromEnv], !value.isEmpty else {
                    throw VaultError("environment variable \(fromEnv) is not set")
                }
                secret = value
            } else {
                guard let value = readSecret(prompt: "Secret for \(name) (\(system)), not echoed: ") else {
                    throw VaultError("no secret given on standard input")
                }
                secret = value
            }
            try await vault.add(name: name, system: system, secret: secret)
            print("sealed \(name) (\(system))")
        }
    }
}

/// Reads one line from standard input; on a terminal, with echo turned off.
func readSecret(prompt: String) -> String? {
    guard isatty(STDIN_FILENO) != 0 else { return readLine(strippingNewline: true) }
    FileHandle.standardError.write(Data(prompt.utf8))
    var saved = termios()
    tcgetattr(STDIN_FILENO, &saved)
    var silent = saved
    silent.c_lflag &= ~tcflag_t(ECHO)
    tcsetattr(STDIN_FILENO, TCSANOW, &silent)
    defer {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        FileHandle.standardError.write(Data("\n".utf8))
    }
    return readLine(strippingNewline: true)
}

struct CredentialsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Names, systems and when last checked; never secrets.")
    @OptionGroup var options: VaultOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let store = try SQLiteSyncStore.open(path: options.database)
        let list = try await store.credentials()
        let formatter = ISO8601DateFormatter()
        if json {
            let rows: [JSONValue] = list.map {
                ["name": .string($0.name), "system": .string($0.system), "key": .string($0.keyFingerprint),
                 "created": .string(formatter.string(from: $0.createdAt)),
                 "lastChecked": $0.lastCheckedAt.map { .string(formatter.string(from: $0)) } ?? .null,
                 "lastCheckResult": $0.lastCheckResult.map { .string($0) } ?? .null]
            }
            print(JSONValue.array(rows).canonicalJSON())
            return
        }
        print("name                      system      master key    created              last checked")
        for item in list {
            print([item.name.padding(toLength: 25, withPad: " ", startingAt: 0), item.system.padding(toLength: 11, withPad: " ", startingAt: 0),
                   item.keyFingerprint.padding(toLength: 13, withPad: " ", startingAt: 0), formatter.string(from: item.createdAt),
                   item.lastCheckedAt.map { formatter.string(from: $0) + " " + (item.lastCheckResult ?? "") } ?? "never"].joined(separator: " "))
        }
        print("\(list.count) credential(s)")
    }
}

struct CredentialsRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Delete a credential.")
    @Argument var name: String
    @OptionGroup var options: VaultOptions

    func run() async throws {
        let store = try SQLiteSyncStore.open(path: options.database)
        guard try await store.removeCredential(named: name) else {
            FileHandle.standardError.write(Data("error: no credential named \(name)\n".utf8))
            throw ExitCode(1)
        }
        print("removed \(name)")
    }
}

struct CredentialsRotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key", abstract: "Re-wrap every credential under a new master key (secrets are not re-entered).")
    @Option(help: "File with the new master key (base64 of 32 bytes, mode 600).") var newKeyFile: String
    @OptionGroup var options: VaultOptions

    func run() async throws {
        try await vaultCommand {
            let (_, vault) = try options.vault()
            let count = try await vault.rotate(to: try MasterKey.load(file: newKeyFile))
            print("re-wrapped \(count) credential(s); use the new key from now on")
        }
    }
}
