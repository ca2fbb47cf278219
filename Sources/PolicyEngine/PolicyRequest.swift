public import GatewayModel

/// The actions the policy decides on.
public enum PolicyAction: String, Hashable, Sendable, CaseIterable {
    case connect, subscribe, publish, deliver, poll
}

/// An event a principal wants to publish (the body of `POST /api/realtime/publish/`).
public struct PublishIntent: Sendable {
    /// `event_type`.
    public var eventType: String
    /// `data`; its `company_id` names the event's company.
    public var data: JSONValue { didSet { companyText = Self.companyText(in: data) } }
    /// `data.company_id` as text (a string, or an integer below 2^53), read once when `data` is set,
    /// which is when the request is parsed: deciding does not look into `data` again.
    public private(set) var companyText: String?
    /// The region the publisher asks for, if any.
    public var region: String?
    /// GDPR fields the publisher sets; they win over the policy's.
    public var gdpr: GDPRContext?

    /// Creates an intent.
    public init(eventType: String, data: JSONValue, region: String? = nil, gdpr: GDPRContext? = nil) {
        self.eventType = eventType
        self.data = data
        self.companyText = Self.companyText(in: data)
        self.region = region
        self.gdpr = gdpr
    }

    static func companyText(in data: JSONValue) -> String? {
        guard case .object(let members) = data else { return nil }
        return members["company_id"]?.identifierString
    }
}

/// What a delivery decision needs to know of a stored event.
public struct DeliveryIntent: Sendable {
    /// The event's type.
    public var eventType: String
    /// The event's company (`metadata.company_id`).
    public var companyID: CompanyID
    /// The event's region (`metadata.region`).
    public var region: Region?

    /// Creates an intent.
    public init(eventType: String, companyID: CompanyID, region: Region? = nil) {
        self.eventType = eventType
        self.companyID = companyID
        self.region = region
    }
}

/// One question for the evaluator, with every input explicit.
public enum PolicyRequest: Sendable {
    /// May this principal open a connection on this node?
    case connect(Principal)
    /// May this principal subscribe to this pattern?
    case subscribe(Principal, topic: String)
    /// May this principal publish this event, and how is it enriched?
    case publish(Principal, PublishIntent)
    /// May this event be delivered to this principal, and what is redacted?
    case deliver(Principal, DeliveryIntent)
    /// May this principal long-poll these patterns?
    case poll(Principal, topics: [String])

    /// The action asked about.
    public var action: PolicyAction {
        switch self {
        case .connect: .connect
        case .subscribe: .subscribe
        case .publish: .publish
        case .deliver: .deliver
        case .poll: .poll
        }
    }

    /// The principal asking.
    public var principal: Principal {
        switch self {
        case .connect(let principal), .subscribe(let principal, _), .publish(let principal, _), .deliver(let principal, _), .poll(let principal, _):
            principal
        }
    }
}
