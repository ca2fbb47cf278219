import Synchronization

/// One whole message a client sent.
enum InboundMessage: Sendable {
    /// A text message (valid UTF-8).
    case text(String)
    /// A binary message: the protocol has none, so it is answered with an error.
    case binary
}

/// The client messages of one connection waiting for the gateway, in order. A drain task takes them one by
/// one and ends when none is left, so an idle connection has no task; the connection stops reading while
/// too many wait, and the drain says when to read again.
final class MessageInbox: Sendable {
    private struct State {
        var messages: [InboundMessage] = []
        var head = 0
        var draining = false
        var paused = false
        var closed = false

        var depth: Int { messages.count - head }
    }

    private let state = Mutex(State())
    /// The depth at which a paused connection reads again.
    private let resumeDepth: Int

    init(resumeDepth: Int) { self.resumeDepth = resumeDepth }

    /// Queues a message (dropped once closed).
    func push(_ message: InboundMessage) {
        state.withLock { state in
            if !state.closed { state.messages.append(message) }
        }
    }

    /// Whether the caller should start a drain task: messages wait and no task drains them.
    func claimDrainer() -> Bool {
        state.withLock { state in
            guard !state.draining, !state.closed, state.depth > 0 else { return false }
            state.draining = true
            return true
        }
    }

    /// The next message and whether the connection should read again; `nil` when none waits, which ends the
    /// drain task (the next message claims a new one).
    func next() -> (message: InboundMessage, resume: Bool)? {
        state.withLock { state in
            guard !state.closed, state.depth > 0 else {
                state.draining = false
                state.messages = []
                state.head = 0
                return nil
            }
            let message = state.messages[state.head]
            state.messages[state.head] = .binary  // releases the text
            state.head += 1
            if state.head >= 64 {
                state.messages.removeFirst(state.head)
                state.head = 0
            }
            var resume = false
            if state.paused, state.depth <= resumeDepth {
                state.paused = false
                resume = true
            }
            return (message, resume)
        }
    }

    /// Marks the connection paused when more than `depth` messages wait; returns whether it is.
    func pauseIfDeeper(than depth: Int) -> Bool {
        state.withLock { state in
            if state.depth > depth { state.paused = true }
            return state.paused
        }
    }

    /// Drops what waits; later messages are dropped too, and the connection reads again.
    func close() {
        state.withLock { state in
            state.closed = true
            state.paused = false
            state.messages = []
            state.head = 0
        }
    }
}
