import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// A WebSocket client for tests: messages arrive in a queue to await one by one (with a timeout),
/// frames are sent at will, and the server's close frame is recorded.
final class TestSocket: Sendable {
    /// What the client task and the test share.
    private final class Shared: Sendable {
        let writer = Mutex<WebSocketOutboundWriter?>(nil)
        let inbox = Mutex<[String]>([])
        let closeFrame = Mutex<(code: UInt16, reason: String)?>(nil)
        let finished = Mutex<Bool>(false)
        let paused = Mutex<Bool>(false)
        /// Pauses reading right after a message that satisfies it (then forgotten).
        let pauseAfter = Mutex<(@Sendable (String) -> Bool)?>(nil)
    }

    private let shared: Shared
    private let task: Task<Void, Never>

    init(url: String, headers: [(String, String)] = [], maxFrameSize: Int = 1 << 22) async throws {
        let shared = Shared()
        self.shared = shared
        let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
        var fields = HTTPFields()
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        let configuration = WebSocketClientConfiguration(maxFrameSize: maxFrameSize, additionalHeaders: fields, autoPing: .disabled)
        task = Task {
            let logger = Logger(label: "test-socket")
            do {
                let frame = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                    shared.writer.withLock { $0 = outbound }
                    readyContinuation.yield()
                    var messages = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
                    while true {
                        // While paused nothing is read, so TCP backs up to the server (and pings go unanswered).
                        while shared.paused.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
                        guard let message = try await messages.next() else { break }
                        if case .text(let text) = message {
                            shared.inbox.withLock { $0.append(text) }
                            if let pauseAfter = shared.pauseAfter.withLock({ $0 }), pauseAfter(text) {
                                shared.pauseAfter.withLock { $0 = nil }
                                shared.paused.withLock { $0 = true }
                            }
                        }
                    }
                }
                // No close frame at all is what browsers report as 1006 (abnormal closure).
                let code = frame.map { UInt16(webSocketErrorCode: $0.closeCode) } ?? 1006
                shared.closeFrame.withLock { $0 = (code, frame?.reason ?? "") }
            } catch {
                shared.closeFrame.withLock { current in if current == nil { current = (0, "\(error)") } }
            }
            shared.finished.withLock { $0 = true }
            readyContinuation.finish()
        }
        var readyIterator = ready.makeAsyncIterator()
        _ = await readyIterator.next()
    }

    /// Stops (or resumes) reading from the socket.
    func pause(_ paused: Bool) { shared.paused.withLock { $0 = paused } }

    /// Stops reading right after the first message that satisfies `condition`, so that a test can stop a
    /// reader at a point of the stream rather than at a time.
    func pause(after condition: @escaping @Sendable (String) -> Bool) { shared.pauseAfter.withLock { $0 = condition } }

    /// Whether reading is paused.
    var isPaused: Bool { shared.paused.withLock { $0 } }

    /// Sends a text frame.
    func send(_ text: String) async throws {
        guard let writer = shared.writer.withLock({ $0 }) else { throw TestFailure("socket is not open") }
        try await writer.write(.text(text))
    }

    /// Sends a JSON object.
    func send(json: [String: Any]) async throws {
        try await send(String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self))
    }

    /// The next message as a JSON object; throws after `timeout` or when the socket closed.
    func next(timeout: Duration = patience) async throws -> [String: Any] {
        let text = try await nextText(timeout: timeout)
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(text)")
        }
        return object
    }

    func nextText(timeout: Duration = patience) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let taken = shared.inbox.withLock { inbox -> String? in inbox.isEmpty ? nil : inbox.removeFirst() }
            if let taken { return taken }
            if shared.finished.withLock({ $0 }) { throw TestFailure("socket closed: \(String(describing: closed))") }
            if ContinuousClock.now >= deadline { throw TestFailure("no message within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Every message received and not yet taken.
    func drain() -> [String] {
        shared.inbox.withLock { inbox in
            defer { inbox.removeAll() }
            return inbox
        }
    }

    /// Waits for a message of `type`, skipping others; returns it.
    func next(type: String, timeout: Duration = patience) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let message = try await next(timeout: deadline - ContinuousClock.now)
            if message["type"] as? String == type { return message }
        }
    }

    /// The close code and reason once the server closed.
    var closed: (code: UInt16, reason: String)? { shared.closeFrame.withLock { $0 } }

    /// Waits until the connection ends; returns the server's close code.
    func waitForClose(timeout: Duration = patience) async throws -> (code: UInt16, reason: String) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if shared.finished.withLock({ $0 }), let frame = closed { return frame }
            try await Task.sleep(for: .milliseconds(20))
        }
        // What the socket saw, for the failure message: whether a close frame arrived without the
        // connection ending, and the last messages received.
        let received = shared.inbox.withLock { $0.suffix(3) }
        throw TestFailure("socket did not close within \(timeout); close frame: \(String(describing: closed)); last messages: \(received)")
    }

    /// Closes from the client side.
    func close() async {
        if let writer = shared.writer.withLock({ $0 }) { try? await writer.close(.normalClosure, reason: nil) }
        _ = await task.value
    }
}
