import Benchmark
import GatewayModel
import PolicyEngine
import PolicyLanguage

/// Decisions against the generated 1,000-pattern, 10,000-company policy. Each scaled iteration is
/// one decision; inputs rotate over 1,024 prepared requests so caches see realistic variety.
let benchmarks: @Sendable () -> Void = {
    let source = PolicySource(path: "generated.yaml", text: GeneratedPolicy.yaml)
    let policy: CompiledPolicy
    do {
        policy = try PolicyCompiler().compile([source])
    } catch {
        fatalError("the generated policy does not compile: \(error)")
    }
    let evaluator = PolicyEvaluator(policy: policy)
    let count = 1024
    let subjects = (0..<count).map { index in
        evaluator.subject(for: Principal(userID: "u\(index)", companyID: CompanyID(String(index * 7 % GeneratedPolicy.companies)), roles: ["sales"]))
    }
    let deliveries = (0..<count).map { index in
        DeliveryIntent(eventType: "dom\(index % GeneratedPolicy.domains).ent\(index % GeneratedPolicy.entitiesPerDomain).updated", companyID: subjects[index].principal.companyID!)
    }
    let patterns = (0..<count).map { index in "dom\(index % GeneratedPolicy.domains).ent\(index % GeneratedPolicy.entitiesPerDomain).*" }
    let service = evaluator.subject(for: Principal(userID: "svc", companyID: nil, roles: ["service"]))
    let publishes = (0..<count).map { index in
        PublishIntent(
            eventType: deliveries[index].eventType,
            data: .object(["company_id": .string(deliveries[index].companyID.rawValue), "contact_id": .string("c-\(index)"), "deal_id": .number(Double(index))]))
    }

    let decision = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], scalingFactor: .kilo, maxDuration: .seconds(3), maxIterations: 1_000)

    Benchmark("deliver decision", configuration: decision) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(evaluator.deliver(subjects[index], deliveries[index]))
            index = (index + 1) & (count - 1)
        }
    }

    Benchmark("subscribe decision", configuration: decision) { benchmark in
        var index = 0
        var trace: DecisionTrace? = nil
        for _ in benchmark.scaledIterations {
            blackHole(evaluator.subscribe(subjects[index], topic: patterns[index], trace: &trace))
            index = (index + 1) & (count - 1)
        }
    }

    Benchmark("publish decision (with GDPR enrichment)", configuration: decision) { benchmark in
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
