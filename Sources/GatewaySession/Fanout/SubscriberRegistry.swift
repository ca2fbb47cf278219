import GatewayModel
import Synchronization

/// The fan-out index: per company, the sessions subscribed to each pattern, and per event type the
/// resolved list of sessions (cached until the company's subscriptions change). An event only ever
/// looks at its own company's sessions, so isolation holds by construction before the policy's
/// per-delivery check confirms it.
final class SubscriberRegistry: Sendable {
    private struct PatternEntry {
        var pattern: TopicPattern
        var sessions: [ObjectIdentifier: Session] = [:]
    }

    private struct Room {
        var patterns: [String: PatternEntry] = [:]
        var routes: [String: [Session]] = [:]
    }

    private let rooms = Mutex<[CompanyID: Room]>([:])

    /// Adds `session` under `pattern`.
    func add(_ session: Session, pattern text: String, _ pattern: TopicPattern) {
        rooms.withLock { rooms in
            // Mutated in place: copying a room out and back would copy its dictionaries.
            rooms[session.companyID, default: Room()].patterns[text, default: PatternEntry(pattern: pattern)]
                .sessions[ObjectIdentifier(session)] = session
            rooms[session.companyID]!.routes.removeAll(keepingCapacity: true)
        }
    }

    /// Removes `session` from `patterns`.
    func remove(_ session: Session, patterns: [String]) {
        guard !patterns.isEmpty else { return }
        rooms.withLock { rooms in
            let company = session.companyID
            guard rooms[company] != nil else { return }
            for text in patterns {
                rooms[company]!.patterns[text]?.sessions[ObjectIdentifier(session)] = nil
                if rooms[company]!.patterns[text]?.sessions.isEmpty == true { rooms[company]!.patterns[text] = nil }
            }
            rooms[company]!.routes.removeAll(keepingCapacity: true)
            if rooms[company]!.patterns.isEmpty { rooms[company] = nil }
        }
    }

    /// The sessions of `company` with a subscription matching `eventType`, each once.
    func subscribers(company: CompanyID, eventType: String) -> [Session] {
        rooms.withLock { rooms in
            guard rooms[company] != nil else { return [] }
            if let cached = rooms[company]!.routes[eventType] { return cached }
            var seen = Set<ObjectIdentifier>()
            var sessions: [Session] = []
            for entry in rooms[company]!.patterns.values where entry.pattern.matches(eventType) {
                for (id, session) in entry.sessions where seen.insert(id).inserted { sessions.append(session) }
            }
            // Bound the cache: event types are open-ended.
            if rooms[company]!.routes.count >= 4096 { rooms[company]!.routes.removeAll(keepingCapacity: true) }
            rooms[company]!.routes[eventType] = sessions
            return sessions
        }
    }
}
