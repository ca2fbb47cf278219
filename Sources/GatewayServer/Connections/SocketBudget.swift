import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts the process's open client sockets, upgraded or not, against `MAX_OPEN_SOCKETS`. A socket is counted
/// from its setup until its channel closes; one over the limit is answered 503 and closed at once
/// (``SocketLimitRefusal``), so the process keeps descriptors for its log, its files and `accept` itself.
final class SocketBudget: Sendable {
    /// The most sockets open at once.
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Sockets open now.
    var count: Int { open.load(ordering: .relaxed) }

    /// Counts one more socket; `false` (and nothing counted) when the budget is spent.
    func admit() -> Bool {
        let now = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard now <= limit else {
            open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Forgets one admitted socket.
    func release() {
        open.wrappingSubtract(1, ordering: .relaxed)
    }

    /// The budget `requested` sockets get under a descriptor limit of `descriptors` (`nil`: unlimited):
    /// at most `descriptors - reserve`, and at least 1.
    static func effectiveLimit(requested: Int, descriptors: Int?, reserve: Int) -> Int {
        guard let descriptors else { return requested }
        return max(1, min(requested, descriptors - reserve))
    }

    /// Raises the soft `RLIMIT_NOFILE` towards `wanted` (never above the hard limit, never lowering it), as Go's
    /// runtime does at start; returns the soft limit in force afterwards, `nil` when unlimited or unknown.
    static func raiseDescriptorLimit(to wanted: Int) -> Int? {
        var limits = rlimit()
        guard getrlimit(resourceNoFile, &limits) == 0 else { return nil }
        // RLIM_INFINITY is the largest value (Linux) or 2^63 - 1 (Darwin): either way beyond Int.max - 1.
        let unlimited = rlim_t(Int.max)
        if limits.rlim_cur >= unlimited { return nil }
        let target = min(rlim_t(max(0, wanted)), limits.rlim_max)
        if target > limits.rlim_cur {
            var raised = limits
            raised.rlim_cur = target
            if setrlimit(resourceNoFile, &raised) == 0 { limits = raised }
        }
        return Int(limits.rlim_cur)
    }

    #if canImport(Glibc)
    private static let resourceNoFile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceNoFile = RLIMIT_NOFILE
    #endif
}
