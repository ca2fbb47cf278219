import Foundation
import GatewayModel
public import Logging
import Synchronization

/// One JSON object per line on standard error: `timestamp`, `level`, `logger`, `message` and the
/// metadata (the SPEC §9 category is the `event` field). Writes are whole lines under a lock.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private static let output = Mutex(FileHandle.standardError)

    /// A handler for `label`.
    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var json = JSONWriter()
        json.raw(#"{"timestamp":"#)
        json.string(Timestamp.now())
        json.raw(#","level":"#)
        json.string(event.level.rawValue)
        json.raw(#","logger":"#)
        json.string(label)
        json.raw(#","message":"#)
        json.string(event.message.description)
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            json.raw(",")
            json.string(key)
            json.raw(":")
            json.string(merged[key]!.description)
        }
        json.raw("}\n")
        let data = Data(json.text.utf8)
        Self.output.withLock { $0.write(data) }
    }
}
