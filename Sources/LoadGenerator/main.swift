import AsyncHTTPClient
import Foundation
import JWTKit
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Usage: LoadGenerator MODE --url http://127.0.0.1:8000 --secret S [--pid P] [options]
//   fanout  --subscribers 1000 --events 500        publish as fast as batches go; deliveries/s, nothing lost
//   latency --subscribers 100 --rate 500 --seconds 10   steady events/s; publish->deliver percentiles
//   ingest  --publishers 16 --seconds 10            single-event publishes flat out; accepted/s, publish->202
//   flat    --subscribers 1000 --publishers 16 --events 2000   single events flat out to subscribers; deliveries/s,
//                                                   loss, publish->deliver and publish->202 percentiles
// --target gateway|nchan: this gateway (default) or Nchan (WebSocket subscribers on /sub/company123, publishes
//   POSTed to /pub/company123; no batches, no policy, no cursors).
//   idle    --connections 10000 --pid P [--hold S]  resident memory of the gateway per idle subscribed connection
// --publish single|batch: one event per HTTP request (the CRM pattern) or batches (default; latency and fanout).
// --publish-url URL: publish into another node than the subscribers' (--url), e.g. node A of a cluster.
// --publish-path PATH: POST there instead (e.g. Nchan's /nchan-health, a static 200: the client's own round trip).
// Events are published over HTTP and received over real WebSocket connections (raw sockets, see
// RawSubscribers.swift), all on loopback.

struct Options {
    var mode = "fanout"
    var url = "http://127.0.0.1:8000"
    var secret = ""
    var subscribers = 1000
    var events = 500
    var rate = 500
    var seconds = 10
    var pid: Int32 = 0
    /// `single` (one event per request) or `batch`.
    var publishMode = "batch"
    /// Where events are published; the subscribers' `url` when not given.
    var publishURL: String?
    /// The path publishes are POSTed to instead of the target's publish endpoint: `/nchan-health` (nginx's
    /// `return 200`) measures what the HTTP client and loopback cost with no server work behind them.
    var publishPath: String?
    /// ingest and flat: concurrent publishers.
    var publishers = 16
    /// What is under test.
    var target = Target.gateway
    /// Whether `--publishers` was given (latency mode keeps one publisher otherwise).
    var publisherFlagGiven = false
    /// idle: how long to keep the connections open after measuring (for a profiler attached to the gateway).
    var hold = 0

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        mode = iterator.next() ?? mode
        while let flag = iterator.next() {
            let value = iterator.next() ?? ""
            switch flag {
            case "--url": url = value
            case "--secret": secret = value
            case "--subscribers", "--connections": subscribers = Int(value) ?? subscribers
            case "--events": events = Int(value) ?? events
            case "--rate": rate = Int(value) ?? rate
            case "--seconds": seconds = Int(value) ?? seconds
            case "--pid": pid = Int32(value) ?? 0
            case "--hold": hold = Int(value) ?? 0
            case "--publish": publishMode = value
            case "--publish-url": publishURL = value
            case "--publish-path": publishPath = value
            case "--publishers":
                publishers = Int(value) ?? publishers
                publisherFlagGiven = true
            case "--target": target = Target(rawValue: value) ?? .gateway
            default: usage("unknown flag \(flag)")
            }
        }
        guard ["fanout", "latency", "flat", "ingest", "idle"].contains(mode) else { usage("unknown mode \(mode)") }
        // The gateway's tokens are HS256; jwt-kit wants a key of at least 32 bytes.
        guard target == .nchan || secret.utf8.count >= 32 else { usage("--secret must be the gateway's JWT_SECRET (32 bytes or more)") }
    }
}

