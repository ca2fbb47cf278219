import Testing

@testable import GatewaySession

/// The byte semaphore replays and polls reserve from.
@Suite("Memory budget")
struct MemoryBudgetTests {
    @Test("reservations add up to the limit, no further; released bytes come back once")
    func reservesUpToTheLimit() throws {
        let budget = MemoryBudget(limitBytes: 1000)
        let first = try #require(budget.reserveWithoutWaiting(600))
        #expect(budget.reserveWithoutWaiting(500) == nil)
        let second = try #require(budget.reserveWithoutWaiting(400))
        #expect(budget.usedBytes == 1000)
        #expect(!budget.grow(second, by: 1))
        first.release()
        first.release()
        #expect(budget.usedBytes == 400)
        #expect(budget.grow(second, by: 100))
        #expect(second.heldBytes == 500)
        second.release()
        #expect(budget.usedBytes == 0)
    }

    @Test("a request larger than the whole budget takes the whole budget rather than never fitting")
    func oversizedRequestIsClamped() throws {
        let budget = MemoryBudget(limitBytes: 1000)
        let whole = try #require(budget.reserveWithoutWaiting(5000))
        #expect(whole.heldBytes == 1000)
    }

    @Test("a waiting reservation gets the bytes another gives back; one that waits too long is refused")
    func waitsThenGetsOrIsRefused() async throws {
        let budget = MemoryBudget(limitBytes: 1000)
        let holder = try #require(budget.reserveWithoutWaiting(1000))
        #expect(await budget.reserve(10, waitingAtMost: .milliseconds(50)) == nil)
        async let waiting = budget.reserve(300, waitingAtMost: .seconds(60))
        holder.release()
        let granted = await waiting
        #expect(granted?.heldBytes == 300)
        #expect(budget.usedBytes == 300)
    }

    @Test("a reservation that is dropped without release gives its bytes back")
    func droppedReservationReleases() {
        let budget = MemoryBudget(limitBytes: 1000)
        do { _ = budget.reserveWithoutWaiting(700) }
        #expect(budget.usedBytes == 0)
    }
}
