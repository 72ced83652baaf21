import Foundation
import SyncEngine

/// The supplier attributes flow 004 keeps equal on both sides, and where each lives.
///
/// | attribute | SYSPRO `ApSupplier` | Cin7 supplier |
/// |---|---|---|
/// | `name` | `SupplierName` | `Name` |
/// | `currency` | `Currency` (through ``SysproCin7Settings/currencies``) | `Currency` |
/// | `terms` | `TermsCode` (through ``SysproCin7Settings/paymentTerms``) | `PaymentTerm` |
/// | `email` | `Email` | the default contact's `Email` |
/// | `phone` | `Telephone` | the default contact's `Phone` |
/// | `taxNumber` | `TaxRegnNum` | `TaxNumber` |
public enum SupplierAttribute: String, Sendable, Codable, CaseIterable, Comparable {
    case name, currency, terms, email, phone, taxNumber

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Which side's value wins for an attribute.
public enum SupplierOwner: String, Sendable, Codable { case syspro, cin7 }

/// Flow 004's per-customer settings: SYSPRO ↔ Cin7 Core suppliers, SYSPRO POs and AP invoices into
/// Cin7 purchases. Every key has a default; `glAccounts`, `products` and `currencies` usually need
/// the site's values.
public struct SysproCin7Settings: Codable, Sendable, Equatable {
    // MARK: reading SYSPRO
    /// `PorMasterHdr` column the PO watermark follows (SYSPRO has no `PostDate`; syspro.md §9).
    public var poWatermarkColumn = "OrderEntryDate"
    /// `ApInvoice` column the invoice watermark follows (`InvoiceDate` or `JournalDate`).
    public var invoiceWatermarkColumn = "InvoiceDate"
    /// The `ApInvoice` column that names the PO an invoice bills (site-specific).
    public var invoicePurchaseOrderColumn = "PurchaseOrder"
    public var overlapDays = 3
    public var pageSize = 200
    public var lineBatchSize = 40
    /// Open POs are read again in full this often (hours; 0 = never): a receipt or an edit after
    /// the overlap window has no date column the watermark could follow.
    public var reconcileHours = 24.0

    // MARK: suppliers
    /// Which side owns each attribute: its value is copied to the other side, never back.
    public var supplierOwners: [SupplierAttribute: SupplierOwner] = [
        .name: .syspro, .currency: .syspro, .terms: .syspro, .email: .cin7, .phone: .cin7, .taxNumber: .cin7,
    ]
    /// The Cin7 supplier field that keeps the SYSPRO supplier code (Cin7 has no code of its own).
    public var codeAttribute = "AdditionalAttribute1"
    /// SYSPRO currency code → ISO code (`$` → `USD`).
    public var currencies: [String: String] = ["$": "USD"]
    /// SYSPRO `TermsCode` → Cin7 payment term name.
    public var paymentTerms: [String: String] = ["30": "30 days", "15": "15 days", "07": "7 days", "7": "7 days", "CD": "COD"]
    /// What a supplier made in Cin7 gets for the fields SYSPRO has no value for.
    public var newSupplierAccountPayable = "800"
    public var newSupplierTaxRule = "Tax on Purchases"
    public var newSupplierPaymentTerm = "30 days"
    /// Whether a Cin7 supplier that matches no SYSPRO supplier is added to SYSPRO (APSSSP).
    public var createSysproSuppliers = true
    /// Cin7 suppliers are re-read from their watermark minus this many minutes.
    public var cin7OverlapMinutes = 5