/// Prints what went wrong and the usage (the comment at the top of this file, in short), and exits 2.
func usage(_ problem: String) -> Never {
    FileHandle.standardError.write(
        Data(
            """
            LoadGenerator: \(problem)
            usage: LoadGenerator fanout|latency|flat|ingest|idle --url URL --secret S [--pid P] [--subscribers N]
                   [--events N] [--rate N] [--seconds N] [--publish single|batch] [--publishers N]
                   [--publish-url URL] [--target gateway|nchan] [--hold S]   (scripts/load-test.sh runs every scenario)

            """.utf8
        )
    )
    exit(2)
}

/// Nanoseconds of the system-wide monotonic clock (comparable across processes on one machine).
func monotonicNanos() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}

func residentKiB(of pid: Int32) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return 0
}

/// CPU time (user and system) of process `pid` and of its children (Nchan's nginx workers), read from /proc;
/// 0 without a pid.
func serverCPUNanos(_ pid: Int32) -> Int64 {
    guard pid > 0 else { return 0 }
    var ticks: Int64 = 0
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let candidate = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        // After the command's closing parenthesis: state, ppid, ..., utime (11th), stime (12th).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, candidate == pid || Int32(fields[1]) == pid else { continue }
        ticks += (Int64(fields[11]) ?? 0) + (Int64(fields[12]) ?? 0)
    }
    return ticks * 1_000_000_000 / Int64(sysconf(Int32(_SC_CLK_TCK)))
}

/// CPU time (user and system) of this process so far.
func ownCPUNanos() -> Int64 {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Int64(usage.ru_utime.tv_sec) * 1_000_000_000 + Int64(usage.ru_utime.tv_usec) * 1000
    return user + Int64(usage.ru_stime.tv_sec) * 1_000_000_000 + Int64(usage.ru_stime.tv_usec) * 1000
}

struct Claims: JWTPayload {
    var sub: String
    var company_id: String?
    var roles: [String]
    var exp: ExpirationClaim
    func verify(using algorithm: some JWTAlgorithm) throws {}
}

func token(_ secret: String, user: String, company: String?, roles: [String]) async throws -> String {
    let keys = JWTKeyCollection()
    await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    return try await keys.sign(Claims(sub: user, company_id: company, roles: roles, exp: ExpirationClaim(value: Date().addingTimeInterval(3600))))
}

/// What all subscribers share: delivery counts and latency samples.
final class Tally: Sendable {
    let delivered = Atomic<Int>(0)
    let ready = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let latencies = Mutex<[Int64]>([])
    /// Per event (keyed by its send time): the latency of its first and of its last delivery.
    let spans = Mutex<[Int64: (first: Int64, last: Int64)]>([:])
    /// CPU time of the receiving thread while it served the subscribers (set when it stops).
    let receiverCPUNanos = Atomic<Int64>(0)
}

/// Publishes `count` events in batches of at most `batch`; each event carries its send time in `data.t`.
func publish(_ client: HTTPClient, url: String, token: String, count: Int, batch: Int, start: Int) async throws {
    var sent = 0
    while sent < count {
        let size = min(batch, count - sent)
        var body = #"{"events":["#
        for index in 0..<size {
            if index > 0 { body += "," }
            body +=
                #"{"event_type":"deal.stage.updated","data":{"company_id":"123","deal_id":\#(start + sent + index),"new_stage":"qualification","t":\#(monotonicNanos())}}"#
        }
        body += "]}"
        var request = HTTPClientRequest(url: url + "/api/realtime/publish/batch/")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 24)
        guard response.status == .accepted else { fatalError("publish answered \(response.status)") }
        sent += size
    }
}

