import EventBus
import Foundation
import GatewayModel
import RedisBackend

// Usage: RedisThroughput redis://127.0.0.1:PORT [--clients 16] [--seconds 5]
// Measures what RedisConnection's design (a blocking hiredis context on a thread of its own, pipelining what
// queued) costs: PINGs/s over one connection from N concurrent callers, and single-event appends/s through
// RedisEventLog (the append script) from N concurrent callers. Compare with redis-benchmark in the same run.

let arguments = Array(CommandLine.arguments.dropFirst())
let url = try RedisURL(arguments.first ?? "redis://127.0.0.1:6379")
/// `--clients N --seconds S`.
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return Int(arguments[index + 1]) ?? fallback
}
let clients = option("--clients", 16)
let seconds = option("--seconds", 5)

func flatOut(_ label: String, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    let count = try await withThrowingTaskGroup(of: Int.self) { group in
        for client in 0..<clients {
            group.addTask {
                var done = 0
                while ContinuousClock.now < deadline {
                    try await operation(client * 100_000_000 + done)
                    done += 1
                }
                return done
            }
        }
        return try await group.reduce(0, +)
    }
    print("\(label): \(count / seconds)/s (\(clients) concurrent callers, \(seconds) s)")
}

let connection = RedisConnection(settings: .init(url: url), name: "bench")
try await flatOut("PING through one RedisConnection") { _ in _ = try await connection.call("PING") }

let log = RedisEventLog(url: url, channelPrefix: "redis-throughput-\(UUID().uuidString.prefix(8))", connections: 1)
try await flatOut("single-event appends through RedisEventLog (1 connection)") { n in
    let id = "01900000-0000-7000-8000-\(String(format: "%012d", n))"
    let event = StoredEvent(
        position: 0,
        eventID: id,
        eventType: "deal.stage.updated",
        companyID: "123",
        region: "us-east-1",
        dataSubjectID: nil,
        retentionDays: 1,
        createdAtMillis: Timestamp.nowMillis(),
        envelope: #"{"event_id":"\#(id)","event_type":"deal.stage.updated","data":{"company_id":"123","deal_id":\#(n)}}"#
    )
    _ = try await log.append([NewEvent(event: event, idempotencyKey: id)])
}
try await log.close()
connection.close()
exit(0)
