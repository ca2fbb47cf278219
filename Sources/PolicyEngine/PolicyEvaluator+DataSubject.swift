import GatewayModel
import PolicyLanguage

extension PolicyEvaluator {
    /// What is wrong with the data subject the topic's `data_subject` path names in `intent.data`, when the
    /// event carries one there: it must be an identifier (a string, or an integer literal of any size, kept
    /// digit for digit) of 1-256 characters. A number with a fraction or an exponent (`7.5`, `1e3`), a
    /// boolean, an array or an object identifies nobody: such an event is refused rather than stored without
    /// a subject, which erasure could never find. A missing field or `null` means the event names no one.
    /// - Parameter rule: the matching rule whose GDPR declarations enrich the event (its `data_subject`
    ///   wins over `defaults.gdpr`); -1 for none.
    func dataSubjectProblem(_ intent: PublishIntent, rule: Int) -> String? {
        let declared = rule >= 0 ? policy.rules[rule].gdpr.dataSubject : nil
        guard let path = declared ?? policy.defaultGDPR.dataSubject, let value = path.value.value(in: intent.data) else { return nil }
        if case .null = value { return nil }
        guard let subject = value.identifierString else {
            return "\(path.value.text) names the data subject: it must be a string or an integer (no fraction or exponent)"
        }
        guard (1...256).contains(subject.utf8.count) else { return "\(path.value.text) names the data subject: it must be 1-256 characters" }
        return nil
    }
}
