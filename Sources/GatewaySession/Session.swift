public import GatewayModel
import NIOCore
public import PolicyEngine
import Synchronization

/// One live WebSocket connection's state: who it is, what it subscribed to, where its stream is.
///
/// Live delivery and replay meet here: while a `cursor.update` replays history, live events are not
/// queued but remembered as a high-water position; replay keeps reading the log until it has passed
/// every live event that arrived, then switches to live under the same lock (``finishReplay(at:message:)``).
/// Live events are queued in log order and once (``lastQueued``); the connection's first replay skips the
/// events it was already sent live (``LivePositions``), so joining live and history sends every event once.
/// A later `cursor.update` asks for the history again and gets all of it. Frames are queued
/// under the session's lock, so a live frame and a replayed one are never reordered between the decision
/// and the outbox.
public final class Session: Sendable {
    struct State {
        var subject: Subject
        var expiresAtMillis: Int64
        var subscriptions = SubscriptionList()
        var replaying = false
        var liveHighWater: Int64 = 0
        var lastQueued: Int64 = 0
        /// Events sent live before the first replay finished, which that replay does not send again; `nil` after it.
        var sentLive: LivePositions? = LivePositions()
        var invalidMessages = 0
        var messageRate: GCRA.State?
        /// Until when (ms) live deliveries refused by `deliver` limits are dropped without another `error`.
        var deliverLimitedUntilMillis: Int64 = 0
        var closed = false
    }

    /// The connection id sent in `connection.established`.
    public let id: String
    /// The outbound queue the transport drains.
    public let outbox: Outbox
    /// The token's company, fixed for the connection's life (a refreshed token must name the same).
    public let companyID: CompanyID
    /// The token's user.
    public let userID: String
    let state: Mutex<State>

    init(id: String, subject: Subject, companyID: CompanyID, expiresAtMillis: Int64, sink: any FrameSink, startPosition: Int64) {
        self.id = id
        self.outbox = Outbox(sink: sink)
        self.companyID = companyID
        self.userID = subject.principal.userID
        var initial = State(subject: subject, expiresAtMillis: expiresAtMillis)
        initial.lastQueued = startPosition
        self.state = Mutex(initial)
    }

    /// The resolved principal (replaced on `auth.refresh` and policy reload).
    public var subject: Subject { state.withLock { $0.subject } }

    /// The patterns subscribed to.
    public var subscriptions: [String] { state.withLock { Array($0.subscriptions.keys).sorted() } }

    /// Whether any subscription matches `eventType`.
    func matches(_ eventType: String) -> Bool {
        state.withLock { state in state.subscriptions.values.contains { $0.matches(eventType) } }
    }

    /// What became of a live event offered to a session.
    enum Offer {
        /// Queued for the socket.
        case queued
        /// Not queued: a replay will send it, or it was queued before.
        case deferred
        /// Lost for this connection: the outbox overflowed (slow consumer) or is closing.
        case dropped
    }

    /// Offers a live event. Queued unless the session is replaying (then only remembered) or has
    /// already queued this position. The write is not started: the fan-out starts them after the event or its
    /// batch (``Gateway/Configuration/startQueuedWrites``).
    func offerLive(position: Int64, frame: ByteBuffer) -> Offer {
        state.withLock { state -> Offer in
            if state.closed { return .deferred }
            if state.replaying {
                state.liveHighWater = max(state.liveHighWater, position)
                return .deferred
            }
            guard position > state.lastQueued else { return .deferred }
            state.lastQueued = position
            state.sentLive?.append(position)
            return outbox.enqueue(frame, deferred: true) ? .queued : .dropped
        }
    }

    /// Starts a replay; `false` when one is already running.
    func beginReplay() -> Bool {
        state.withLock { state in
            guard !state.replaying else { return false }
            state.replaying = true
            state.liveHighWater = 0
            return true
        }
    }

    /// Queues a replayed event (already checked against subscriptions and policy), unless this is the first
    /// replay and the connection was sent it live; returns whether it was queued.
    @discardableResult
    func queueReplayed(position: Int64, frame: ByteBuffer) -> Bool {
        state.withLock { state in
            state.lastQueued = max(state.lastQueued, position)
            guard state.sentLive?.contains(position) != true else { return false }
            outbox.enqueue(frame)
            return true
        }
    }

    /// Ends a replay that has read the log up to `position`, unless live events past it arrived
    /// meanwhile (then returns `false`: read on). On success `message` is queued before any later live event.
    func finishReplay(at position: Int64, message: String) -> Bool {
        state.withLock { state in
            guard state.liveHighWater <= position else { return false }
            state.replaying = false
            state.lastQueued = max(state.lastQueued, position)
            state.sentLive = nil
            outbox.enqueue(text: message)
            return true
        }
    }

    /// Abandons a replay (error or close).
    func abortReplay() {
        state.withLock { $0.replaying = false }
    }

    func markClosed() { state.withLock { $0.closed = true } }

    /// Counts one client message against `limit`; `false` when the connection sends faster than it allows.
    func admitMessage(_ limit: GCRA, now: Int64) -> Bool {
        state.withLock { state in
            let (outcome, next) = limit.acquire(state.messageRate, now: now)
            state.messageRate = next
            return outcome.allowed
        }
    }
}
