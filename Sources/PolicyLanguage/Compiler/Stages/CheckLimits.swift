import GatewayModel

/// Stage 3: checks every `rate_limits` entry and compiles it to a ``RateLimit``.
enum CheckLimits {
    static func run(_ state: inout CompilationState) {
        for plan in state.plans {
            var limits: [RateLimit] = []
            var seen: [String: SourceLocation] = [:]
            for entry in plan.rateLimits {
                guard let limit = compile(entry, plan: plan.name.value, &state.sink) else { continue }
                let key = "\(limit.scope.rawValue)/\(limit.action.rawValue)"
                if let first = seen[key] {
                    state.sink.error(
                        .duplicateLimit,
                        entry.location,
                        "plan '\(plan.name.value)' limits scope '\(limit.scope.rawValue)' action '\(limit.action.rawValue)' twice (first at \(first))",
                        hint: "keep one entry per scope and action"
                    )
                    continue
                }
                seen[key] = entry.location
                limits.append(limit)
            }
            state.ownLimits[plan.name.value] = limits
        }
    }

    static func compile(_ entry: LimitSyntax, plan: String, _ sink: inout DiagnosticSink) -> RateLimit? {
        let scope = enumValue(entry.scope, LimitScope.self, "scope", &sink)
        let action = enumValue(entry.action, LimitAction.self, "action", &sink)
        let period = enumValue(entry.per, LimitPeriod.self, "period", &sink)
        var valid = scope != nil && action != nil && period != nil
        if let limit = entry.limit, !checkCount(limit, "limit", &sink) { valid = false }
        if let burst = entry.burst, !checkCount(burst, "burst", &sink) { valid = false }
        var onStoreError = StoreErrorPolicy.deny
        if let text = entry.onStoreError {
            if let policy = enumValue(text, StoreErrorPolicy.self, "on_store_error", &sink) { onStoreError = policy } else { valid = false }
        }
        guard valid, let scope, let action, let period, let limit = entry.limit else { return nil }
        let gcra = GCRA(limit: limit.value, periodNanos: period.nanoseconds, burst: entry.burst?.value)
        var rule = RateLimit(scope: scope, action: action, gcra: gcra, shadow: entry.shadow?.value ?? false, location: entry.location, plan: plan)
        rule.onStoreError = onStoreError
        return rule
    }

    static func checkCount(_ value: Located<Int>, _ name: String, _ sink: inout DiagnosticSink) -> Bool {
        if value.value <= 0 {
            sink.error(
                .invalidLimit,
                value.location,
                "'\(name)' is \(value.value); it must be a positive whole number, or the limit can never pass",
                hint: "use 1 or more"
            )
            return false
        }
        if value.value > GCRA.maximumCount {
            sink.error(
                .invalidLimit,
                value.location,
                "'\(name)' is \(value.value); the largest supported value is \(GCRA.maximumCount)",
                hint: "use a shorter 'per' with a proportionally smaller '\(name)'"
            )
            return false
        }
        return true
    }

    static func enumValue<T: RawRepresentable & CaseIterable>(
        _ value: Located<String>?,
        _ type: T.Type,
        _ key: String,
        _ sink: inout DiagnosticSink
    ) -> T?
    where T.RawValue == String {
        guard let value else { return nil }
        if let parsed = T(rawValue: value.value) { return parsed }
        let allowed = T.allCases.map(\.rawValue)
        sink.error(
            .unknownValue,
            value.location,
            "unknown \(key) '\(value.value)'",
            hint: KeySuggestion.hint(for: value.value, in: allowed) ?? "use one of \(allowed.joined(separator: ", "))"
        )
        return nil
    }
}