/// Publishes one event on the single-event endpoint (Nchan: its publisher location); returns the nanoseconds
/// until the answer.
func publishOne(_ client: HTTPClient, url: String, token: String, n: Int, target: Target) async throws -> Int64 {
    let sent = monotonicNanos()
    let path = options.publishPath ?? (target == .nchan ? "/pub/company123" : "/api/realtime/publish/")
    var request = HTTPClientRequest(url: url + path)
    request.method = .POST
    request.headers.add(name: "Authorization", value: "Bearer \(token)")
    request.headers.add(name: "Content-Type", value: "application/json")
    request.body = .bytes(
        ByteBuffer(
            string: #"{"event_type":"deal.stage.updated","data":{"company_id":"123","deal_id":\#(n),"new_stage":"qualification","t":\#(sent)}}"#
        )
    )
    let response = try await client.execute(request, timeout: .seconds(30))
    _ = try await response.body.collect(upTo: 1 << 20)
    let anySuccess = target == .nchan || options.publishPath != nil
    guard response.status == .accepted || (anySuccess && (200..<300).contains(response.status.code)) else {
        fatalError("publish answered \(response.status)")
    }
    return monotonicNanos() - sent
}

/// One machine-readable line per run, `RESULT {...}`, for scripts/load-test.sh's table and plot.
func result(_ fields: [String: Any]) {
    // No samples (no subscribers) gives NaN percentiles: JSON has no NaN, so they are left out.
    let fields = fields.filter { !(($0.value as? Double)?.isNaN ?? false) }
    guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return }
    print("RESULT " + String(decoding: data, as: UTF8.self))
}

func percentile(_ sorted: [Int64], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
    return Double(sorted[max(0, index)]) / 1e6
}

/// Opens the subscribers on raw sockets served by one poll thread; returns once all are confirmed, with
/// the flag that stops the thread.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

/// A shared count the publishers take their next event number from.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

/// The running subscriber thread: set `stop`, then wait for `finished`.
struct SubscriberThread {
    let stop = Flag()
    let finished = Flag()

    func shutdown() async {
        stop.value.store(true, ordering: .releasing)
        while !finished.value.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(10)) }
    }
}

