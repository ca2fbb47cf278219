import GatewayModel
import PolicyEngine
import PolicyLanguage
import Testing

@Suite("Policy evaluator")
struct PolicyEvaluatorTests {
    let sales = Principal(userID: "1", companyID: "123", roles: ["sales"])
    let service = Principal(userID: "svc", companyID: nil, roles: ["service"])

    @Test("publish enrichment records where every field came from")
    func provenance() throws {
        let policy = try fixturePolicy()
        let evaluator = PolicyEvaluator(policy: policy)
        let intent = PublishIntent(
            eventType: "contact.email.sent",
            data: .object(["company_id": .number(123), "contact_id": .string("c-1")]),
            gdpr: GDPRContext(purpose: "support")
        )
        let decision = evaluator.decide(.publish(service, intent))
        let enrichment = try #require(decision.enrichment)
        #expect(enrichment.companyID == "123" && enrichment.region == "us-east-1")
        #expect(enrichment.gdpr == GDPRContext(consent: true, purpose: "support", retentionDays: 30, dataSubjectID: "c-1", legalBasis: "consent"))
        #expect(enrichment.provenance.purpose == .publisher)
        #expect(enrichment.provenance.retentionDays == .topicRule(fixtureLocation(line: 29, column: 49)))
        #expect(enrichment.provenance.consent == .defaults(fixtureLocation(line: 10, column: 20)))
        #expect(enrichment.provenance.dataSubjectID == .dataPath("data.contact_id", fixtureLocation(line: 29, column: 89)))
        #expect(decision.limits.checks.map(\.key.description) == ["publish:company:123:"])
        #expect(decision.limits.checks.first?.limit.gcra.limit == 5000)
    }

    @Test("retention falls back to the configuration when no rule sets it")
    func retentionFallback() throws {
        let text = "version: 1\ntopics:\n  - pattern: \"a.*\"\n"
        let policy = try PolicyCompiler(configuration: .init(defaultRegion: "ap-south-1", defaultRetentionDays: 90)).compile([
            PolicySource(path: "p.yaml", text: text)
        ])
        let decision = PolicyEvaluator(policy: policy).decide(
            .publish(service, PublishIntent(eventType: "a.b", data: .object(["company_id": .string("9")])))
        )
        #expect(decision.enrichment?.gdpr.retentionDays == 90)
        #expect(decision.enrichment?.provenance.retentionDays == .configuration)
        #expect(decision.enrichment?.region == "ap-south-1")
        #expect(decision.limits.isEmpty)
    }

