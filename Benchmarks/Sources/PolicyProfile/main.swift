import BenchmarkSupport
import Foundation
import PolicyEngine
import PolicyLanguage

// Usage: PolicyProfile deliver|deliver-routed|route|lookup|subscribe|publish|compile [iterations]
// Runs one kind of decision in a loop and prints nanoseconds per decision; meant for profilers.
let kind = CommandLine.arguments.dropFirst().first ?? "deliver"
let iterations = CommandLine.arguments.dropFirst(2).first.flatMap(Int.init) ?? 5_000_000
let inputs = try DecisionInputs()
let evaluator = inputs.evaluator
var trace: DecisionTrace? = nil
let routes = inputs.deliveries.map { evaluator.route($0) }
var allowed = 0
let start = ContinuousClock.now
for iteration in 0..<iterations {
    let index = iteration & (inputs.count - 1)
    switch kind {
    case "deliver": if evaluator.deliver(inputs.subjects[index], inputs.deliveries[index]).isAllowed { allowed += 1 }
    case "deliver-routed": if evaluator.deliver(inputs.subjects[index], routes[index]).isAllowed { allowed += 1 }
    case "route": if evaluator.route(inputs.deliveries[index]).reason == .allowed { allowed += 1 }
    case "lookup":
        var matches = RuleMatches()
        if evaluator.policy.trie.rules(covering: inputs.deliveries[index].eventType, allowWildcards: false, into: &matches) == nil {
            allowed += matches.count
        }
    case "subscribe": if evaluator.subscribe(inputs.subjects[index], topic: inputs.patterns[index], trace: &trace).isAllowed { allowed += 1 }
    case "publish": if evaluator.publish(inputs.service, inputs.publishes[index], trace: &trace).isAllowed { allowed += 1 }
    default: if (try? PolicyCompiler().compile([PolicySource(path: "g.yaml", text: GeneratedPolicy.yaml)])) != nil { allowed += 1 }
    }
}
let elapsed = start.duration(to: .now)
let nanos = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print("\(kind): \(String(format: "%.1f", nanos / Double(iterations))) ns per decision, \(allowed) of \(iterations) allowed")
