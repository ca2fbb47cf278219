import GatewayModel
import GatewayTesting
import PolicyLanguage
import Testing

@Suite("Topic trie")
struct TopicTrieTests {
    /// Builds a policy whose whitelist is `patterns` (duplicates removed).
    func policy(_ patterns: [String]) throws -> CompiledPolicy {
        var seen: Set<String> = []
        let unique = patterns.filter { seen.insert($0).inserted }
        let text = "version: 1\ntopics:\n" + unique.map { "  - pattern: \"\($0)\"\n" }.joined()
        return try PolicyCompiler().compile([PolicySource(path: "t.yaml", text: text)])
    }

    func found(_ policy: CompiledPolicy, _ topic: String, wildcards: Bool) throws -> Set<String> {
        let matches = try policy.trie.rules(covering: topic, allowWildcards: wildcards).get()
        return Set((0..<matches.count).map { policy.rules[matches[$0]].pattern.text })
    }

    @Test("lookups agree with a scan of every pattern, for event types and subscription patterns")
    func agreesWithScan() throws {
        var generator = SplitMix64(seed: 7)
        let alphabet = ["a", "b", "c", "deal", "stage"]
        func random(_ wildcards: Bool) -> String {
            let count = Int(generator.next() % 4) + 2
            return (0..<count).map { _ in
                wildcards && generator.next() % 4 == 0 ? "*" : alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }.joined(separator: ".")
        }
        for _ in 0..<30 {
            let policy = try policy((0..<25).map { _ in random(true) })
            for _ in 0..<60 {
                let eventType = random(false)
                let expected = Set(policy.rules.filter { $0.pattern.matches(eventType) }.map(\.pattern.text))
                #expect(try found(policy, eventType, wildcards: false) == expected, "event type \(eventType)")
                let subscription = try TopicPattern(random(true))
                let covering = Set(policy.rules.filter { $0.pattern.covers(subscription) }.map(\.pattern.text))
                #expect(try found(policy, subscription.text, wildcards: true) == covering, "pattern \(subscription)")
            }
        }
    }

    @Test("segments the policy never names still match wildcards")
    func unknownSegments() throws {
        let policy = try policy(["deal.*.updated", "x.*"])
        #expect(try found(policy, "deal.zzz.updated", wildcards: false) == ["deal.*.updated"])
        #expect(try found(policy, "x.never.seen.before", wildcards: false) == ["x.*"])
        #expect(try found(policy, "y.z", wildcards: false).isEmpty)
    }

    @Test("malformed input is reported, not matched")
    func malformed() throws {
        let policy = try policy(["deal.*"])
        #expect(throws: TopicSyntaxProblem.wildcardInEventType) { try policy.trie.rules(covering: "deal.*", allowWildcards: false).get() }
        #expect(throws: TopicSyntaxProblem.tooFewSegments(1)) { try policy.trie.rules(covering: "deal", allowWildcards: true).get() }
    }

    @Test("more than eight matching rules are all returned")
    func manyMatches() throws {
        let patterns = ["a.*", "a.b.*", "a.b.c.*", "a.*.c.*", "*.b.*", "*.*.c.*", "a.b.c.d", "a.*.c.d", "*.b.c.d", "*.*.*.d"]
        let policy = try policy(patterns)
        #expect(try found(policy, "a.b.c.d", wildcards: false) == Set(patterns))
    }

    @Test("segments of every length, including exact multiples of 8 bytes, are told apart")
    func longSegments() throws {
        let lengths = [1, 7, 8, 9, 15, 16, 17, 24, 40]
        let names = lengths.flatMap { length in ["a", "b"].map { String(repeating: "x", count: length - 1) + $0 } }
        let policy = try policy(names.map { "\($0).\($0)" } + ["x.*"])
        for name in names {
            #expect(try found(policy, "\(name).\(name)", wildcards: false) == ["\(name).\(name)"], "\(name)")
            #expect(try found(policy, "\(name).\(name)z", wildcards: false).isEmpty, "\(name) with one more byte")
            if name.count > 1 {
                #expect(try found(policy, "\(name).\(name.dropLast())", wildcards: false).isEmpty, "\(name) with one byte less")
            }
        }
    }

    @Test("every byte value, at every offset within an 8-byte word, is accepted or refused as the validator says")
    func everyByteAtEveryOffset() throws {
        let policy = try policy(["ab.*"])
        for byte in UInt8.min...UInt8.max {
            for offset in 0..<17 {
                var bytes = Array("ab.".utf8) + Array(repeating: UInt8(ascii: "c"), count: offset) + [byte]
                bytes += Array("d.ef".utf8)
                let topic = String(decoding: bytes, as: UTF8.self)
                let valid = EventType.problem(in: topic) == nil
                let result = policy.trie.rules(covering: topic, allowWildcards: false)
                switch result {
                case .success(let matches): #expect(valid && matches.count == 1, "byte \(byte) at offset \(offset)")
                case .failure: #expect(!valid, "byte \(byte) at offset \(offset)")
                }
            }
        }
    }
}