    @Test("delivery redacts PII for subscribers without pii_reader, and the redaction rewrites data")
    func redaction() throws {
        let evaluator = PolicyEvaluator(policy: try fixturePolicy())
        let subject = evaluator.subject(for: sales)
        let event = DeliveryIntent(eventType: "deal.stage.updated", companyID: "123")
        let verdict = evaluator.deliver(subject, event)
        #expect(verdict.isAllowed)
        #expect(evaluator.policy.piiPaths(in: verdict.redactionMask).map(\.text) == ["data.contact_email"])
        let decision = evaluator.decide(.deliver(sales, event))
        let data = JSONValue.object(["company_id": .number(123), "contact_email": .string("a@example.com"), "deal_id": .number(4)])
        #expect(
            decision.redaction.apply(to: data)
                == .object(["company_id": .number(123), "contact_email": .string("[redacted]"), "deal_id": .number(4)])
        )
        let reader = evaluator.subject(for: Principal(userID: "2", companyID: "123", roles: ["sales", "pii_reader"]))
        #expect(evaluator.deliver(reader, event).redactionMask == 0)
        // Subscribers with the same mask share one encoding of the event: the mask is the variant key.
        let manager = evaluator.subject(for: Principal(userID: "3", companyID: "123", roles: ["manager"]))
        #expect(evaluator.deliver(manager, event).redactionMask == verdict.redactionMask)
    }

    @Test("isolation: no role or wildcard lets an event reach another company")
    func isolation() throws {
        let evaluator = PolicyEvaluator(policy: try fixturePolicy())
        for roles in [["admin"], ["service"], ["admin", "pii_reader", "manager"], []] {
            for company: CompanyID? in ["456", "1234", "12", nil] {
                let subject = evaluator.subject(for: Principal(userID: "x", companyID: company, roles: roles))
                for type in ["deal.stage.updated", "timeline.object.created", "activity.task.completed"] {
                    let decision = evaluator.deliver(subject, DeliveryIntent(eventType: type, companyID: "123"))
                    #expect(!decision.isAllowed && decision.reason == .companyMismatch)
                }
            }
        }
    }

    @Test("reason codes map to the SPEC's wire codes and HTTP statuses")
    func wireCodes() {
        #expect(ReasonCode.topicNotWhitelisted.wireCode == "invalid_topic")
        #expect(ReasonCode.topicMalformed.httpStatus == 400)
        #expect(ReasonCode.roleNotAllowed.wireCode == "forbidden" && ReasonCode.roleNotAllowed.httpStatus == 403)
        #expect(ReasonCode.rateLimited.wireCode == "rate_limited" && ReasonCode.rateLimited.httpStatus == 429)
    }

    @Test("explain traces name the deciding rule's location; without explain there is no trace")
    func traces() throws {
        let evaluator = PolicyEvaluator(policy: try fixturePolicy())
        let quiet = evaluator.decide(.subscribe(sales, topic: "account.status.changed"))
        #expect(quiet.trace == nil)
        #expect(quiet.reason == .roleNotAllowed)
        let explained = evaluator.decide(.subscribe(sales, topic: "account.status.changed"), explain: true)
        let roles = try #require(explained.trace?.steps.first { $0.check == "roles" })
        #expect(!roles.passed)
        #expect(roles.location == fixtureLocation(line: 33, column: 16))
    }
}

@Suite("Hot-path verdicts")
struct HotPathVerdictTests {
    /// Principals of every kind the fixture policy tells apart, on nodes of three regions.
    let principals: [Principal] = [
        Principal(userID: "1", companyID: "123", roles: ["sales"]),
        Principal(userID: "2", companyID: "123", roles: ["viewer"]),
        Principal(userID: "3", companyID: "456", roles: ["sales", "pii_reader"]),
        Principal(userID: "4", companyID: "789", roles: ["sales"]),
        Principal(userID: "5", companyID: "1000", roles: ["admin"]),
        Principal(userID: "6", companyID: "bad id", roles: ["sales"]),
        Principal(userID: "svc", companyID: nil, roles: ["service"]),
        Principal(userID: "svc", companyID: "123", roles: ["service"]),
        Principal(userID: "7", companyID: nil, roles: ["sales"]),
    ]
    let topics = [
        "deal.stage.*", "deal.stage.updated", "deal.*", "timeline.object.created", "activity.*", "activity.task.completed",
        "contact.email.sent", "account.status.changed", "account.*", "unknown.topic", "deal..x", "*", "deal.stage.*.*",
    ]

