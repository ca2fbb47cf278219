import GatewayModel

/// Stage 2: resolves `extends` chains between plans, reporting unknown parents and cycles.
enum ResolveExtends {
    static func run(_ state: inout CompilationState) {
        let names = state.plans.map(\.name.value)
        var reportedCycles: Set<String> = []
        for plan in state.plans {
            var chain: [String] = []
            var visited: [String] = [plan.name.value]
            var current = plan
            var resolvable = true
            while let parent = current.extends {
                guard let next = state.plan(named: parent.value) else {
                    if current.name.value == plan.name.value {
                        state.sink.error(
                            .unknownPlan,
                            parent.location,
                            "plan '\(plan.name.value)' extends unknown plan '\(parent.value)'",
                            hint: KeySuggestion.hint(for: parent.value, in: names) ?? known(names)
                        )
                    }
                    resolvable = false
                    break
                }
                if visited.contains(next.name.value) {
                    let cycle = visited[visited.firstIndex(of: next.name.value)!...] + [next.name.value]
                    let key = Set(cycle).sorted().joined(separator: ",")
                    if !reportedCycles.contains(key) {
                        reportedCycles.insert(key)
                        state.sink.error(
                            .extendsCycle,
                            parent.location,
                            "plans extend each other in a cycle: \(cycle.joined(separator: " -> "))",
                            hint: "remove one 'extends'"
                        )
                    }
                    resolvable = false
                    break
                }
                chain.append(next.name.value)
                visited.append(next.name.value)
                current = next
            }
            if resolvable { state.ancestors[plan.name.value] = chain }
        }
    }

    static func known(_ names: [String]) -> String {
        names.isEmpty ? "no plans are defined" : "defined plans: \(names.map { "'\($0)'" }.joined(separator: ", "))"
    }
}
