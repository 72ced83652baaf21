import Cin7Client
import Foundation
import SyncEngine
import SysproClient

/// One supplier's attribute values in the form both sides compare: Cin7's names for currency and
/// payment term, empty text for "none".
public struct SupplierValues: Sendable, Equatable {
    var values: [SupplierAttribute: String] = [:]

    subscript(_ attribute: SupplierAttribute) -> String {
        get { values[attribute] ?? "" }
        set { values[attribute] = newValue }
    }

    /// The values of `attributes` as JSON, for a version basis and the audit.
    func json(_ attributes: [SupplierAttribute]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: attributes.map { ($0.rawValue, JSONValue.string(self[$0])) }))
    }
}

/// Matching and comparing suppliers between SYSPRO and Cin7 (flow 004).
enum SupplierMatch {
    /// A name as both sides are compared on: upper-cased, accents folded, letters and digits
    /// only, and a trailing legal form dropped ("Acme Steel Pty. Ltd." and "ACME STEEL" match).
    static func normalisedName(_ name: String) -> String {
        let folded = name.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: Locale(identifier: "en_US_POSIX")).uppercased()
        var words = folded.split { !($0.isLetter || $0.isNumber) }.map(String.init)
        let forms: Set<String> = ["PTY", "LTD", "LIMITED", "LLC", "INC", "INCORPORATED", "CO", "CORP", "CORPORATION", "COMPANY", "GMBH", "PLC", "LLP"]
        while words.count > 1, let last = words.last, forms.contains(last) { words.removeLast() }
        return words.joined()
    }

    /// A SYSPRO supplier code (`ApSupplier.Supplier`, 15 characters) as both sides compare it.
    static func normalisedCode(_ code: String) -> String { code.trimmingCharacters(in: .whitespaces).uppercased() }

    /// A new SYSPRO supplier code for a Cin7 supplier: its normalised name, 15 characters at most,
    /// with a number instead of its last characters while the code is taken.
    static func newCode(for name: String, taken: (String) -> Bool) -> String? {
        let base = String(normalisedName(name).filter { $0.isASCII }.prefix(15))
        guard !base.isEmpty else { return nil }
        if !taken(base) { return base }
        for n in 2..<1000 {
            let suffix = String(n)
            let code = String(base.prefix(15 - suffix.count)) + suffix
            if !taken(code) { return code }
        }
        return nil
    }

    // MARK: SYSPRO rows

    static func text(_ row: JSONValue, _ column: String) -> String {
        row[column]?.scalarText.trimmingCharacters(in: .whitespaces) ?? ""
    }

    /// The values of a SYSPRO `ApSupplier` row. A currency or terms code that `settings` cannot
    /// translate is left empty unless `strict` names it: then the row cannot go anywhere
    /// that attribute is copied to, and the error says which mapping to add.
    static func sysproValues(_ row: JSONValue, settings: SysproCin7Settings, strict: Set<SupplierAttribute>) throws -> SupplierValues {
        var values = SupplierValues()
        let code = text(row, "Supplier")
        values[.name] = text(row, "SupplierName")
        let currency = text(row, "Currency")
        if !currency.isEmpty {
            if let iso = settings.currencies[currency] {
                values[.currency] = iso
            } else if strict.contains(.currency) {
                throw SyncError(.missingMapping, "supplier \(code): SYSPRO currency '\(currency)' has no Cin7 currency; add \"\(currency)\": <ISO code> to settings.currencies")
            }
        }
        let terms = text(row, "TermsCode")
        if !terms.isEmpty {
            if let name = settings.paymentTerms[terms] {
                values[.terms] = name
            } else if strict.contains(.terms) {
                throw SyncError(.missingMapping, "supplier \(code): SYSPRO terms code '\(terms)' has no Cin7 payment term; add \"\(terms)\": <payment term name> to settings.paymentTerms")
            }
        }
        values[.email] = text(row, "Email")
        values[.phone] = text(row, "Telephone")
        values[.taxNumber] = text(row, "TaxRegnNum")
        return values
    }

    /// The `ApSupplier` columns (APSSSP elements) an attribute is written to, with SYSPRO's code
    /// for Cin7's currency and payment term.
    /// - Throws: `.missingMapping` for a Cin7 currency or term no mapping row leads back to.
    static func sysproColumn(_ attribute: SupplierAttribute, _ value: String, settings: SysproCin7Settings, supplier: String) throws -> (String, String) {
        switch attribute {
        case .name: return ("SupplierName", String(value.prefix(50)))
        case .currency:
            guard value.isEmpty || settings.currencies.contains(where: { $0.value == value }) else {
                throw SyncError(.missingMapping, "Cin7 supplier \(supplier): currency \(value) has no SYSPRO currency code; add <SYSPRO code>: \(value) to settings.currencies")
            }
            return ("Currency", settings.currencies.filter { $0.value == value }.map(\.key).sorted().first ?? "")
        case .terms:
            guard value.isEmpty || settings.paymentTerms.contains(where: { $0.value == value }) else {
                throw SyncError(.missingMapping, "Cin7 supplier \(supplier): payment term '\(value)' has no SYSPRO terms code; add <terms code>: \(value) to settings.paymentTerms")
            }
            return ("TermsCode", settings.paymentTerms.filter { $0.value == value }.map(\.key).sorted().first ?? "")
        case .email: return ("Email", value)
        case .phone: return ("Telephone", value)
        case .taxNumber: return ("TaxRegnNum", value)
        }
    }

    // MARK: Cin7 records

    /// A Cin7 supplier's default contact (the one marked default, else the first).
    static func defaultContact(_ supplier: JSONValue) -> JSONValue? {
        let contacts = supplier["Contacts"]?.arrayValue ?? []
        return contacts.first { $0["Default"]?.boolValue == true } ?? contacts.first
    }

    static func cin7Values(_ supplier: JSONValue) -> SupplierValues {
        var values = SupplierValues()
        func text(_ value: JSONValue?) -> String { value?.stringValue?.trimmingCharacters(in: .whitespaces) ?? "" }
        values[.name] = text(supplier["Name"])
        values[.currency] = text(supplier["Currency"])
        values[.terms] = text(supplier["PaymentTerm"])
        values[.taxNumber] = text(supplier["TaxNumber"])
        let contact = defaultContact(supplier)
        values[.email] = text(contact?["Email"])
        values[.phone] = text(contact?["Phone"])
        return values
    }

    /// A `PUT /supplier` body that sets `changes` on `supplier` (contact fields through its
    /// default contact, made when there is none), or `nil` when nothing changes.
    static func cin7Update(_ supplier: JSONValue, changes: [SupplierAttribute: String], extra: [String: JSONValue] = [:]) -> JSONValue? {
        guard !changes.isEmpty || !extra.isEmpty, let id = supplier["ID"] else { return nil }
        var body: [String: JSONValue] = ["ID": id]
        var contact: [String: JSONValue]?
        for (attribute, value) in changes {
            switch attribute {
            case .name: body["Name"] = .string(value)
            case .currency: body["Currency"] = .string(value)
            case .terms: body["PaymentTerm"] = .string(value)
            case .taxNumber: body["TaxNumber"] = .string(value)
            case .email, .phone:
                if contact == nil {
                    contact = defaultContact(supplier).map { ["ID": $0["ID"] ?? .null] } ?? ["Name": "Accounts", "Default": true]
                }
                contact?[attribute == .email ? "Email" : "Phone"] = .string(value)
            }
        }
        if let contact { body["Contacts"] = [.object(contact)] }
        body.merge(extra) { _, new in new }
        return .object(body)
    }

    /// The attributes of `owned` whose values differ.
    static func differences(_ from: SupplierValues, _ to: SupplierValues, owned: [SupplierAttribute]) -> [SupplierAttribute: String] {
        var changes: [SupplierAttribute: String] = [:]
        for attribute in owned where from[attribute] != to[attribute] { changes[attribute] = from[attribute] }
        return changes
    }
}
