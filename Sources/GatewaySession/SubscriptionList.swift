import GatewayModel

/// A connection's subscriptions, keyed by the pattern's text: a plain array, not a dictionary. A connection
/// holds a few patterns (at most 200), and an idle one should cost as little memory as possible: a
/// one-pattern dictionary's storage is about twice the array's.
struct SubscriptionList {
    private var patterns: [TopicPattern] = []

    var count: Int { patterns.count }
    /// The patterns' texts, in subscription order.
    var keys: [String] { patterns.map(\.text) }
    var values: [TopicPattern] { patterns }

    subscript(text: String) -> TopicPattern? {
        get { patterns.first { $0.text == text } }
        set {
            let index = patterns.firstIndex { $0.text == text }
            switch (index, newValue) {
            case (let index?, let pattern?): patterns[index] = pattern
            case (nil, let pattern?): patterns.append(pattern)
            case (let index?, nil): patterns.remove(at: index)
            case (nil, nil): break
            }
        }
    }

    /// Removes the pattern `text`; returns it if it was held.
    @discardableResult
    mutating func removeValue(forKey text: String) -> TopicPattern? {
        guard let index = patterns.firstIndex(where: { $0.text == text }) else { return nil }
        return patterns.remove(at: index)
    }
}
