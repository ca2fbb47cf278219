import PolicyLanguage

/// A large, deterministic policy: 1,000 topic patterns over 100 domains and 10,000 companies on
/// two plans in three regions, the size the policy-engine issue asks decisions to be fast at.
enum GeneratedPolicy {
    static let domains = 100
    static let entitiesPerDomain = 9
    static let companies = 10_000

    static var yaml: String {
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
