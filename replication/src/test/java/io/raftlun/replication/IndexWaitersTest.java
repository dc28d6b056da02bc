package io.raftlun.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class IndexWaitersTest {

    @Test
    void aWaiterCompletesWhenItsIndexIsReachedAndNotBefore() {
        AtomicLong applied = new AtomicLong(3);
        IndexWaiters waiters = new IndexWaiters(applied::get);
        assertTrue(waiters.await(3).isDone(), "an index already applied");
        CompletableFuture<Void> five = waiters.await(5);
        applied.set(4);
        waiters.reached(4);
        assertTrue(!five.isDone(), "index 4 is not index 5");
        applied.set(6);
        waiters.reached(6);
        assertTrue(five.isDone());
    }

    /**
     * A waiter arriving while the applier completes its index: the applier has moved the index
     * and taken the index's list, and the waiter joins that list just after. It must complete all
     * the same (it did not: reservation changes through a follower hung in iscsi-test-cu).
     */
    @Test
    void noWaiterArrivingAsItsIndexIsAppliedIsLost() throws Exception {
        int indexes = 200_000;
        AtomicLong applied = new AtomicLong();
        IndexWaiters waiters = new IndexWaiters(applied::get);
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        Thread waiting = new Thread(() -> {
            // the next index, read once: read again, it could be past the last one applied
            for (long next = applied.get() + 1; next <= indexes; next = applied.get() + 1) {
                futures.add(waiters.await(next));
            }
        });
        waiting.start();
        for (long i = 1; i <= indexes; i++) {
            applied.set(i);
            waiters.reached(i);
        }
        waiting.join();
        long lost = futures.stream().filter(f -> !f.isDone()).count();
        assertEquals(0, lost, "waiters never completed, of " + futures.size());
    }
}