    // MARK: purchases
    /// `INVOICE` (invoice first), `STOCK` (stock first), or `auto`: `STOCK` when SYSPRO has
    /// received goods on the PO by the time it reaches Cin7, else `INVOICE`. (The seed's
    /// "RECEIVE" is Cin7's `STOCK`; Cin7 has no `RECEIVE` value.)
    public var approach = "auto"
    /// SYSPRO `OrderStatus` values whose PO goes to Cin7 as a DRAFT order (suspended ones);
    /// every other open status is an AUTHORISED order.
    public var draftOrderStatuses = ["S"]
    /// SYSPRO stock code → Cin7 product SKU, where they differ (the stock code is the SKU otherwise).
    public var products: [String: String] = [:]
    /// The Cin7 SKU for SYSPRO lines without a stock code (non-stock lines); none: such a PO is held.
    public var nonStockProduct: String?
    /// SYSPRO GL code (`MGlCode` of the PO line) → Cin7 account code of the invoice line; a code
    /// not listed goes as it is. Every account is checked against Cin7's chart before posting.
    public var glAccounts: [String: String] = [:]
    /// Cin7 location of stock received on a stock-first purchase.
    public var location = "Main Warehouse"
    /// Cin7 tax rule of purchase lines.
    public var taxRule = "Tax on Purchases"
    /// The largest difference between an AP invoice and its PO's lines that still posts (a Cin7
    /// simple purchase takes one invoice for the order).
    public var invoiceTolerance = 0.01
    /// The start of the reference written into each Cin7 purchase (`SYSPRO-PO-<number>`).
    public var originPrefix = "SYSPRO"

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case poWatermarkColumn, invoiceWatermarkColumn, invoicePurchaseOrderColumn, overlapDays, pageSize, lineBatchSize, reconcileHours
        case supplierOwners, codeAttribute, currencies, paymentTerms, newSupplierAccountPayable, newSupplierTaxRule, newSupplierPaymentTerm
        case createSysproSuppliers, cin7OverlapMinutes, approach, draftOrderStatuses, products, nonStockProduct, glAccounts, location, taxRule
        case invoiceTolerance, originPrefix
    }

