import EventBus
import GatewayModel
import InMemoryLogging
import Logging
import PolicyEnforcement
import PolicyEngine
import Synchronization
import Testing

/// Every action through the gate: decided, limited, audited, shadowed and (for publish) enriched and
/// appended, over the real embedded backends.
@Suite("Policy gate")
struct PolicyGateTests {
    @Test("connect: allowed, disabled company, region not served (home region named), connect limit")
    func connect() async throws {
        try await GateHarness.with(nodeRegion: "us-east-1") { harness in
            let gate = harness.gate
            guard case .success(let admitted) = await gate.connect(.sales()) else {
                Issue.record("sales of 123 refused")
                return
            }
            #expect(admitted.company == "123" && admitted.policyVersion == gate.active.version)
            func refusal(_ principal: Principal) async -> PolicyGate.ConnectRefusal? {
                if case .failure(let refusal) = await gate.connect(principal) { return refusal }
                return nil
            }
            #expect(await refusal(.sales("789")) == .forbidden(reason: "forbidden"))
            #expect(await refusal(.sales("456")) == .forbidden(reason: "home region eu-west-1"))
            guard case .success = await gate.connect(.sales("555")) else {
                Issue.record("first connect of 555 refused")
                return
            }
            guard case .failure(.rateLimited(let seconds)) = await gate.connect(.sales("555")) else {
                Issue.record("second connect of 555 within a minute was not limited")
                return
            }
            #expect(seconds > 0 && seconds <= 60)
            let refusals = gate.audit.snapshot.refusals
            #expect(refusals["connect company_disabled"] == 1 && refusals["connect region_not_served"] == 1)
        }
    }

    @Test("subscribe: allowed, invalid and forbidden topics answered one by one; duplicates once; capacity")
    func subscribe() async throws {
        try await GateHarness.with { harness in
            let gate = harness.gate
            let subject = gate.subject(for: .sales())
            let result = await gate.subscribe(
                subject,
                topics: ["deal.stage.*", "deal.stage.*", "nope.never", "Bad..topic", "activity.*", "deal.stage.won"],
                held: 0,
                maximum: 3,
                connectionID: "c-1",
                company: "123"
            )
            #expect(result.accepted.map(\.topic) == ["deal.stage.*", "activity.*", "deal.stage.won"])
            #expect(result.refused.map(\.topic) == ["nope.never", "Bad..topic"])
            #expect(result.refused.map(\.code) == [.invalidTopic, .invalidTopic])
            #expect(result.rateLimited == nil)
            let full = await gate.subscribe(subject, topics: ["activity.*"], held: 3, maximum: 3, connectionID: "c-1", company: "123")
            #expect(full.accepted.isEmpty && full.refused.first?.code == .forbidden)
            #expect(full.refused.first?.message == "a connection may hold at most 3 subscriptions")
            // Each refusal is a `policy.decision` line naming the rule or setting; the user id never appears.
            // (The shadow rule, managers only, would refuse both deal.stage topics: two shadow_deny lines.)
            let lines = harness.decisionLines
            #expect(lines.filter { $0.metadata[LogKey.result] == "deny" }.count == 2)
            #expect(lines.filter { $0.metadata[LogKey.result] == "shadow_deny" }.count == 2)
            #expect(lines.allSatisfy { $0.metadata[LogKey.connectionID] == "c-1" })
            #expect(lines.filter { $0.metadata[LogKey.result] == "shadow_deny" }.allSatisfy { $0.metadata[LogKey.rule] != nil })
            #expect(!lines.contains { "\($0.metadata)".contains("u-1") })
        }
    }

    @Test("subscribe: a shadow rule's would-be refusal is logged as shadow_deny and the topic is accepted")
    func shadowSubscribe() async throws {
        try await GateHarness.with { harness in
            let result = await harness.gate.subscribe(
                harness.gate.subject(for: .sales()),
                topics: ["deal.stage.*"],
                held: 0,
                maximum: 10,
                connectionID: "c-2",
                company: "123"
            )
            #expect(result.accepted.map(\.topic) == ["deal.stage.*"])
            let shadow = harness.decisionLines.filter { $0.metadata[LogKey.result] == "shadow_deny" }
            #expect(shadow.count == 1)
            #expect(shadow.first?.metadata[LogKey.rule].map { "\($0)" }?.hasPrefix("gate-policy.yaml:") == true)
            #expect(harness.gate.audit.snapshot.refusals["subscribe role_not_allowed (shadow)"] == 1)
        }
    }

