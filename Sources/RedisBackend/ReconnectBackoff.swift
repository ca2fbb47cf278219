/// When a connection may be attempted again: capped exponential backoff with jitter. Each failure doubles
/// the wait (from `initial` up to `maximum`) and schedules the next attempt at 50–100 % of it; a success
/// resets the wait. Owned by one connection's thread.
struct ReconnectBackoff {
    let initial: Duration
    let maximum: Duration
    private var wait: Duration = .zero
    /// The earliest moment of the next attempt.
    private(set) var nextAttempt = ContinuousClock.now

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Whether an attempt may be made now.
    var allowsAttempt: Bool { ContinuousClock.now >= nextAttempt }

    /// An attempt failed (or a connection broke before it proved good): wait longer before the next.
    mutating func failed() {
        wait = wait == .zero ? initial : min(maximum, wait * 2)
        nextAttempt = ContinuousClock.now + wait * Double.random(in: 0.5...1.0)
    }

    /// A connection proved good: the next failure waits `initial` again.
    mutating func succeeded() { wait = .zero }
}