    @Test("subscribe and publish verdicts agree with the explained decisions, reason and rule")
    func agreeWithDecisions() throws {
        let policy = try fixturePolicy()
        for region in [nil, Region("us-east-1"), Region("eu-west-1")] {
            let evaluator = PolicyEvaluator(policy: policy, nodeRegion: region)
            for principal in principals {
                let subject = evaluator.subject(for: principal)
                for topic in topics {
                    var trace: DecisionTrace? = DecisionTrace()
                    let decision = evaluator.subscribe(subject, topic: topic, trace: &trace)
                    let verdict = evaluator.subscribe(subject, topic: topic)
                    #expect(verdict.reason == decision.reason, "subscribe \(topic) by \(principal)")
                    if decision.isAllowed { #expect(Int(verdict.ruleIndex) == decision.ruleIndex) }
                    #expect(trace?.steps.isEmpty == false)
                }
                for eventType in topics {
                    for company in [JSONValue.string("123"), .number(456), .string("789"), .string("1000"), .string(""), .null] {
                        for asked in [nil, "eu-west-1", "us-east-1"] {
                            let intent = PublishIntent(eventType: eventType, data: .object(["company_id": company]), region: asked)
                            var trace: DecisionTrace? = nil
                            let decision = evaluator.publish(subject, intent, trace: &trace)
                            let verdict = evaluator.publish(subject, intent)
                            #expect(verdict.reason == decision.reason, "publish \(eventType) for \(company) by \(principal)")
                            guard verdict.isAllowed else { continue }
                            #expect(Int(verdict.ruleIndex) == decision.ruleIndex)
                            let enrichment = evaluator.enrich(intent, verdict)
                            #expect(enrichment.companyID == decision.enrichment?.companyID)
                            #expect(enrichment.region == decision.enrichment?.region)
                            #expect(enrichment.gdpr == decision.enrichment?.gdpr)
                            #expect(enrichment.provenance == decision.enrichment?.provenance)
                        }
                    }
                }
            }
        }
    }
}

@Suite("Shadow topic rules")
struct ShadowRuleTests {
    let text = """
        version: 1
        topics:
          - pattern: "deal.stage.*"
            subscribe: { roles: [sales, manager] }
          - pattern: "deal.stage.*"
            subscribe: { roles: [manager] }
            shadow: true
          - pattern: "activity.*"
          - pattern: "invoice.*"
            shadow: true
        """

    @Test("the live policy ignores shadow rules; the shadow view enforces them in place of the live rule with the same pattern")
    func shadowView() throws {
        let policy = try PolicyCompiler().compile([PolicySource(path: "shadow.yaml", text: text)])
        let evaluator = PolicyEvaluator(policy: policy)
        let shadow = try #require(evaluator.shadow)
        #expect(shadow.shadow == nil)
        let sales = evaluator.subject(for: Principal(userID: "1", companyID: "123", roles: ["sales"]))
        let manager = evaluator.subject(for: Principal(userID: "2", companyID: "123", roles: ["manager"]))
        #expect(evaluator.subscribe(sales, topic: "deal.stage.*").isAllowed)
        #expect(shadow.subscribe(sales, topic: "deal.stage.*").reason == .roleNotAllowed)
        #expect(shadow.subscribe(manager, topic: "deal.stage.*").isAllowed)
        // A live rule without a shadow counterpart is the same in both views; a new shadow pattern only in the shadow view.
        #expect(evaluator.subscribe(sales, topic: "activity.*").isAllowed && shadow.subscribe(sales, topic: "activity.*").isAllowed)
        #expect(evaluator.subscribe(sales, topic: "invoice.*").reason == .topicNotWhitelisted)
        #expect(shadow.subscribe(sales, topic: "invoice.*").isAllowed)
        var trace: DecisionTrace? = nil
        let explained = shadow.subscribe(sales, topic: "deal.stage.*", trace: &trace)
        #expect(explained.location == SourceLocation(file: "shadow.yaml", line: 6, column: 16))
        #expect(PolicyEvaluator(policy: try fixturePolicy()).shadow == nil)
    }

    @Test("two shadow rules with one pattern are a duplicate; a shadow rule may restate a live pattern")
    func duplicates() throws {
        let twice = text + "\n  - pattern: \"deal.stage.*\"\n    shadow: true\n"
        let failure = #expect(throws: PolicyDiagnostics.self) { try PolicyCompiler().compile([PolicySource(path: "shadow.yaml", text: twice)]) }
        #expect(
            rendered(failure?.items ?? []) == [
                "shadow.yaml:11:14: error[duplicate-pattern]: pattern 'deal.stage.*' is already whitelisted at shadow.yaml:5:14 (merge the two rules)"
            ]
        )
    }
}
