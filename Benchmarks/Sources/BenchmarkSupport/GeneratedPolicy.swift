public import GatewayModel
public import PolicyEngine
public import PolicyLanguage

/// A large, deterministic policy: 1,000 topic patterns over 100 domains and 10,000 companies on
/// two plans in three regions, the size the policy-engine issue asks decisions to be fast at.
public enum GeneratedPolicy {
    public static let domains = 100
    public static let entitiesPerDomain = 9
    public static let companies = 10_000

    /// The policy's YAML text (about 14,000 lines).
    public static var yaml: String {
        var text = "version: 1\ndefaults:\n  region: us-east-1\n  gdpr: { consent: true, purpose: service_delivery, retention_days: 365 }\ntopics:\n"
        for domain in 0..<domains {
            for entity in 0..<entitiesPerDomain {
                text += "  - pattern: \"dom\(domain).ent\(entity).*\"\n"
                text += "    subscribe: { roles: [sales, manager, team\(domain % 20)] }\n"
                text += "    publish: { roles: [service] }\n"
                if entity == 0 {
                    text += "    gdpr: { purpose: sales_pipeline, data_subject: \"data.contact_id\" }\n"
                    text += "    pii: [\"data.contact_email\"]\n"
                }
            }
            text += "  - pattern: \"dom\(domain).audit.created\"\n    subscribe: { roles: [admin] }\n"
        }
        text += "tenants:\n  default: { plan: standard, home_region: us-east-1, allowed_regions: [us-east-1, us-west-2] }\n  companies:\n"
        for company in 0..<companies {
            switch company % 3 {
            case 0: text += "    \"\(company)\": { plan: enterprise }\n"
            case 1: text += "    \"\(company)\": { home_region: eu-west-1, allowed_regions: [eu-west-1, eu-central-1] }\n"
            default: text += "    \"\(company)\": { plan: standard }\n"
            }
        }
        text += """
            plans:
              standard:
                rate_limits:
                  - { scope: ip, action: connect, limit: 20, per: second }
                  - { scope: user, action: subscribe, limit: 20, per: second, burst: 40 }
                  - { scope: company, action: publish, limit: 500, per: second }
                  - { scope: user, action: deliver, limit: 1000, per: second }
              enterprise:
                extends: standard
                rate_limits:
                  - { scope: company, action: publish, limit: 5000, per: second }

            """
        return text
    }
}

/// Prepared inputs for decisions against the generated policy, rotating over `count` requests.
public struct DecisionInputs: Sendable {
    public let evaluator: PolicyEvaluator
    public let subjects: [Subject]
    public let deliveries: [DeliveryIntent]
    public let patterns: [String]
    public let service: Subject
    public let publishes: [PublishIntent]
    public let count = 1024

    /// Compiles the generated policy and prepares the requests.
    public init() throws {
        let policy = try PolicyCompiler().compile([PolicySource(path: "generated.yaml", text: GeneratedPolicy.yaml)])
        let evaluator = PolicyEvaluator(policy: policy)
        let count = 1024
        let subjects = (0..<count).map { index in
            evaluator.subject(
                for: Principal(userID: "u\(index)", companyID: CompanyID(String(index * 7 % GeneratedPolicy.companies)), roles: ["sales"])
            )
        }
        let deliveries = (0..<count).map { index in
            DeliveryIntent(
                eventType: "dom\(index % GeneratedPolicy.domains).ent\(index % GeneratedPolicy.entitiesPerDomain).updated",
                companyID: subjects[index].principal.companyID!
            )
        }
        self.evaluator = evaluator
        self.subjects = subjects
        self.deliveries = deliveries
        self.patterns = (0..<count).map { index in "dom\(index % GeneratedPolicy.domains).ent\(index % GeneratedPolicy.entitiesPerDomain).*" }
        self.service = evaluator.subject(for: Principal(userID: "svc", companyID: nil, roles: ["service"]))
        self.publishes = (0..<count).map { index in
            PublishIntent(
                eventType: deliveries[index].eventType,
                data: .object([
                    "company_id": .string(deliveries[index].companyID.rawValue), "contact_id": .string("c-\(index)"),
                    "deal_id": .number(JSONNumber(index)),
                ])
            )
        }
    }
}
