import Foundation

/// A FIFO handed between pipeline threads. `take` waits for an item and returns
/// nil once the queue is closed and drained, which is how threads learn to stop.
///
/// With a `limit`, `put` also waits while the items queued cost more than it
/// (an item costlier than the limit still goes into an empty queue), so a
/// producer that runs ahead holds bounded memory.
final class BlockingQueue<T>: @unchecked Sendable {
    private let condition = NSCondition()
    /// Taken items are cleared at once: the array is compacted only now and
    /// then, and until then it held every taken item alive (64 batches of a
    /// MiB of chunks each, 100+ MB of a build's peak RSS).
    private var items: [(item: T?, cost: Int)] = []
    private var head = 0
    private var closed = false
    private let limit: Int
    private var queuedCost = 0

    init(limit: Int = .max) {
        self.limit = limit
    }

    /// Queues `item`; false (and nothing queued) once the queue is closed.
    @discardableResult
    func put(_ item: T, cost: Int = 0) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !closed && head < items.count && queuedCost + cost > limit { condition.wait() }
        guard !closed else { return false }
        items.append((item, cost))
        queuedCost += cost
        condition.broadcast()
        return true
    }

    func take() -> T? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !closed { condition.wait() }
        guard head < items.count else { return nil }
        let (item, cost) = items[head]
        items[head].item = nil
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        if cost > 0 {
            queuedCost -= cost
            condition.broadcast()
        }
        return item!
    }

    /// Ends the queue: `take` drains what is queued, then returns nil; `put` refuses.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
