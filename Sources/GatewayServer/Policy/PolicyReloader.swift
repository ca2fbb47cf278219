import Foundation
import GatewayModel
import GatewaySession
import Logging
import Metrics
import PolicyLanguage

/// Keeps the active policy in step with `POLICY_PATH` (SPEC §6.8): re-reads, validates and compiles
/// it off the hot path when the files change, on SIGHUP and on `POST /api/realtime/policy/reload/`,
/// and swaps it in whole. A policy that does not compile is not applied: the old one keeps serving
/// and the failure shows in the log, in ``status`` and in `policy_reloads_total{result="failure"}`.
///
/// The watcher compares the files' contents, not their timestamps or inodes, once per interval, and
/// acts on a change only when two reads a short moment apart agree: an editor's temp-file-and-rename,
/// a write in progress and a Kubernetes ConfigMap's swapped symlink all settle into one reload.
actor PolicyReloader {
    /// How a reload was asked for.
    enum Trigger: String, Sendable {
        case file, signal, api, startup
    }

    /// One reload attempt.
    struct Attempt: Sendable {
        enum Outcome: String, Sendable {
            /// A new policy is active.
            case success
            /// The files compile to the active policy: nothing to swap.
            case unchanged
            /// The files do not load or compile; the previous policy keeps serving.
            case failure
        }

        var outcome: Outcome
        var trigger: Trigger
        var atMillis: Int64
        /// The diagnostics of a failure, as `FILE:LINE:COLUMN: error: MESSAGE` lines.
        var errors: [String] = []
        /// What the swap did, for a success.
        var swap: Gateway.PolicySwap?
    }

    /// The active policy and the last reload, for `GET /api/realtime/policy/`, health and the dashboard.
    struct Status: Sendable {
        var version: String
        var loadedAtMillis: Int64
        var files: [String]
        var lastAttempt: Attempt?

        /// Whether the last reload failed (the health `policy` component is then degraded).
        var isDegraded: Bool { lastAttempt?.outcome == .failure }
    }

    private let path: String
    private let compiler: PolicyCompiler
    private let gateway: Gateway
    private let logger: Logger
    private(set) var status: Status
    /// The texts the active policy (or the last failed attempt) was read from.
    private var lastTexts: [PolicySource]

    init(path: String, compiler: PolicyCompiler, gateway: Gateway, sources: [PolicySource], logger: Logger) {
        self.path = path
        self.compiler = compiler
        self.gateway = gateway
        self.logger = logger
        self.lastTexts = sources
        self.status = Status(version: gateway.policyVersion, loadedAtMillis: Timestamp.nowMillis(), files: sources.map(\.path))
    }

    /// The reload in progress; the next one waits for it, so reloads apply in the order they were asked
    /// for, each reading the files when it starts (an older read can never overwrite a newer one).
    private var inProgress: Task<Attempt, Never>?

    /// Re-reads and compiles the policy; swaps it in when it compiles to a new version.
    @discardableResult
    func reload(trigger: Trigger) async -> Attempt {
        let previous = inProgress
        let task = Task {
            _ = await previous?.value
            let attempt = await self.load(trigger: trigger)
            self.record(attempt)
            return attempt
        }
        inProgress = task
        return await task.value
    }

    /// Polls the files every `interval` until the task is cancelled.
    func watch(interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled, let first = await Self.read(path), !Self.same(first, lastTexts) else { continue }
            // Let a write or a rename settle: act when two reads agree.
            try? await Task.sleep(for: .milliseconds(200))
            guard let second = await Self.read(path), Self.same(first, second) else { continue }
            lastTexts = second
            await reload(trigger: .file)
        }
    }

    /// Runs `work` on a thread of its own: file I/O and compiling never block the cooperative pool.
    private static func onOwnThread<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }

    /// The policy files' texts, read on a thread of its own.
    private static func read(_ path: String) async -> [PolicySource]? {
        await onOwnThread { try? PolicyLoader.load([path]) }
    }

    private enum Loaded: Sendable {
        case compiled(CompiledPolicy, [PolicySource])
        case invalid([String])
    }

    private static func compile(path: String, compiler: PolicyCompiler) -> Loaded {
        let sources: [PolicySource]
        do throws(PolicyLoader.LoadError) {
            sources = try PolicyLoader.load([path])
        } catch {
            return .invalid(["\(path): error: \(error.description)"])
        }
        do throws(PolicyDiagnostics) {
            return .compiled(try compiler.compile(sources), sources)
        } catch {
            return .invalid(error.errors.map { DiagnosticFormatter.line($0) })
        }
    }

    private static func same(_ a: [PolicySource], _ b: [PolicySource]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.path == $1.path && $0.text == $1.text }
    }

    /// Loads and compiles on a thread of its own (compiling a large policy takes tens of milliseconds).
    private func load(trigger: Trigger) async -> Attempt {
        let path = self.path
        let compiler = self.compiler
        let result = await Self.onOwnThread { Self.compile(path: path, compiler: compiler) }
        let now = Timestamp.nowMillis()
        switch result {
        case .invalid(let errors):
            return Attempt(outcome: .failure, trigger: trigger, atMillis: now, errors: errors)
        case .compiled(let policy, let sources):
            lastTexts = sources
            guard policy.version != gateway.policyVersion else { return Attempt(outcome: .unchanged, trigger: trigger, atMillis: now) }
            let swap = gateway.apply(policy)
            status.version = policy.version
            status.loadedAtMillis = now
            status.files = sources.map(\.path)
            return Attempt(outcome: .success, trigger: trigger, atMillis: now, swap: swap)
        }
    }

    private func record(_ attempt: Attempt) {
        // An unchanged result after a failure clears it: the files compile again, to the active policy.
        status.lastAttempt = attempt
        Counter(label: "policy_reloads_total", dimensions: [("result", attempt.outcome.rawValue)]).increment()
        switch attempt.outcome {
        case .success:
            let swap = attempt.swap
            logger.notice(
                "policy reloaded",
                metadata: [
                    LogKey.event: "policy.reloaded", LogKey.trigger: "\(attempt.trigger.rawValue)", LogKey.policyVersion: "\(status.version)",
                    "previous_version": "\(swap?.previousVersion ?? "")", "files": "\(status.files.count)",
                    "dropped_subscriptions": "\(swap?.droppedSubscriptions ?? 0)", "closed_connections": "\(swap?.closedConnections ?? 0)",
                ]
            )
        case .unchanged:
            logger.info(
                "policy unchanged",
                metadata: [
                    LogKey.event: "policy.reloaded", LogKey.trigger: "\(attempt.trigger.rawValue)", LogKey.policyVersion: "\(status.version)",
                    "result": "unchanged",
                ]
            )
        case .failure:
            logger.error(
                "policy reload failed; the previous policy keeps serving",
                metadata: [
                    LogKey.event: "policy.reload_failed", LogKey.trigger: "\(attempt.trigger.rawValue)", LogKey.policyVersion: "\(status.version)",
                    "errors": "\(attempt.errors.count)", "diagnostics": "\(attempt.errors.prefix(20).joined(separator: "\n"))",
                ]
            )
        }
    }
}
