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
        let rules = (0..<matches.count).map { matches[$0] }
        // The most specific match: highest specificity, the first written on a tie.
        let best = rules.min { a, b in
            let (x, y) = (policy.rules[a].specificity, policy.rules[b].specificity)
            return x != y ? x > y : a < b
        }
        #expect(matches.mostSpecific == (best ?? -1), "most specific rule for \(topic)")
        return Set(rules.map { policy.rules[$0].pattern.text })
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

    @Test("matches come in walk order: literal subtrees before inner `*`, shallower trailing `*` first")
    func matchOrder() throws {
        let policy = try policy(["*.b.c", "a.*.c", "a.b.c", "a.b.*", "a.*"])
        let matches = try policy.trie.rules(covering: "a.b.c", allowWildcards: false).get()
        let order = (0..<matches.count).map { policy.rules[matches[$0]].pattern.text }
        #expect(order == ["a.*", "a.b.*", "a.b.c", "a.*.c", "*.b.c"])
        let covering = try policy.trie.rules(covering: "a.b.*", allowWildcards: true).get()
        #expect((0..<covering.count).map { policy.rules[covering[$0]].pattern.text } == ["a.*", "a.b.*"])
    }

    @Test("a whitelist whose automaton would be too large is matched by walking the trie, with the same answers")
    func automatonBound() throws {
        // Eight positions, each either one of four literals or `*`: every prefix of a topic is a state of its own.
        var patterns: [String] = []
        for position in 0..<8 {
            for value in 0..<4 {
                patterns.append((0..<8).map { $0 == position ? "v\(value)" : "*" }.joined(separator: "."))
            }
        }
        let policy = try policy(patterns)
        #expect(policy.trie.automatonSize.complete == false)
        var generator = SplitMix64(seed: 11)
        for _ in 0..<200 {
            let segments = (0..<8).map { _ in ["v0", "v1", "v2", "v3", "zz", "*"][Int(generator.next() % 6)] }
            let eventType = segments.map { $0 == "*" ? "x" : $0 }.joined(separator: ".")
            let expected = Set(policy.rules.filter { $0.pattern.matches(eventType) }.map(\.pattern.text))
            #expect(try found(policy, eventType, wildcards: false) == expected, "event type \(eventType)")
            let subscription = try TopicPattern(segments.joined(separator: "."))
            let covering = Set(policy.rules.filter { $0.pattern.covers(subscription) }.map(\.pattern.text))
            #expect(try found(policy, subscription.text, wildcards: true) == covering, "pattern \(subscription)")
        }
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

    @Test("a segment of 8 bytes and a longer one that starts with them are told apart, whichever the policy names")
    func segmentPrefixOfLongerSegment() throws {
        let short = "abcdefgh"
        let long = "abcdefghi"
        // Two long segments of one length that share their first 8 bytes differ only in their tails.
        for names in [[short], [long], [short, long], [long, short], ["abcdefghij", "abcdefghik"], ["abcdefghik"]] {
            let policy = try policy(names.map { "\($0).x" } + names.map { "y.\($0)" })
            for name in [short, long, "abcdefghij", "abcdefghik", "abcdefg"] {
                let expected: Set<String> = names.contains(name) ? ["\(name).x"] : []
                #expect(try found(policy, "\(name).x", wildcards: false) == expected, "\(name) against \(names)")
                #expect(try found(policy, "y.\(name)", wildcards: false) == (names.contains(name) ? ["y.\(name)"] : []), "\(name) against \(names)")
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

@Suite("Company index")
struct CompanyIndexTests {
    @Test("listed companies of every id length are found at their position; near misses are not")
    func lookups() throws {
        let lengths = [1, 2, 7, 8, 9, 15, 16, 17, 31, 64, 128]
        let ids = lengths.flatMap { length in ["a", "b"].map { String(repeating: "7", count: length - 1) + $0 } } + ["acme-corp", "ACME-corp"]
        let text = "version: 1\ntopics:\n  - pattern: \"a.*\"\ntenants:\n  companies:\n" + ids.map { "    \"\($0)\": { enabled: true }\n" }.joined()
        let policy = try PolicyCompiler().compile([PolicySource(path: "t.yaml", text: text)])
        for id in ids {
            let position = policy.tenants.position(of: id)
            #expect(position >= 0 && policy.tenants.tenants[Int(position)].companyID?.rawValue == id, "\(id)")
            #expect(policy.tenants.position(of: id + "x") == -1, "\(id) with one more byte")
            #expect(policy.tenants.position(of: String(id.dropLast()) + "c") == -1, "\(id) with its last byte changed")
            #expect(policy.tenants.position(of: "x" + id.dropFirst()) == -1, "\(id) with its first byte changed")
        }
        #expect(policy.tenants.position(of: "") == -1)
        #expect(policy.tenants.position(of: "acme-corp ") == -1)
        #expect(policy.tenants.isListed("ACME-corp") && !policy.tenants.isListed("acme-Corp"))
    }

    @Test(
        "the checked lookup refuses exactly the ids CompanyID.isWellFormed refuses: every ASCII byte and multi-byte characters at every offset, every length"
    )
    func checkedLookups() throws {
        let text = "version: 1\ntopics:\n  - pattern: \"a.*\"\ntenants:\n  companies:\n    \"acme\": { enabled: true }\n"
        let policy = try PolicyCompiler().compile([PolicySource(path: "t.yaml", text: text)])
        #expect(policy.tenants.checkedPosition(of: "acme") == policy.tenants.position(of: "acme"))
        #expect(policy.tenants.checkedPosition(of: "acme") ?? -1 >= 0)
        #expect(policy.tenants.checkedPosition(of: "acme2") == -1)
        for length in [0, 1, 7, 8, 9, 127, 128, 129, 300] {
            let id = String(repeating: "k", count: length)
            #expect((policy.tenants.checkedPosition(of: id) != nil) == CompanyID.isWellFormed(id), "length \(length)")
        }
        // A `String` holds valid UTF-8 only, so bytes from 0x80 up come as the characters that use them.
        let insertions = (UInt8(0)...0x7F).map { [$0] } + ["\u{80}", "é", "€", "\u{FFFD}", "😀"].map { Array($0.utf8) }
        for insertion in insertions {
            for offset in 0..<18 {
                for length in [offset + 1, offset + 3, 20] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "c"), count: length)
                    bytes.replaceSubrange(offset..<offset + 1, with: insertion)
                    let id = String(decoding: bytes, as: UTF8.self)
                    #expect(Array(id.utf8) == bytes)
                    let checked = policy.tenants.checkedPosition(of: id)
                    #expect((checked != nil) == CompanyID.isWellFormed(id), "\(insertion) at \(offset) of \(length)")
                    if let checked { #expect(checked == -1) }
                }
            }
        }
    }
}
