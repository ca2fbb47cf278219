import Foundation
import Synchronization

/// The one pub/sub connection of a node, on a thread of its own: it holds the node's `SUBSCRIBE`s and
/// `PSUBSCRIBE`s, hands every message to `onMessage` in the order Redis sent them (which is the order it
/// ran the publishing scripts: log order), and reconnects after any break with capped exponential backoff
/// and jitter. After each (re)connect it subscribes everything again and, once Redis confirmed that
/// (a `PING` answered after the subscriptions), calls `onLive`: from then on nothing published is missed,
/// so that is where a node catches up from the stream.
final class PubSubConnection: Sendable {
    private struct State {
        var channels: [String: Int] = [:]
        var patterns: [String: Int] = [:]
        var pending: [RedisCommand] = []
        /// Callers of ``confirm()`` waiting for Redis to have applied every subscription before their call.
        var confirms: [CheckedContinuation<Void, Never>] = []
        var closed = false
        var connected = false
        var lastError = "not connected yet"
    }

    private let state = Mutex(State())
    private let settings: RedisConnection.Settings
    private let onMessage: @Sendable (_ channel: String, _ payload: [UInt8]) -> Void
    private let onLive: @Sendable () -> Void
    /// Told when the connection broke (with the reason) and when it is subscribed again.
    private let onChange: @Sendable (_ up: Bool, _ reason: String) -> Void
    /// Silence after which the connection is taken as dead (a `PING` goes out every `pingInterval`).
    private let silenceLimit: Duration = .seconds(10)
    private let pingInterval: Duration = .seconds(2)

    init(
        settings: RedisConnection.Settings,
        name: String,
        onMessage: @escaping @Sendable (String, [UInt8]) -> Void,
        onLive: @escaping @Sendable () -> Void,
        onChange: @escaping @Sendable (Bool, String) -> Void = { _, _ in }
    ) {
        RedisConnection.ignoreBrokenPipes
        self.settings = settings
        self.onMessage = onMessage
        self.onLive = onLive
        self.onChange = onChange
        let thread = Thread { [self] in self.serve() }
        thread.name = name
        thread.start()
    }

    /// Whether the connection is up, and the last failure when it is not.
    var status: (connected: Bool, lastError: String) { state.withLock { ($0.connected, $0.lastError) } }

    /// Subscribes to `channels` and `patterns` (counted: each needs as many removals as additions).
    func add(channels: [String], patterns: [String]) {
        state.withLock { state in
            for channel in channels {
                state.channels[channel, default: 0] += 1
                if state.channels[channel] == 1 { state.pending.append(Self.command("SUBSCRIBE", channel)) }
            }
            for pattern in patterns {
                state.patterns[pattern, default: 0] += 1
                if state.patterns[pattern] == 1 { state.pending.append(Self.command("PSUBSCRIBE", pattern)) }
            }
        }
    }

    /// Undoes one ``add(channels:patterns:)`` of each.
    func remove(channels: [String], patterns: [String]) {
        state.withLock { state in
            for channel in channels where state.channels[channel] != nil {
                state.channels[channel]! -= 1
                if state.channels[channel] == 0 {
                    state.channels[channel] = nil
                    state.pending.append(Self.command("UNSUBSCRIBE", channel))
                }
            }
            for pattern in patterns where state.patterns[pattern] != nil {
                state.patterns[pattern]! -= 1
                if state.patterns[pattern] == 0 {
                    state.patterns[pattern] = nil
                    state.pending.append(Self.command("PUNSUBSCRIBE", pattern))
                }
            }
        }
    }

    /// Returns once Redis has applied every subscription made before this call (a `PING` sent after them
    /// was answered), or once a connection attempt failed (the subscriptions apply when it is back).
    func confirm() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                guard !state.closed else { return true }
                state.confirms.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Ends the thread within one poll interval.
    func close() { state.withLock { $0.closed = true } }

    /// Why a `PING` went out; answers come back in the same order.
    private enum Ping {
        case keepAlive
        case live
        case confirm(CheckedContinuation<Void, Never>)
    }

    private static func command(_ words: String...) -> RedisCommand { words.map { Array($0.utf8) } }

