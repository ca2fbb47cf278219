import GatewayModel
public import PolicyLanguage
import Yams

/// Reads policy test files: a mapping with `cases:`, each case a mapping of known keys.
public enum PolicyTestFile {
    static let fileKeys = ["cases"]
    static let caseKeys = [
        "name", "principal", "action", "topic", "topics", "event", "node_region", "repeat", "every", "expect", "reason",
        "retry_after", "enriched", "redacted",
    ]
    static let principalKeys = ["user_id", "sub", "company_id", "roles", "ip"]
    static let publishEventKeys = ["event_type", "data", "region", "gdpr_context", "idempotency_key"]
    static let deliverEventKeys = ["event_type", "data", "company_id", "region"]
    static let enrichedKeys = ["region", "company_id", "gdpr_context"]
    static let gdprKeys = ["consent", "purpose", "retention_days", "data_subject_id", "legal_basis"]

    /// Parses one file.
    /// - Returns: the cases and every problem found (a file with no case is a problem).
    public static func parse(_ text: String, file: String) -> ([PolicyTestCase], [Diagnostic]) {
        var reader = YAMLNodeReader(file: file)
        let root: Node?
        do {
            root = try ScalarKind.compose(text)
        } catch {
            return ([], [PolicyReader.syntaxDiagnostic(error, file: file, text: text)])
        }
        let start = SourceLocation(file: file, line: 1, column: 1)
        guard let root, let pairs = reader.mapping(root, "a policy test file", allowed: fileKeys),
            let casesNode = pairs.first(where: { $0.key == "cases" })?.value, let items = reader.sequence(casesNode, "'cases'")
        else {
            reader.sink.error(
                .missingKey,
                start,
                "the test file has no cases",
                hint: "add 'cases:' with at least one case; an empty test file is an error, not a pass"
            )
            return ([], reader.sink.items)
        }
        let cases = items.enumerated().compactMap { index, node in readCase(node, number: index + 1, &reader) }
        if items.isEmpty {
            reader.sink.error(.missingKey, reader.location(of: casesNode), "'cases' is empty", hint: "an empty test file is an error, not a pass")
        }
        return (cases, reader.sink.items)
    }