    @Test("subscribe: the subscribe limit refuses a message whole")
    func subscribeLimit() async throws {
        try await GateHarness.with { harness in
            let subject = harness.gate.subject(for: .sales("555"))
            let first = await harness.gate.subscribe(subject, topics: ["activity.*"], held: 0, maximum: 10, connectionID: "c", company: "555")
            #expect(first.accepted.count == 1)
            let second = await harness.gate.subscribe(
                subject,
                topics: ["activity.*", "deal.stage.*"],
                held: 1,
                maximum: 10,
                connectionID: "c",
                company: "555"
            )
            #expect(second.accepted.isEmpty && second.rateLimited != nil)
        }
    }

    @Test("publish: parsed, decided, enriched with GDPR and region, appended and handed to the bus")
    func publish() async throws {
        try await GateHarness.with { harness in
            let gate = harness.gate
            let published = await gate.publish(.service, body: body(["contact_id": .string("c-7"), "contact_email": .string("a@b.c")]))
            guard case .success(let accepted) = published else {
                Issue.record("\(published)")
                return
            }
            #expect(!accepted.duplicate)
            let page = try await gate.read(after: 0, company: "123", for: gate.subject(for: .sales()), limit: 10) { _ in true }
            #expect(page.events.count == 1 && String(page.events[0].position) == accepted.cursor)
            let envelope = try #require(page.events.first?.envelope)
            #expect(envelope.contains(#""purpose":"sales_pipeline""#) && envelope.contains(#""data_subject_id":"c-7""#))
            #expect(envelope.contains(#""region":"us-east-1""#) && envelope.contains(#""retention_days":30"#))
            // The sales reader has no pii_reader role: the e-mail is redacted on the way out.
            #expect(envelope.contains(#""contact_email":"[redacted]""#) && !envelope.contains("a@b.c"))
            #expect(harness.delivered.withLock { $0.map(\.eventID) } == [accepted.eventID])
        }
    }

    @Test("publish: each kind of refusal has its code, and policy refusals are audited")
    func publishRefusals() async throws {
        try await GateHarness.with { harness in
            let gate = harness.gate
            func code(_ principal: Principal, _ value: JSONValue) async -> ErrorCode? {
                if case .failure(let refusal) = await gate.publish(principal, body: value) { return refusal.code }
                return nil
            }
            #expect(await code(.service, .object(["event_type": .string("deal.stage.updated")])) == .invalidMessage)
            #expect(await code(.service, body("nope.never")) == .topicNotWhitelisted)
            #expect(await code(.sales(), body()) == .roleNotAllowed)
            #expect(await code(.service, body(company: "789")) == .companyDisabled)
            #expect(await code(.service, body(company: "555")) == nil)
            #expect(await code(.service, body(company: "555")) == .rateLimited)
            _ = try await gate.forget(dataSubjectID: "c-9", company: "123")
            #expect(await code(.service, body(["contact_id": .string("c-9")])) == .subjectForgotten)
            let refusals = gate.audit.snapshot.refusals
            #expect(refusals["publish topic_not_whitelisted"] == 1 && refusals["publish subject_forgotten"] == 1)
        }
    }

    @Test("poll: company checks and the poll limit")
    func poll() async throws {
        try await GateHarness.with { harness in
            let gate = harness.gate
            guard case .success(let permit) = await gate.poll(.sales(), topics: ["deal.stage.*"], companyID: nil) else {
                Issue.record("poll refused")
                return
            }
            #expect(permit.company == "123" && permit.patterns.count == 1)
            guard case .failure(let mismatch) = await gate.poll(.sales(), topics: ["deal.stage.*"], companyID: "999") else { return }
            #expect(mismatch.code == .companyMismatch)
            let admin = Principal(userID: "op", companyID: nil, roles: ["admin"])
            guard case .failure(let noCompany) = await gate.poll(admin, topics: ["deal.stage.*"], companyID: nil) else { return }
            #expect(noCompany.code != .rateLimited)
            guard case .success = await gate.poll(.sales("555"), topics: ["activity.*"], companyID: nil) else { return }
            guard case .failure(let limited) = await gate.poll(.sales("555"), topics: ["activity.*"], companyID: nil) else {
                Issue.record("second poll of 555 was not limited")
                return
            }
            #expect(limited.code == .rateLimited && limited.rateLimit != nil)
        }
    }