    private func serve() {
        var link: RedisLink?
        var backoff = ReconnectBackoff(initial: settings.initialBackoff, maximum: settings.maximumBackoff)
        var lastHeard = ContinuousClock.now
        var lastPing = ContinuousClock.now
        var pings: [Ping] = []
        var everUp = false
        func drop(_ reason: String) {
            if link != nil, reason != "closed" { onChange(false, reason) }
            link = nil
            let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.connected = false
                state.lastError = reason
                defer { state.confirms = [] }
                return state.confirms
            }
            for case .confirm(let continuation) in pings { continuation.resume() }
            for continuation in waiting { continuation.resume() }
            pings = []
            // The backoff is reset only once a connection was subscribed and answered (`.live`), so a server
            // that accepts and then refuses is not hammered.
            backoff.failed()
        }
        while !state.withLock({ $0.closed }) {
            guard let open = link else {
                if !backoff.allowsAttempt {
                    Thread.sleep(forTimeInterval: 0.02)
                    continue
                }
                var handshake = settings
                handshake.scripts = []
                switch Worker.open(handshake) {
                case .failure(let error):
                    let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                        state.lastError = error.description
                        defer { state.confirms = [] }
                        return state.confirms
                    }
                    for continuation in waiting { continuation.resume() }
                    backoff.failed()
                case .success(let opened):
                    link = opened
                    let commands = state.withLock { state -> [RedisCommand] in
                        state.pending = []
                        state.connected = true
                        return state.channels.keys.sorted().map { Self.command("SUBSCRIBE", $0) }
                            + state.patterns.keys.sorted().map { Self.command("PSUBSCRIBE", $0) }
                    }
                    for command in commands + [Self.command("PING")] { opened.append(command) }
                    pings = [.live]
                    lastHeard = ContinuousClock.now
                    lastPing = lastHeard
                    if !opened.flush() { drop(opened.errorText) }
                }
                continue
            }
            let (pending, confirms) = state.withLock { state -> ([RedisCommand], [CheckedContinuation<Void, Never>]) in
                defer {
                    state.pending = []
                    state.confirms = []
                }
                return (state.pending, state.confirms)
            }
            for command in pending { open.append(command) }
            for continuation in confirms {
                open.append(Self.command("PING"))
                pings.append(.confirm(continuation))
            }
            if ContinuousClock.now - lastPing >= pingInterval {
                open.append(Self.command("PING"))
                pings.append(.keepAlive)
                lastPing = ContinuousClock.now
            }
            guard open.flush() else {
                drop(open.errorText)
                continue
            }
            if open.waitForInput(milliseconds: 50) {
                guard open.readArrived() else {
                    drop(open.errorText)
                    continue
                }
                lastHeard = ContinuousClock.now
                var broken = false
                var refusal: String?
                while true {
                    guard case .success(let next) = open.bufferedReply() else {
                        broken = true
                        break
                    }
                    guard let reply = next else { break }
                    switch handle(reply) {
                    case .other:
                        break
                    case .refused(let message):
                        // LOADING, BUSY, a refused SUBSCRIBE: this connection may not be subscribed, and the
                        // PING answers no longer line up. Start again (with backoff) rather than go deaf.
                        broken = true
                        refusal = "Redis answered \(message.prefix(200))"
                    case .pong:
                        guard !pings.isEmpty else { break }
                        switch pings.removeFirst() {
                        case .keepAlive: break
                        case .live:
                            backoff.succeeded()
                            if everUp { onChange(true, "subscribed again") }
                            everUp = true
                            onLive()
                        case .confirm(let continuation): continuation.resume()
                        }
                    }
                    if broken { break }
                }
                if broken {
                    drop(refusal ?? open.errorText)
                    continue
                }
            } else if ContinuousClock.now - lastHeard > silenceLimit {
                drop("no answer from Redis for \(silenceLimit)")
            }
        }
        drop("closed")
    }

    /// What a reply on the pub/sub connection was.
    private enum Received {
        /// The answer to a `PING`.
        case pong
        /// An error line: the connection is no longer in a known state.
        case refused(String)
        /// A message (handed on) or a (un)subscribe acknowledgement.
        case other
    }

    /// Hands a message on and says what the reply was.
    private func handle(_ reply: RedisReply) -> Received {
        switch reply {
        case .status(let text): return text == "PONG" ? .pong : .other
        case .error(let message): return .refused(message)
        default: break
        }
        let items = reply.elements
        switch items.first?.string?.lowercased() {
        case "message":
            if items.count == 3, let channel = items[1].string, case .bulk(let payload) = items[2] { onMessage(channel, payload) }
        case "pmessage":
            if items.count == 4, let channel = items[2].string, case .bulk(let payload) = items[3] { onMessage(channel, payload) }
        case "pong":
            return .pong
        default:
            break
        }
        return .other
    }
}