    static func readCase(_ node: Node, number: Int, _ reader: inout YAMLNodeReader) -> PolicyTestCase? {
        let location = reader.location(of: node)
        let errorsBefore = reader.sink.items.count
        guard let pairs = reader.mapping(node, "a test case", allowed: caseKeys) else { return nil }
        var fields: [String: Node] = [:]
        for pair in pairs { fields[pair.key] = pair.value }
        let name = fields["name"].flatMap { reader.string($0, "'name'")?.value } ?? "case \(number)"
        func require(_ key: String) -> Node? {
            if let node = fields[key] { return node }
            reader.sink.error(.missingKey, location, "test case '\(name)' has no '\(key)'")
            return nil
        }
        guard let principalNode = require("principal"), let actionNode = require("action"), let expectNode = require("expect") else { return nil }
        guard let principal = readPrincipal(principalNode, &reader), let actionText = reader.string(actionNode, "'action'") else { return nil }
        guard let action = PolicyAction(rawValue: actionText.value) else {
            let all = PolicyAction.allCases.map(\.rawValue)
            reader.sink.error(
                .unknownValue,
                actionText.location,
                "unknown action '\(actionText.value)'",
                hint: KeySuggestion.hint(for: actionText.value, in: all) ?? "use one of \(all.joined(separator: ", "))"
            )
            return nil
        }
        let request: PolicyRequest
        switch action {
        case .connect: request = .connect(principal)
        case .subscribe:
            guard let topic = require("topic").flatMap({ reader.string($0, "'topic'") }) else { return nil }
            request = .subscribe(principal, topic: topic.value)
        case .poll:
            guard let topics = require("topics").flatMap({ reader.strings($0, "'topics'") }) else { return nil }
            request = .poll(principal, topics: topics.map(\.value))
        case .publish:
            guard let eventNode = require("event"), let intent = readPublish(eventNode, &reader) else { return nil }
            request = .publish(principal, intent)
        case .deliver:
            guard let eventNode = require("event"), let intent = readDeliver(eventNode, &reader) else { return nil }
            request = .deliver(principal, intent)
        }
        var testCase = PolicyTestCase(
            name: name,
            location: location,
            request: request,
            nodeRegion: nil,
            repeatCount: 1,
            everyNanos: 0,
            expect: .all(.allow)
        )
        if let node = fields["node_region"], let region = reader.string(node, "'node_region'") { testCase.nodeRegion = Region(region.value) }
        if let node = fields["repeat"], let count = reader.int(node, "'repeat'") {
            if (1...100_000).contains(count.value) {
                testCase.repeatCount = count.value
            } else {
                reader.sink.error(.invalidLimit, count.location, "'repeat' must be between 1 and 100000")
            }
        }
        if let node = fields["every"] {
            if let nanos = durationNanos(node) {
                testCase.everyNanos = nanos
            } else {
                reader.sink.error(.typeMismatch, reader.location(of: node), "'every' must be a duration from 0 to 24h, such as 0, 100ms, 1s or 2m")
            }
        }
        guard let expect = readExpectation(expectNode, &reader) else { return nil }
        testCase.expect = expect
        if let node = fields["reason"], let reason = reader.string(node, "'reason'") {
            if ReasonCode(rawValue: reason.value) == nil {
                let all = ReasonCode.allCases.map(\.rawValue)
                reader.sink.error(
                    .unknownValue,
                    reason.location,
                    "unknown reason '\(reason.value)'",
                    hint: KeySuggestion.hint(for: reason.value, in: all) ?? "use one of \(all.joined(separator: ", "))"
                )
            }
            testCase.reason = reason.value
        }
        if let node = fields["retry_after"] {
            if let seconds = ScalarKind.numberValue(node), (0...86_400).contains(seconds) {
                testCase.retryAfter = seconds
            } else {
                reader.typeMismatch(node, "'retry_after'", expected: "a number of seconds between 0 and 86400")
            }
        }
        if let node = fields["enriched"], let enriched = reader.mapping(node, "'enriched'", allowed: enrichedKeys) {
            for (key, _, value) in enriched {
                switch key {
                case "region": testCase.enrichedRegion = reader.string(value, "'region'")?.value
                case "company_id": testCase.enrichedCompany = reader.string(value, "'company_id'", acceptNumbers: true)?.value
                case "gdpr_context":
                    if let gdpr = reader.mapping(value, "'gdpr_context'", allowed: gdprKeys) {
                        testCase.enrichedGDPR = Dictionary(uniqueKeysWithValues: gdpr.map { ($0.key, json($0.value)) })
                    }
                default: break
                }
            }
        }
        if let node = fields["redacted"], let paths = reader.strings(node, "'redacted'") { testCase.redacted = paths.map(\.value) }
        return reader.sink.items.count == errorsBefore ? testCase : nil
    }

    static func readPrincipal(_ node: Node, _ reader: inout YAMLNodeReader) -> Principal? {
        guard let pairs = reader.mapping(node, "'principal'", allowed: principalKeys) else { return nil }
        var principal = Principal(userID: "", companyID: nil, roles: [])
        for (key, _, value) in pairs {
            switch key {
            case "user_id", "sub": principal.userID = reader.string(value, "'\(key)'", acceptNumbers: true)?.value ?? ""
            case "company_id": principal.companyID = reader.string(value, "'company_id'", acceptNumbers: true).map { CompanyID($0.value) }
            case "roles": principal.roles = reader.strings(value, "'roles'")?.map(\.value) ?? []
            case "ip": principal.ip = reader.string(value, "'ip'")?.value
            default: break
            }
        }
        return principal
    }

    static func readPublish(_ node: Node, _ reader: inout YAMLNodeReader) -> PublishIntent? {
        guard let pairs = reader.mapping(node, "a publish 'event'", allowed: publishEventKeys) else { return nil }
        var intent = PublishIntent(eventType: "", data: .object([:]))
        for (key, _, value) in pairs {
            switch key {
            case "event_type": intent.eventType = reader.string(value, "'event_type'")?.value ?? ""
            case "data": intent.data = json(value)
            case "region": intent.region = reader.string(value, "'region'")?.value
            case "gdpr_context":
                guard let gdpr = reader.mapping(value, "'gdpr_context'", allowed: gdprKeys) else { continue }
                var context = GDPRContext()
                for (field, _, fieldValue) in gdpr {
                    switch field {
                    case "consent": context.consent = reader.bool(fieldValue, "'consent'")?.value
                    case "purpose": context.purpose = reader.string(fieldValue, "'purpose'")?.value
                    case "retention_days": context.retentionDays = reader.int(fieldValue, "'retention_days'")?.value
                    case "data_subject_id": context.dataSubjectID = json(fieldValue).identifierString
                    case "legal_basis": context.legalBasis = reader.string(fieldValue, "'legal_basis'")?.value
                    default: break
                    }
                }
                intent.gdpr = context
            default: break
            }
        }
        return intent
    }