    @Test("deliver: refused subscribers are audited, others get their redaction; erased subjects reach nobody")
    func deliver() async throws {
        try await GateHarness.with { harness in
            let gate = harness.gate
            _ = await gate.publish(.service, body: body(["contact_id": .string("c-1"), "contact_email": .string("x@y.z")]))
            // The 202 does not wait for the fan-out: the event reaches the bus beside the next appends.
            try await waitUntil { harness.delivered.withLock { !$0.isEmpty } }
            let event = try #require(harness.delivered.withLock { $0.first })
            var round = try #require(gate.deliveries(of: event))
            let reader = Principal(userID: "r", companyID: "123", roles: ["sales", "pii_reader"])
            let plainMask = round.admit(gate.subject(for: .sales()), connectionID: "a")
            let fullMask = round.admit(gate.subject(for: reader), connectionID: "b")
            let plain = try #require(plainMask)
            let full = try #require(fullMask)
            #expect(plain != full && full == 0)
            let unredacted = round.envelope(redacting: full)
            let redacted = round.envelope(redacting: plain)
            #expect(unredacted?.contains("x@y.z") == true && redacted?.contains("x@y.z") == false)
            let otherCompany = round.admit(gate.subject(for: .sales("999")), connectionID: "c")
            #expect(otherCompany == nil)
            round.finish()
            #expect(gate.audit.snapshot.refusals["deliver company_mismatch"] == 1)
            _ = try await gate.forget(dataSubjectID: "c-1", company: "123")
            #expect(gate.deliveries(of: event) == nil)
        }
    }

    @Test("erasure: a forgotten subject is refused wherever the event names it; a repeated forget stores no second notice")
    func erasureEverySubject() async throws {
        try await GateHarness.with { harness in
            let gate = harness.gate
            _ = try await gate.forget(dataSubjectID: "c-del", company: "123")
            var masked = body(["contact_id": .string("c-del")])
            if case .object(var fields) = masked {
                fields["gdpr_context"] = .object(["data_subject_id": .string("someone-else")])
                masked = .object(fields)
            }
            let results = await gate.publishBatch(.service, events: [masked, body(["contact_id": .string("c-del")])])
            #expect(results.map { $0.failureCode } == [.subjectForgotten, .subjectForgotten])
            try await waitUntil { harness.delivered.withLock { $0.contains(where: PolicyGate.isNotice) } }
            let notices = harness.delivered.withLock { $0.filter(PolicyGate.isNotice).count }
            let again = try await gate.forget(dataSubjectID: "c-del", company: "123")
            #expect(again.alreadyForgotten)
            _ = await gate.publish(.service, body: body())
            try await waitUntil { harness.delivered.withLock { $0.contains { !PolicyGate.isNotice($0) } } }
            #expect(harness.delivered.withLock { $0.filter(PolicyGate.isNotice).count } == notices)
        }
    }

    @Test("deliver limits: a store that can only answer by waiting is awaited, never skipped")
    func deliverLimitsOnAWaitingStore() async throws {
        let store = WaitingRateLimitStore()
        try await GateHarness.with(limits: store) { harness in
            let subject = harness.gate.subject(for: .sales("555"))
            #expect(await harness.gate.acquireDeliverLimits(subject) == nil)
            #expect(await harness.gate.acquireDeliverLimits(subject)?.allowed == false)
            #expect(store.waited.load(ordering: .relaxed) == 2)
        }
    }

    @Test("read: erasure notices pass every filter; other events only when they match and may be seen")
    func read() async throws {
        try await GateHarness.with { harness in
            let gate = harness.gate
            _ = await gate.publish(.service, body: body("activity.call.logged"))
            _ = await gate.publish(.service, body: body())
            _ = try await gate.forget(dataSubjectID: "nobody", company: "123")
            let page = try await gate.read(after: 0, company: "123", for: gate.subject(for: .sales()), limit: 10) { $0.hasPrefix("activity.") }
            #expect(page.events.count == 2 && page.exhausted)
            #expect(page.events[1].envelope.contains(PolicyGate.forgottenEventType))
            #expect(page.events[1].resumeBefore > page.events[0].position)
            #expect(page.lastExamined == page.events[1].position)
        }
    }

    @Test("audit: allowed decisions are logged only with POLICY_AUDIT_ALLOWED, with the deciding rule")
    func auditAllowed() async throws {
        try await GateHarness.with(auditAllowed: true) { harness in
            _ = await harness.gate.publish(.service, body: body())
            let line = try #require(harness.decisionLines.first { $0.metadata[LogKey.action] == "publish" })
            #expect(line.metadata[LogKey.result] == "allow")
            #expect(line.metadata[LogKey.rule].map { "\($0)" }?.hasPrefix("gate-policy.yaml:") == true)
            #expect(line.metadata[LogKey.policyVersion] == "\(harness.gate.active.version)")
        }
        try await GateHarness.with { harness in
            _ = await harness.gate.publish(.service, body: body())
            #expect(harness.decisionLines.isEmpty)
        }
    }
}

extension Result where Failure == GateRefusal {
    /// The refusal's code; `nil` when accepted.
    var failureCode: ErrorCode? { if case .failure(let refusal) = self { refusal.code } else { nil } }
}

/// Waits (polling every 10 ms, at most 30 s) until `condition` holds.
func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw CancellationError() }
        try await Task.sleep(for: .milliseconds(10))
    }
}
