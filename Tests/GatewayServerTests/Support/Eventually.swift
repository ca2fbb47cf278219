/// How long a test waits for something that must happen: far beyond what it takes on an idle machine, so
/// that a loaded CI machine (two cores shared with builds) makes the suite slower instead of failing it.
/// Every wait ends as soon as its condition holds; only a broken gateway makes a test wait this long.
let patience: Duration = .seconds(60)

/// ``patience`` in seconds, for the blocking socket calls that take a `TimeInterval`.
let patienceSeconds = Double(patience.components.seconds)

/// Polls `condition` every `interval` until it holds; throws, naming `what`, when `timeout` passes first.
/// Tests wait for conditions like this, never for a fixed time followed by an assertion.
func eventually(
    _ what: @autoclosure () -> String,
    timeout: Duration = patience,
    interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws {
    _ = try await eventuallyValue(what(), timeout: timeout, interval: interval) { try await condition() ? true : nil }
}

/// Polls `probe` every `interval` until it returns a value, and returns that value; throws, naming `what`,
/// when `timeout` passes first.
func eventuallyValue<T>(
    _ what: @autoclosure () -> String,
    timeout: Duration = patience,
    interval: Duration = .milliseconds(20),
    _ probe: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await probe() { return value }
        guard ContinuousClock.now < deadline else { throw TestFailure("not within \(timeout): \(what())") }
        try await Task.sleep(for: interval)
    }
}