    public static let keys = CodingKeys.allCases.map(\.rawValue)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SysproCin7Settings()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        poWatermarkColumn = try value(.poWatermarkColumn, d.poWatermarkColumn)
        invoiceWatermarkColumn = try value(.invoiceWatermarkColumn, d.invoiceWatermarkColumn)
        invoicePurchaseOrderColumn = try value(.invoicePurchaseOrderColumn, d.invoicePurchaseOrderColumn)
        overlapDays = try value(.overlapDays, d.overlapDays)
        pageSize = try value(.pageSize, d.pageSize)
        lineBatchSize = try value(.lineBatchSize, d.lineBatchSize)
        reconcileHours = try value(.reconcileHours, d.reconcileHours)
        let owners = try value(.supplierOwners, [String: String]())
        supplierOwners = d.supplierOwners
        for (key, owner) in owners {
            guard let attribute = SupplierAttribute(rawValue: key) else {
                throw SyncError(.invalidConfig, "settings.supplierOwners: unknown attribute '\(key)'; the attributes are \(SupplierAttribute.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let side = SupplierOwner(rawValue: owner) else {
                throw SyncError(.invalidConfig, "settings.supplierOwners.\(key): '\(owner)' is not syspro or cin7")
            }
            supplierOwners[attribute] = side
        }
        codeAttribute = try value(.codeAttribute, d.codeAttribute)
        currencies = try value(.currencies, d.currencies)
        paymentTerms = try value(.paymentTerms, d.paymentTerms)
        newSupplierAccountPayable = try value(.newSupplierAccountPayable, d.newSupplierAccountPayable)
        newSupplierTaxRule = try value(.newSupplierTaxRule, d.newSupplierTaxRule)
        newSupplierPaymentTerm = try value(.newSupplierPaymentTerm, d.newSupplierPaymentTerm)
        createSysproSuppliers = try value(.createSysproSuppliers, d.createSysproSuppliers)
        cin7OverlapMinutes = try value(.cin7OverlapMinutes, d.cin7OverlapMinutes)
        approach = try value(.approach, d.approach)
        draftOrderStatuses = try value(.draftOrderStatuses, d.draftOrderStatuses)
        products = try value(.products, d.products)
        nonStockProduct = try c.decodeIfPresent(String.self, forKey: .nonStockProduct)
        glAccounts = try value(.glAccounts, d.glAccounts)
        location = try value(.location, d.location)
        taxRule = try value(.taxRule, d.taxRule)
        invoiceTolerance = try value(.invoiceTolerance, d.invoiceTolerance)
        originPrefix = try value(.originPrefix, d.originPrefix)
        guard ["INVOICE", "STOCK", "auto"].contains(approach) else {
            throw SyncError(.invalidConfig, "settings.approach '\(approach)' is not INVOICE, STOCK or auto (Cin7 has no RECEIVE approach: goods first is STOCK)")
        }
        guard codeAttribute.range(of: #"^AdditionalAttribute([1-9]|10)$"#, options: .regularExpression) != nil else {
            throw SyncError(.invalidConfig, "settings.codeAttribute '\(codeAttribute)' is not one of Cin7's AdditionalAttribute1…10")
        }
        guard (1...5000).contains(pageSize) else { throw SyncError(.invalidConfig, "settings.pageSize \(pageSize) is outside 1…5000 (SYSPRO's OData cap)") }
        guard (0...60).contains(overlapDays) else { throw SyncError(.invalidConfig, "settings.overlapDays \(overlapDays) is outside 0…60") }
        guard invoiceTolerance >= 0 else { throw SyncError(.invalidConfig, "settings.invoiceTolerance is negative") }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(poWatermarkColumn, forKey: .poWatermarkColumn)
        try c.encode(invoiceWatermarkColumn, forKey: .invoiceWatermarkColumn)
        try c.encode(invoicePurchaseOrderColumn, forKey: .invoicePurchaseOrderColumn)
        try c.encode(overlapDays, forKey: .overlapDays)
        try c.encode(pageSize, forKey: .pageSize)
        try c.encode(lineBatchSize, forKey: .lineBatchSize)
        try c.encode(reconcileHours, forKey: .reconcileHours)
        try c.encode(Dictionary(uniqueKeysWithValues: supplierOwners.map { ($0.key.rawValue, $0.value.rawValue) }), forKey: .supplierOwners)
        try c.encode(codeAttribute, forKey: .codeAttribute)
        try c.encode(currencies, forKey: .currencies)
        try c.encode(paymentTerms, forKey: .paymentTerms)
        try c.encode(newSupplierAccountPayable, forKey: .newSupplierAccountPayable)
        try c.encode(newSupplierTaxRule, forKey: .newSupplierTaxRule)
        try c.encode(newSupplierPaymentTerm, forKey: .newSupplierPaymentTerm)
        try c.encode(createSysproSuppliers, forKey: .createSysproSuppliers)
        try c.encode(cin7OverlapMinutes, forKey: .cin7OverlapMinutes)
        try c.encode(approach, forKey: .approach)
        try c.encode(draftOrderStatuses, forKey: .draftOrderStatuses)
        try c.encode(products, forKey: .products)
        try c.encodeIfPresent(nonStockProduct, forKey: .nonStockProduct)
        try c.encode(glAccounts, forKey: .glAccounts)
        try c.encode(location, forKey: .location)
        try c.encode(taxRule, forKey: .taxRule)
        try c.encode(invoiceTolerance, forKey: .invoiceTolerance)
        try c.encode(originPrefix, forKey: .originPrefix)
    }

    /// The attributes `side` owns, in a stable order.
    func owned(by side: SupplierOwner) -> [SupplierAttribute] {
        SupplierAttribute.allCases.filter { (supplierOwners[$0] ?? .syspro) == side }
    }

    /// How flow 004 reads SYSPRO: GL codes whole (they map to Cin7 accounts), no job needed.
    var shape: SysproShape {
        var shape = SysproShape()
        shape.poWatermarkColumn = poWatermarkColumn
        shape.invoiceWatermarkColumn = invoiceWatermarkColumn
        shape.invoicePurchaseOrderColumn = invoicePurchaseOrderColumn
        shape.glSeparator = nil
        shape.projectColumn = nil
        shape.destination = "Cin7"
        return shape
    }
}
