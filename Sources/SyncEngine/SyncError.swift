/// An error with a stable, matchable code and a message that names the record and the fix.
///
/// The message never carries a token, password or full payload: it is written to the audit trail,
/// the quarantine and the console.
public struct SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable, CaseIterable {
        /// No cost-code mapping for a (GL account, cost center) pair, or the mapped code is absent.
        case missingCostCode
        /// A value has no row in a mapping table the flow needs (a currency, a payment term, a
        /// product for a stock code), or the mapped record is missing in the destination.
        case missingMapping
        /// The GL account a line posts to is not in the destination's chart of accounts, or not active.
        case missingAccount
        /// The source supplier has no vendor in the destination.
        case unknownSupplier
        /// The source record names a project the destination does not have.
        case unknownProject
        /// A source record failed validation (missing field, bad number, bad date).
        case invalidRecord
        /// An invoice arrived before the purchase order it bills.
        case waitingForDependency
        /// The commitment exceeds the remaining budget of its cost code under the `hold` policy.
        case overBudget
        /// Credentials were refused, or a token/session could not be renewed.
        case authFailed
        /// The credentials were accepted but lack a permission the call needs (HTTP 403 and kin).
        case forbidden
        /// The company, tenant or database the connection names does not exist there, or is not
        /// open to these credentials (a wrong SYSPRO company, M3 `CONO`, Procore company id).
        case wrongTenant
        /// The destination kept answering 429 past the retry budget.
        case rateLimited
        /// A transport failure or a 5xx that survived the retries.
        case transient
        /// The destination rejected the record (4xx other than auth/rate limit).
        case rejected
        /// The destination answered something we cannot read.
        case unexpectedResponse
        /// The configuration is incomplete or contradictory.
        case invalidConfig
        /// Another process holds this integration's lease (a second `sync`, a `replay` while
        /// `sync --watch` runs): only one may write at a time.
        case busy
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Whether a later cycle may succeed without anyone changing the source record: the record is
    /// held and retried automatically. Otherwise it waits in quarantine for a fix and a replay.
    public var isRetryable: Bool {
        switch code {
        case .missingCostCode, .missingMapping, .missingAccount, .unknownSupplier, .unknownProject, .waitingForDependency, .overBudget,
            .rateLimited, .transient, .authFailed, .forbidden, .wrongTenant, .busy:
            return true
        case .invalidRecord, .rejected, .unexpectedResponse, .invalidConfig:
            return false
        }
    }
}