func openSubscribers(_ options: Options, tally: Tally, measureLatency: Bool) async throws -> SubscriberThread {
    var tokens: [String] = []
    for index in 0..<options.subscribers {
        tokens.append(try await token(options.secret, user: "load-\(index)", company: "123", roles: ["sales", "pii_reader"]))
    }
    let port = Int(options.url.split(separator: ":").last ?? "") ?? 8000
    let subscribers = try RawSubscribers(port: port, tokens: tokens, tally: tally, measureLatency: measureLatency, target: options.target)
    let thread = SubscriberThread()
    Thread {
        subscribers.run(stop: thread.stop)
        thread.finished.value.store(true, ordering: .releasing)
    }.start()
    let deadline = ContinuousClock.now + .seconds(120)
    while tally.ready.load(ordering: .relaxed) < options.subscribers {
        guard ContinuousClock.now < deadline else { fatalError("subscribers not ready: \(tally.ready.load(ordering: .relaxed))") }
        try await Task.sleep(for: .milliseconds(20))
    }
    return thread
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let tally = Tally()
let http = HTTPClient(eventLoopGroupProvider: .singleton)
let publisher = try await token(options.secret, user: "load-publisher", company: nil, roles: ["service"])
let publishURL = options.publishURL ?? options.url

do {
    switch options.mode {
    case "fanout":
        _ = try await openSubscribers(options, tally: tally, measureLatency: false)
        let target = options.events * options.subscribers
        let started = monotonicNanos()
        try await publish(http, url: publishURL, token: publisher, count: options.events, batch: 100, start: 0)
        let published = monotonicNanos()
        let deadline = ContinuousClock.now + .seconds(120)
        while tally.delivered.load(ordering: .relaxed) < target, ContinuousClock.now < deadline {
            try await Task.sleep(for: .microseconds(500))
        }
        let finished = monotonicNanos()
        let delivered = tally.delivered.load(ordering: .relaxed)
        let seconds = Double(finished - started) / 1e9
        print("fanout: \(options.subscribers) subscribers x \(options.events) events")
        print("  delivered \(delivered) of \(target) (lost \(target - delivered))")
        print(
            "  publishing took \(String(format: "%.3f", Double(published - started) / 1e9)) s; last delivery after \(String(format: "%.3f", seconds)) s"
        )
        print("  throughput \(Int(Double(delivered) / seconds)) deliveries/s")
        result([
            "mode": "fanout", "target": options.target.rawValue, "subscribers": options.subscribers, "expected": target,
            "delivered": delivered, "deliveries_per_second": Double(delivered) / seconds,
        ])
    case "latency":
        let subscribers = try await openSubscribers(options, tally: tally, measureLatency: true)
        let tick = 10  // ms
        let single = options.publishMode == "single"
        // Single events go out one by one, evenly spaced; batches once per tick.
        let perTick = single ? 1 : max(1, options.rate * tick / 1000)
        let ticks = single ? options.rate * options.seconds : options.seconds * 1000 / tick
        let spacing: Duration = single ? .nanoseconds(1_000_000_000 / max(1, options.rate)) : .milliseconds(tick)
        let started = ContinuousClock.now
        var roundTrips: [Int64] = []
        // Single events at rates one publisher cannot keep up with: `--publishers N` share the schedule, each
        // taking every Nth slot (one publisher by default).
        let publishers = single && options.publisherFlagGiven ? max(1, options.publishers) : 1
        if publishers > 1 {
            let destination = options.target
            roundTrips = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for worker in 0..<publishers {
                    group.addTask {
                        var trips: [Int64] = []
                        var index = worker
                        while index < ticks {
                            try await Task.sleep(until: started + spacing * index, clock: .continuous)
                            trips.append(try await publishOne(http, url: publishURL, token: publisher, n: index, target: destination))
                            index += publishers
                        }
                        return trips
                    }
                }
                var all: [Int64] = []
                for try await part in group { all += part }
                return all
            }
        }
        for index in 0..<(publishers > 1 ? 0 : ticks) {
            if single {
                roundTrips.append(try await publishOne(http, url: publishURL, token: publisher, n: index, target: options.target))
            } else {
                let sent = ContinuousClock.now
                try await publish(http, url: publishURL, token: publisher, count: perTick, batch: perTick, start: index * perTick)
                let trip = sent.duration(to: .now)
                roundTrips.append(trip.components.seconds * 1_000_000_000 + trip.components.attoseconds / 1_000_000_000)
            }
            try await Task.sleep(until: started + spacing * (index + 1), clock: .continuous)
        }
        roundTrips.sort()
        let target = ticks * perTick * options.subscribers
        let deadline = ContinuousClock.now + .seconds(30)
        while tally.delivered.load(ordering: .relaxed) < target, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        // Throughput counts until the last delivery, not until the last publish: late deliveries lower it.
        let lasted = started.duration(to: .now)
        let lastedSeconds = Double(lasted.components.seconds) + Double(lasted.components.attoseconds) / 1e18
        try await Task.sleep(for: .milliseconds(200))
        let delivered = tally.delivered.load(ordering: .relaxed)
        // Stop the subscriber thread so it hands over its samples.
        await subscribers.shutdown()
        let samples = tally.latencies.withLock { $0 }.sorted()
        print(
            "latency: \(options.subscribers) subscribers, \(ticks * perTick / options.seconds) events/s for \(options.seconds) s = \(ticks * perTick * options.subscribers / options.seconds) deliveries/s"
        )
        print("  delivered \(delivered) of \(target) (lost \(target - delivered)); \(samples.count) samples")
        print(
            String(
                format: "  publish->deliver p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms",
                percentile(samples, 0.5),
                percentile(samples, 0.9),
                percentile(samples, 0.99),
                percentile(samples, 0.999),
                percentile(samples, 1.0)
            )
        )
        // Where an event's time goes: until its first subscriber has it (the publish path), and until its last
        // (the fan-out to every socket and the generator's reading of them).
        let spans = tally.spans.withLock { $0.values }
        let firsts = spans.map(\.first).sorted()
        let lasts = spans.map(\.last).sorted()
        print(
            String(
                format: "  per event: first delivery p50 %.2f ms, p99 %.2f ms; last delivery p50 %.2f ms, p99 %.2f ms",
                percentile(firsts, 0.5),
                percentile(firsts, 0.99),
                percentile(lasts, 0.5),
                percentile(lasts, 0.99)
            )
        )
        // The generator's own share: the CPU its receiving thread spent per event (all of its subscribers' frames).
        let receiverCPU = Double(tally.receiverCPUNanos.load(ordering: .relaxed)) / 1e6
        print(String(format: "  generator's receiving thread: %.2f ms of CPU per event", receiverCPU / Double(max(1, ticks * perTick))))
        print(
            String(
                format: "  publish->202 (HTTP round trip of the request) p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
                percentile(roundTrips, 0.5),
                percentile(roundTrips, 0.9),
                percentile(roundTrips, 0.99),
                percentile(roundTrips, 1.0)
            )
        )
        result([
            "mode": "latency", "target": options.target.rawValue, "subscribers": options.subscribers, "rate": options.rate,
            "publish": options.publishMode, "expected": target, "delivered": delivered,
            "deliveries_per_second": Double(delivered) / max(lastedSeconds, Double(options.seconds)),
            "deliver_p50_ms": percentile(samples, 0.5), "deliver_p99_ms": percentile(samples, 0.99),
            "ack_p50_ms": percentile(roundTrips, 0.5), "ack_p99_ms": percentile(roundTrips, 0.99),
            "first_p50_ms": percentile(firsts, 0.5), "last_p50_ms": percentile(lasts, 0.5),
            "receiver_cpu_ms_per_event": receiverCPU / Double(max(1, ticks * perTick)),
        ])
    case "flat":
        // Single events flat out: `publishers` clients share `events` publishes, one event per request.
        let subscribers = try await openSubscribers(options, tally: tally, measureLatency: true)
        let target = options.events * options.subscribers
        let next = Counter()
        let events = options.events
        let destination = options.target
        let serverCPUAtStart = serverCPUNanos(options.pid)
        let ownCPUAtStart = ownCPUNanos()
        let started = monotonicNanos()
        let trips = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for _ in 0..<options.publishers {
                group.addTask {
                    var trips: [Int64] = []
                    while true {
                        let n = next.value.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard n < events else { return trips }
                        trips.append(try await publishOne(http, url: publishURL, token: publisher, n: n, target: destination))
                    }
                }
            }
            var all: [Int64] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        let published = monotonicNanos()
        let deadline = ContinuousClock.now + .seconds(60)
        var last = tally.delivered.load(ordering: .relaxed)
        var lastChange = monotonicNanos()
        while last < target, ContinuousClock.now < deadline {
            try await Task.sleep(for: .microseconds(500))
            let now = tally.delivered.load(ordering: .relaxed)
            if now != last {
                last = now
                lastChange = monotonicNanos()
            } else if monotonicNanos() - lastChange > 5_000_000_000 {
                break  // nothing for 5 s: the rest is lost
            }
        }
        let finished = lastChange
        let serverCPU = serverCPUNanos(options.pid) - serverCPUAtStart
        let ownCPU = ownCPUNanos() - ownCPUAtStart
        await subscribers.shutdown()
        let delivered = tally.delivered.load(ordering: .relaxed)
        let samples = tally.latencies.withLock { $0 }.sorted()
        let seconds = Double(finished - started) / 1e9
        print(
            "flat (\(options.target.rawValue)): \(options.subscribers) subscribers, \(options.publishers) publishers x single events, \(options.events) events"
        )
        print("  delivered \(delivered) of \(target) (lost \(target - delivered))")
        print(
            "  publishing took \(String(format: "%.3f", Double(published - started) / 1e9)) s; last delivery after \(String(format: "%.3f", seconds)) s"
        )
        print("  throughput \(Int(Double(delivered) / seconds)) deliveries/s")
        print(
            String(
                format: "  publish->deliver p50 %.2f ms, p99 %.2f ms; publish->202 p50 %.2f ms, p99 %.2f ms",
                percentile(samples, 0.5),
                percentile(samples, 0.99),
                percentile(trips, 0.5),
                percentile(trips, 0.99)
            )
        )
        // Where the two cores went: the server's CPU (with its worker processes) and the generator's.
        let perDelivery = { (nanos: Int64) in Double(nanos) / Double(max(1, delivered)) / 1000 }
        print(
            String(
                format: "  CPU per delivery: server %.2f us, generator %.2f us (its receiving thread %.2f us)",
                perDelivery(serverCPU),
                perDelivery(ownCPU),
                perDelivery(tally.receiverCPUNanos.load(ordering: .relaxed))
            )
        )
        result([
            "mode": "flat", "target": options.target.rawValue, "subscribers": options.subscribers, "publishers": options.publishers,
            "expected": target, "delivered": delivered, "deliveries_per_second": Double(delivered) / seconds,
            "deliver_p50_ms": percentile(samples, 0.5), "deliver_p99_ms": percentile(samples, 0.99),
            "ack_p50_ms": percentile(trips, 0.5), "ack_p99_ms": percentile(trips, 0.99),
            "server_cpu_us_per_delivery": perDelivery(serverCPU), "generator_cpu_us_per_delivery": perDelivery(ownCPU),
        ])
    case "ingest":
        // Flat out: `publishers` clients each send one event per request (or a batch of 100 with
        // `--publish batch`), back to back, for `seconds`.
        let deadline = monotonicNanos() + Int64(options.seconds) * 1_000_000_000
        let batched = options.publishMode == "batch"
        let trips = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<options.publishers {
                group.addTask {
                    var trips: [Int64] = []
                    var n = worker * 10_000_000
                    while monotonicNanos() < deadline {
                        if batched {
                            let sent = monotonicNanos()
                            try await publish(http, url: publishURL, token: publisher, count: 100, batch: 100, start: n)
                            trips += [Int64](repeating: monotonicNanos() - sent, count: 100)
                            n += 100
                        } else {
                            trips.append(try await publishOne(http, url: publishURL, token: publisher, n: n, target: options.target))
                            n += 1
                        }
                    }
                    return trips
                }
            }
            var all: [Int64] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        print("ingest: \(options.publishers) publishers, \(batched ? "batches of 100 events" : "one event per request"), \(options.seconds) s")
        print("  accepted \(trips.count) events: \(trips.count / max(1, options.seconds)) events/s (each durable before its 202)")
        print(
            String(
                format: "  publish->202 p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
                percentile(trips, 0.5),
                percentile(trips, 0.9),
                percentile(trips, 0.99),
                percentile(trips, 1.0)
            )
        )
        result([
            "mode": "ingest", "target": options.target.rawValue, "publishers": options.publishers, "publish": options.publishMode,
            "events_per_second": Double(trips.count) / Double(max(1, options.seconds)),
            "ack_p50_ms": percentile(trips, 0.5), "ack_p99_ms": percentile(trips, 0.99),
        ])
    case "idle":
        let before = residentKiB(of: options.pid)
        let subscribers = try await openSubscribers(options, tally: tally, measureLatency: false)
        try await Task.sleep(for: .seconds(2))
        let after = residentKiB(of: options.pid)
        print("idle: \(options.subscribers) subscribed connections")
        print(
            "  gateway resident \(before) KiB -> \(after) KiB: \(String(format: "%.2f", Double(after - before) / Double(options.subscribers))) KiB per connection"
        )
        if options.hold > 0 { try await Task.sleep(for: .seconds(options.hold)) }
        _ = subscribers
    default:
        usage("unknown mode \(options.mode)")
    }
}
// The process ends here; open sockets and the HTTP client go with it.
exit(0)