    static func readDeliver(_ node: Node, _ reader: inout YAMLNodeReader) -> DeliveryIntent? {
        guard let pairs = reader.mapping(node, "a deliver 'event'", allowed: deliverEventKeys) else { return nil }
        var eventType = ""
        var company: String?
        var dataCompany: String?
        var region: Region?
        for (key, _, value) in pairs {
            switch key {
            case "event_type": eventType = reader.string(value, "'event_type'")?.value ?? ""
            case "data": dataCompany = json(value).objectValue?["company_id"]?.identifierString
            case "company_id": company = reader.string(value, "'company_id'", acceptNumbers: true)?.value
            case "region": region = reader.string(value, "'region'").map { Region($0.value) }
            default: break
            }
        }
        guard let owner = company ?? dataCompany else {
            reader.sink.error(.missingKey, reader.location(of: node), "a deliver event needs 'company_id' or 'data.company_id'")
            return nil
        }
        return DeliveryIntent(eventType: eventType, companyID: CompanyID(owner), region: region)
    }

    static func readExpectation(_ node: Node, _ reader: inout YAMLNodeReader) -> PolicyTestCase.Expectation? {
        switch node {
        case .scalar:
            guard let text = reader.string(node, "'expect'") else { return nil }
            guard let verdict = Verdict(rawValue: text.value) else {
                reader.sink.error(.unknownValue, text.location, "'expect' must be allow or deny, found '\(text.value)'")
                return nil
            }
            return .all(verdict)
        case .sequence:
            let verdicts = (reader.strings(node, "'expect'") ?? []).compactMap { Verdict(rawValue: $0.value) }
            guard case .sequence(let items) = node, verdicts.count == items.count, !verdicts.isEmpty else {
                reader.sink.error(.unknownValue, reader.location(of: node), "'expect' as a list holds allow or deny per request")
                return nil
            }
            return .sequence(verdicts)
        default:
            guard let pairs = reader.mapping(node, "'expect'", allowed: ["allow", "deny"]) else { return nil }
            var allow = 0
            var deny = 0
            for (key, _, value) in pairs {
                let count = reader.int(value, "'\(key)'")?.value ?? 0
                if key == "allow" { allow = count } else { deny = count }
            }
            return .counts(allow: allow, deny: deny)
        }
    }

    /// A YAML node as JSON.
    static func json(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch ScalarKind.of(node) {
            case .null: return .null
            case .bool: return ScalarKind.boolValue(node).map(JSONValue.bool) ?? .string(scalar.string)
            case .int, .float:
                // A JSON-shaped number keeps its digits; other YAML spellings (`0x1F`, `1_000`) go through a Double.
                if let exact = JSONNumber(literal: scalar.string) { return .number(exact) }
                return ScalarKind.numberValue(node).flatMap { JSONNumber($0) }.map(JSONValue.number) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence): return .array(sequence.map(json))
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping { object[key.string ?? ""] = json(value) }
            return .object(object)
        case .alias: return .null
        }
    }

    /// The longest `every` accepted; with `repeat` at most 100,000 the virtual clock stays in range.
    static let maximumEveryNanos: Int64 = 86_400_000_000_000

    /// `0`, `250ms`, `1s`, `1.5s`, `2m`, `1h`, or a bare number of seconds; at most 24 hours.
    static func durationNanos(_ node: Node) -> Int64? {
        guard let nanos = durationNanosAsDouble(node), nanos >= 0, nanos <= Double(maximumEveryNanos) else { return nil }
        return Int64(nanos.rounded())
    }

    /// The duration in nanoseconds as a `Double`, so that absurd values are refused, not trapped on.
    static func durationNanosAsDouble(_ node: Node) -> Double? {
        if let seconds = ScalarKind.numberValue(node) { return seconds * 1e9 }
        guard ScalarKind.of(node) == .string, case .scalar(let scalar) = node else { return nil }
        let text = scalar.string
        let units: [(String, Double)] = [("ms", 1e6), ("us", 1e3), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value.isFinite else { return nil }
            return value * scale
        }
        return nil
    }
}
