import Foundation
import Synchronization

/// A child's standard error, collected as it arrives on Foundation's reading thread and read by the tests.
/// Its own file because its state is in a `Mutex`, which ThreadSanitizer cannot see: the file is listed in
/// `scripts/tsan-suppressions.txt` (``ServerProcess``, which holds a `Process` and so is unchecked, is not: it
/// stays visible to TSan).
final class CollectedOutput: Sendable {
    private let text = Mutex("")

    /// Appends what the child wrote.
    func append(_ data: Data) {
        let piece = String(decoding: data, as: UTF8.self)
        text.withLock { $0 += piece }
    }

    /// Everything collected so far.
    func snapshot() -> String { text.withLock { $0 } }
}
