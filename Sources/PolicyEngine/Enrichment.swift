public import GatewayModel
public import PolicyLanguage

/// Where an enriched field's value came from.
public enum FieldSource: Sendable, Hashable, CustomStringConvertible {
    /// The publisher set it.
    case publisher
    /// A topic rule set it.
    case topicRule(SourceLocation)
    /// `defaults` set it.
    case defaults(SourceLocation)
    /// The company's tenant entry (home region) set it.
    case tenant(SourceLocation?)
    /// Read from the event's data through a `data_subject` path declared here.
    case dataPath(String, SourceLocation)
    /// The gateway's configuration (e.g. `GDPR_RETENTION_DAYS`).
    case configuration

    public var description: String {
        switch self {
        case .publisher: "publisher"
        case .topicRule(let location): "topic rule at \(location)"
        case .defaults(let location): "defaults at \(location)"
        case .tenant(let location): location.map { "tenant at \($0)" } ?? "tenant default"
        case .dataPath(let path, let location): "\(path) (data_subject at \(location))"
        case .configuration: "configuration"
        }
    }
}

/// Provenance of each field the policy attaches to a published event.
public struct Provenance: Sendable, Hashable {
    public var region: FieldSource
    public var consent: FieldSource?
    public var purpose: FieldSource?
    public var retentionDays: FieldSource?
    public var dataSubjectID: FieldSource?
    public var legalBasis: FieldSource?
}

/// What publish attaches to an event: its company, region and GDPR context, with provenance.
/// A reference type: decisions stay small to return, and the enrichment is made once per publish.
public final class Enrichment: Sendable {
    /// `metadata.company_id`.
    public let companyID: CompanyID
    /// `metadata.region`.
    public let region: Region
    /// `metadata.gdpr_context`.
    public let gdpr: GDPRContext
    /// Where each field came from.
    public let provenance: Provenance
    /// Every data subject the event names: `gdpr.dataSubjectID` first, then the topic's `data_subject` value
    /// when the publisher's `gdpr_context.data_subject_id` overrode a different one. Erasure checks them all.
    public let dataSubjectIDs: [String]

    /// Creates an enrichment; `dataSubjectIDs` defaults to `gdpr.dataSubjectID`.
    public init(companyID: CompanyID, region: Region, gdpr: GDPRContext, provenance: Provenance, dataSubjectIDs: [String]? = nil) {
        self.companyID = companyID
        self.region = region
        self.gdpr = gdpr
        self.provenance = provenance
        self.dataSubjectIDs = dataSubjectIDs ?? gdpr.dataSubjectID.map { [$0] } ?? []
    }
}

/// The fields removed from an event's data before it reaches one subscriber.
public struct Redaction: Sendable {
    /// Paths under `data` to replace with ``placeholder``.
    public var paths: [DataPath]
    /// Nothing redacted.
    public static let none = Redaction(paths: [])

    /// Redacts `paths`.
    public init(paths: [DataPath]) { self.paths = paths }
    /// What a redacted value becomes.
    public static let placeholder = JSONValue.string("[redacted]")

    /// Whether anything is redacted.
    public var isEmpty: Bool { paths.isEmpty }

    /// `data` with every path that exists in it replaced by ``placeholder``.
    public func apply(to data: JSONValue) -> JSONValue {
        paths.reduce(data) { data, path in
            guard path.value(in: data) != nil else { return data }
            return data.replacing(path: path.keys.map { Substring($0) }[...], with: Self.placeholder)
        }
    }
}
