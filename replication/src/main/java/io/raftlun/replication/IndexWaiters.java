package io.raftlun.replication;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * Futures that complete once a replica has applied a log index. The applier moves its index
 * first and then calls {@link #reached}; a waiter that arrives meanwhile may land in a list
 * {@link #reached} has already taken, so it checks the index again itself once it is listed.
 */
final class IndexWaiters {

    private final ConcurrentSkipListMap<Long, List<CompletableFuture<Void>>> waiting = new ConcurrentSkipListMap<>();
    private final LongSupplier applied;

    /** @param applied the index applied so far (moved before each {@link #reached} call) */
    IndexWaiters(LongSupplier applied) {
        this.applied = applied;
    }

    /** Completes once {@code index} is applied. */
    CompletableFuture<Void> await(long index) {
        if (applied.getAsLong() >= index) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> waiter = new CompletableFuture<>();
        waiting.computeIfAbsent(index, i -> new CopyOnWriteArrayList<>()).add(waiter);
        if (applied.getAsLong() >= index) { // applied meanwhile: its list may be gone already
            waiter.complete(null);
        }
        return waiter;
    }

    /** Completes the waiters of every index up to {@code upTo}. */
    void reached(long upTo) {
        while (true) {
            var first = waiting.firstEntry();
            if (first == null || first.getKey() > upTo) {
                return;
            }
            if (waiting.remove(first.getKey(), first.getValue())) {
                first.getValue().forEach(waiter -> waiter.complete(null));
            }
        }
    }
}
