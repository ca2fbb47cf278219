import Benchmark
import BenchmarkSupport
import GatewayModel
import PolicyEngine
import PolicyLanguage

/// Decisions against the generated 1,000-pattern, 10,000-company policy. Each scaled iteration is
/// one decision; inputs rotate over 1,024 prepared requests so caches see realistic variety.
let benchmarks: @Sendable () -> Void = {
    let source = PolicySource(path: "generated.yaml", text: GeneratedPolicy.yaml)
    let inputs: DecisionInputs
    do {
        inputs = try DecisionInputs()
    } catch {
        fatalError("the generated policy does not compile: \(error)")
    }
    let evaluator = inputs.evaluator
    let count = inputs.count
    let subjects = inputs.subjects
    let deliveries = inputs.deliveries
    let patterns = inputs.patterns
    let service = inputs.service
    let publishes = inputs.publishes

    let decision = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000
    )

    let routes = deliveries.map { evaluator.route($0) }

    Benchmark("deliver decision (per subscriber of a routed event)", configuration: decision) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(evaluator.deliver(subjects[index], routes[index]))
            index = (index + 1) & (count - 1)
        }
    }

    Benchmark("deliver decision (route + check, one subscriber)", configuration: decision) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(evaluator.deliver(subjects[index], deliveries[index]))
            index = (index + 1) & (count - 1)
        }
    }

    Benchmark("route an event (once per event, before fan-out)", configuration: decision) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(evaluator.route(deliveries[index]))
            index = (index + 1) & (count - 1)
        }
    }

    Benchmark("subscribe decision", configuration: decision) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(evaluator.subscribe(subjects[index], topic: patterns[index]))
            index = (index + 1) & (count - 1)
        }
    }

    // Read from the buffer: the read copies the intent (retaining its strings and data), which the gate,
    // deciding on the intent it has just parsed, does not pay. Moving each intent into a local instead
    // measured slower here in session 4 (151 against 125 ns), though faster in `PolicyProfile` (106 against 126 ns).
    Benchmark("publish decision", configuration: decision) { benchmark in
        var index = 0
        publishes.withUnsafeBufferPointer { intents in
            for _ in benchmark.scaledIterations {
                blackHole(evaluator.publish(service, intents[index]))
                index = (index + 1) & (count - 1)
            }
        }
    }

    let verdicts = publishes.map { evaluator.publish(service, $0) }

    Benchmark("enrich an allowed publish (GDPR context with provenance, once per event)", configuration: decision) { benchmark in
        var index = 0
        publishes.withUnsafeBufferPointer { intents in
            for _ in benchmark.scaledIterations {
                blackHole(evaluator.enrich(intents[index], verdicts[index]))
                index = (index + 1) & (count - 1)
            }
        }
    }

    Benchmark("publish, explained decision with enrichment and limits (policy explain, refusals)", configuration: decision) { benchmark in
        var index = 0
        var trace: DecisionTrace? = nil
        for _ in benchmark.scaledIterations {
            blackHole(evaluator.publish(service, publishes[index], trace: &trace))
            index = (index + 1) & (count - 1)
        }
    }

    Benchmark("resolve principal (once per connection)", configuration: decision) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(evaluator.subject(for: subjects[index].principal))
            index = (index + 1) & (count - 1)
        }
    }

    Benchmark(
        "compile 1,000 patterns + 10,000 companies",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal], maxDuration: .seconds(10), maxIterations: 20)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? PolicyCompiler().compile([source]))
        }
    }
}
