import ArgumentParser
import Foundation
import GatewayModel
import PolicyEngine
import PolicyLanguage

/// `policy explain`: one decision with its full trace, down to the YAML line that decided it.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain one decision with its full trace.",
        discussion: """
            Examples:
              policy explain --principal '{"user_id":1,"company_id":"123","roles":["sales"]}' --action subscribe --topic 'deal.stage.*'
              policy explain --principal '{"user_id":"svc","roles":["service"]}' --action publish --event event.json
            Exit 0 when allowed, 1 when denied, 2 on usage errors.
            """
    )

    @Option(help: "The policy file or folder.")
    var policy: String = "policies"

    @Option(help: #"The principal as JSON: {"user_id", "company_id", "roles", "ip"}."#)
    var principal: String

    @Option(help: "connect, subscribe, publish, deliver or poll.")
    var action: String

    @Option(help: "The pattern for subscribe (comma-separated patterns for poll).")
    var topic: String?

    @Option(help: "A JSON file with the event for publish (event_type, data, region, gdpr_context) or deliver (an event envelope).")
    var event: String?

    @Option(name: .customLong("node-region"), help: "Decide as a node started with --region.")
    var nodeRegion: String?

    @OptionGroup var compilerOptions: CompilerOptions

    func run() throws {
        guard let action = PolicyAction(rawValue: action) else {
            throw CLIFailure.usage("unknown action '\(action)': use connect, subscribe, publish, deliver or poll")
        }
        let principal = try Self.principal(from: principal)
        let request = try request(for: action, principal: principal)
        let (sources, compiler) = try compilerOptions.load([policy])
        let compiled: CompiledPolicy
        do {
            compiled = try compiler.compile(sources)
        } catch {
            Output.line(DiagnosticFormatter.text(error.items))
            throw CLIFailure(message: "the policy is invalid; fix it first ('policy validate \(policy)')", code: 1)
        }
        let evaluator = PolicyEvaluator(policy: compiled, nodeRegion: nodeRegion.map { Region($0) })
        let decision = evaluator.decide(request, explain: true)
        Output.line("decision: \(decision.verdict.rawValue) (\(decision.reason.rawValue))")
        if !decision.message.isEmpty {
            Output.line("message:  \(decision.message) [wire code \(decision.reason.wireCode), HTTP \(decision.reason.httpStatus)]")
        }
        if let location = decision.location { Output.line("rule:     \(location)") }
        Output.line("policy:   version \(compiled.version) from \(compiled.files.joined(separator: ", "))")
        if let enrichment = decision.enrichment {
            Output.line("enriched: company_id=\(enrichment.companyID) region=\(enrichment.region)")
        }
        if !decision.redaction.isEmpty { Output.line("redacted: \(decision.redaction.paths.map(\.text).joined(separator: ", "))") }
        if let shadow = evaluator.shadow {
            // The policy as it would be with its `shadow: true` rules enforced: a dry run, never enforced.
            let wouldBe = shadow.decide(request, explain: true)
            if wouldBe.verdict == decision.verdict && wouldBe.reason == decision.reason {
                Output.line("shadow:   \(wouldBe.verdict.rawValue) (\(wouldBe.reason.rawValue)), as enforced")
            } else {
                let at = wouldBe.location.map { " at \($0)" } ?? ""
                Output.line("shadow:   would \(wouldBe.verdict.rawValue) (\(wouldBe.reason.rawValue))\(at); shadow rules are logged, never enforced")
            }
        }
        Output.line("trace:")
        Output.line(decision.trace?.description ?? "")
        if !decision.isAllowed { throw ExitCode(1) }
    }

    func request(for action: PolicyAction, principal: Principal) throws -> PolicyRequest {
        switch action {
        case .connect: return .connect(principal)
        case .subscribe:
            guard let topic else { throw CLIFailure.usage("--action subscribe needs --topic PATTERN") }
            return .subscribe(principal, topic: topic)
        case .poll:
            guard let topic else { throw CLIFailure.usage("--action poll needs --topic PATTERN[,PATTERN...]") }
            return .poll(principal, topics: topic.split(separator: ",").map(String.init))
        case .publish, .deliver:
            guard let event else { throw CLIFailure.usage("--action \(action.rawValue) needs --event FILE.json") }
            let json = try Self.readJSON(file: event)
            guard let object = json.objectValue, case .string(let eventType)? = object["event_type"] else {
                throw CLIFailure.usage("\(event) must be a JSON object with a string 'event_type'")
            }
            let data = object["data"] ?? .object([:])
            let metadata = object["metadata"]?.objectValue ?? [:]
            if action == .publish {
                return .publish(
                    principal,
                    PublishIntent(
                        eventType: eventType,
                        data: data,
                        region: object["region"]?.identifierString,
                        gdpr: Self.gdpr(object["gdpr_context"])
                    )
                )
            }
            guard let company = metadata["company_id"]?.identifierString ?? data.objectValue?["company_id"]?.identifierString else {
                throw CLIFailure.usage("\(event) needs metadata.company_id or data.company_id to decide a delivery")
            }
            return .deliver(
                principal,
                DeliveryIntent(eventType: eventType, companyID: CompanyID(company), region: metadata["region"]?.identifierString.map { Region($0) })
            )
        }
    }

    static func principal(from text: String) throws -> Principal {
        guard let json = try? JSONValue(parsing: text), let object = json.objectValue else {
            throw CLIFailure.usage(#"--principal must be a JSON object, e.g. '{"user_id":1,"company_id":"123","roles":["sales"]}'"#)
        }
        guard let user = (object["user_id"] ?? object["sub"])?.identifierString else {
            throw CLIFailure.usage("--principal needs 'user_id' (or 'sub')")
        }
        var roles: [String] = []
        if case .array(let items)? = object["roles"] { roles = items.compactMap { if case .string(let role) = $0 { role } else { nil } } }
        return Principal(
            userID: user,
            companyID: object["company_id"]?.identifierString.map { CompanyID($0) },
            roles: roles,
            ip: object["ip"]?.identifierString
        )
    }

    static func readJSON(file: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIFailure.usage("cannot read '\(file)'") }
        do {
            return try data.withUnsafeBytes { try JSONValue(parsingUTF8: $0) }
        } catch {
            throw CLIFailure.usage("'\(file)' is not valid JSON: \(error)")
        }
    }

    static func gdpr(_ value: JSONValue?) -> GDPRContext? {
        guard let object = value?.objectValue else { return nil }
        var context = GDPRContext()
        if case .bool(let consent)? = object["consent"] { context.consent = consent }
        if case .string(let purpose)? = object["purpose"] { context.purpose = purpose }
        if case .number(let days)? = object["retention_days"] { context.retentionDays = Int(exactly: days.doubleValue) ?? -1 }
        context.dataSubjectID = object["data_subject_id"]?.identifierString
        if case .string(let basis)? = object["legal_basis"] { context.legalBasis = basis }
        return context
    }
}
