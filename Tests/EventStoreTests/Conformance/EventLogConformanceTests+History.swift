import EventBus
import GatewayModel
import Testing

/// History a log no longer has: retention, erasure and a log of another epoch.
extension EventLogConformanceTests {
    static let day: Int64 = 86_400_000

    @Test("retention removes events past their own expiry; a cursor from before the removal is expired, per company", arguments: Backends.logs)
    func retention(_ factory: LogFactory) async throws {
        try await Self.withLog(factory) { _, log, _ in
            let t = Self.start
            let short = try #require(try await log.append([Events.new(1, company: "1", retentionDays: 1, createdAtMillis: t)]).first?.appended)
            let kept = try #require(try await log.append([Events.new(2, company: "1", createdAtMillis: t)]).first?.appended)
            let other = try #require(try await log.append([Events.new(3, company: "2", createdAtMillis: t)]).first?.appended)
            #expect(try await log.purgeExpired(nowMillis: t + Self.day - 1, limit: 10) == 0)
            #expect(try await log.purgeExpired(nowMillis: t + 2 * Self.day, limit: 10) == 1)
            #expect(try await log.resolve(cursor: "0", company: "1") == .expired)
            #expect(try await log.resolve(cursor: short.eventID, company: "1") == .expired)
            #expect(try await log.resolve(cursor: short.cursor, company: "1") == .after(short.position))
            #expect(try await log.resolve(cursor: kept.cursor, company: "1") == .after(kept.position))
            #expect(try await log.resolve(cursor: "0", company: "2") == .after(0), "another company's removal expires nothing here")
            let page = try await log.read(after: 0, company: nil, limit: 10)
            #expect(page.events.map(\.eventID) == [kept.eventID, other.eventID])
            // Oldest expiry first, at most `limit` per write.
            _ = try await log.append((10..<15).map { Events.new($0, company: "3", retentionDays: 1, createdAtMillis: t + Int64($0)) })
            #expect(try await log.purgeExpired(nowMillis: t + 3 * Self.day, limit: 2) == 2)
            #expect(try await log.read(after: 0, company: "3", limit: 10).events.map(\.eventID) == (12..<15).map { Events.new($0).event.eventID })
        }
    }

    @Test("forget: one write removes the subject's events and refuses them afterwards, in the same append too", arguments: Backends.logs)
    func forget(_ factory: LogFactory) async throws {
        try await Self.withLog(factory) { _, log, clock in
            _ = try await log.append([
                Events.new(1, company: "1", subject: "s"), Events.new(2, company: "2", subject: "s"), Events.new(3, company: "1"),
            ])
            let first = try await log.forget(dataSubjectID: "s", company: "1", atMillis: clock.now)
            #expect(first == ForgetOutcome(purged: 1, companies: ["1"], alreadyForgotten: false))
            #expect(try await log.forget(dataSubjectID: "s", company: "1", atMillis: clock.now).alreadyForgotten)
            let batch = try await log.append([
                Events.new(4, company: "1", subject: "s"), Events.new(5, company: "1"), Events.new(6, company: "2", subject: "s"),
            ])
            #expect(batch[0] == .subjectForgotten)
            #expect(batch[1].appended != nil && batch[2].appended != nil, "forgotten in company 1 only")
            let everywhere = try await log.forget(dataSubjectID: "s", company: nil, atMillis: clock.now)
            #expect(everywhere.purged == 2 && everywhere.companies == ["2"] && !everywhere.alreadyForgotten)
            #expect(try await log.append([Events.new(7, company: "3", subject: "s")])[0] == .subjectForgotten)
            #expect(
                Set(try await log.forgottenSubjects()) == [
                    ForgottenSubject(dataSubjectID: "s", company: "1"), ForgottenSubject(dataSubjectID: "s", company: nil),
                ]
            )
            #expect(try await log.read(after: 0, company: nil, limit: 10).events.allSatisfy { $0.dataSubjectID != "s" })
        }
    }

    @Test("epoch: a wiped and recreated log answers an old cursor with expired; \"0\" and its own cursors still work", arguments: Backends.logs)
    func epoch(_ factory: LogFactory) async throws {
        try await Self.withLog(factory) { fixture, log, clock in
            let emptyHead = try await log.head()
            #expect(try await log.resolve(cursor: String(emptyHead), company: "1") == .after(emptyHead), "the head of an empty log is a cursor")
            let old = try await log.append((1...3).map { Events.new($0, company: "1") }).compactMap(\.appended)
            let oldHead = try await log.head()
            #expect(try await log.resolve(cursor: String(oldHead + 1), company: "1") == .expired, "above the head")
            #expect(try await log.resolve(cursor: String(Int64.max), company: "1") == .expired)
            try await log.close()
            try await fixture.wipe()
            clock.advance(byMillis: 1)
            let recreated = try await fixture.open(dedupWindowSeconds: 86_400, now: clock)
            do {
                for event in old {
                    #expect(try await recreated.resolve(cursor: event.cursor, company: "1") == .expired, "\(event.cursor)")
                }
                #expect(try await recreated.resolve(cursor: "1", company: "1") == .expired)
                #expect(try await recreated.resolve(cursor: "0", company: "1") == .after(0))
                let fresh = try await recreated.append([Events.new(10, company: "1")]).compactMap(\.appended)
                #expect(fresh[0].position > oldHead, "a newer log's positions lie above every position of an older one")
                #expect(fresh[0].position < 1 << 53, "JavaScript clients may hold positions as numbers")
                #expect(try await recreated.resolve(cursor: fresh[0].cursor, company: "1") == .after(fresh[0].position))
                #expect(try await recreated.read(after: 0, company: "1", limit: 10).events.map(\.eventID) == [fresh[0].eventID])
            } catch {
                try? await recreated.close()
                throw error
            }
            try await recreated.close()
        }
    }
}
