import BenchmarkSupport
import Foundation
import PolicyEngine
import PolicyLanguage

// Usage: PolicyProfile deliver|deliver-routed|route|lookup|subscribe|publish|publish-same|publish-copied|publish-boxed|enrich|compile [iterations]
// Runs one kind of decision in a loop and prints nanoseconds per decision; meant for profilers.
// Each kind has its own loop, so the harness adds nothing but the index arithmetic.
let kind = CommandLine.arguments.dropFirst().first ?? "deliver"
let iterations = CommandLine.arguments.dropFirst(2).first.flatMap(Int.init) ?? 5_000_000
let inputs = try DecisionInputs()

/// Runs `decide` for every iteration over the rotating inputs; returns how many were allowed.
func run(_ decide: (Int) -> Bool) -> Int {
    var allowed = 0
    for iteration in 0..<iterations where decide(iteration & (inputs.count - 1)) { allowed += 1 }
    return allowed
}

func measure() -> Int {
    let evaluator = inputs.evaluator
    let subjects = inputs.subjects
    let deliveries = inputs.deliveries
    let routes = deliveries.map { evaluator.route($0) }
    let patterns = inputs.patterns
    let publishes = inputs.publishes
    let service = inputs.service
    switch kind {
    case "deliver": return run { evaluator.deliver(subjects[$0], deliveries[$0]).isAllowed }
    case "deliver-routed": return run { evaluator.deliver(subjects[$0], routes[$0]).isAllowed }
    case "route": return run { evaluator.route(deliveries[$0]).reason == .allowed }
    case "lookup":
        return run {
            var matches = RuleMatches()
            return evaluator.policy.trie.rules(covering: deliveries[$0].eventType, allowWildcards: false, into: &matches) == nil
        }
    case "subscribe": return run { evaluator.subscribe(subjects[$0], topic: patterns[$0]).isAllowed }
    // The gate decides on the intent it has just parsed, a local value. Reading one out of an array
    // copies it (retaining its strings and data), so each intent is moved into a local and back.
    case "publish":
        var intents = publishes
        return intents.withUnsafeMutableBufferPointer { buffer in
            var local = buffer[0]
            return run { index in
                swap(&local, &buffer[index])
                defer { swap(&local, &buffer[index]) }
                return evaluator.publish(service, local).isAllowed
            }
        }
    // The same intent every time: caches warm, no copy.
    case "publish-same":
        let intent = publishes[0]
        return run { _ in evaluator.publish(service, intent).isAllowed }
    case "publish-boxed":
        final class Box: Sendable {
            let intent: PublishIntent
            init(_ intent: PublishIntent) { self.intent = intent }
        }
        let boxes = publishes.map(Box.init)
        return run { evaluator.publish(service, boxes[$0].intent).isAllowed }
    // Read out of an array: the copy retains the intent's strings and data.
    case "publish-copied": return run { evaluator.publish(service, publishes[$0]).isAllowed }
    case "enrich":
        let verdicts = publishes.map { evaluator.publish(service, $0) }
        return publishes.withUnsafeBufferPointer { intents in run { evaluator.enrich(intents[$0], verdicts[$0]).gdpr.retentionDays != nil } }
    default:
        return run { _ in (try? PolicyCompiler().compile([PolicySource(path: "g.yaml", text: GeneratedPolicy.yaml)])) != nil }
    }
}

let start = ContinuousClock.now
let allowed = measure()
let elapsed = start.duration(to: .now)
let nanos = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print("\(kind): \(String(format: "%.1f", nanos / Double(iterations))) ns per decision, \(allowed) of \(iterations) allowed")
