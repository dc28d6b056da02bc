package io.raftlun.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class SharedBarrierTest {

    final List<CompletableFuture<Integer>> started = new ArrayList<>();
    final SharedBarrier<Integer> barriers = new SharedBarrier<>(() -> {
        CompletableFuture<Integer> barrier = new CompletableFuture<>();
        started.add(barrier);
        return barrier;
    });

    @Test
    void aLoneReadStartsItsBarrierAtOnce() {
        CompletableFuture<Integer> read = barriers.await();
        assertEquals(1, started.size());
        started.get(0).complete(7);
        assertEquals(7, read.join());
    }

    /** A barrier already running may predate the reads arriving now: they wait for the next one. */
    @Test
    void readsArrivingDuringABarrierShareTheNextOne() {
        CompletableFuture<Integer> first = barriers.await();
        CompletableFuture<Integer> second = barriers.await();
        CompletableFuture<Integer> third = barriers.await();
        assertEquals(1, started.size(), "the next barrier waits for the running one");
        assertSame(second, third);
        started.get(0).complete(1);
        assertEquals(1, first.join());
        assertFalse(second.isDone(), "the running barrier may have started before they arrived");
        assertEquals(2, started.size(), "the next one starts when the running one ends");
        started.get(1).complete(2);
        assertEquals(2, second.join());
        barriers.await();
        assertEquals(3, started.size(), "idle again: a new read starts a barrier at once");
    }

    @Test
    void aFailedBarrierFailsItsReadsAndTheNextStillRuns() {
        CompletableFuture<Integer> first = barriers.await();
        CompletableFuture<Integer> second = barriers.await();
        started.get(0).completeExceptionally(new IllegalStateException("no leader"));
        assertThrows(CompletionException.class, first::join);
        assertEquals(2, started.size());
        started.get(1).complete(5);
        assertEquals(5, second.join());
        assertTrue(started.stream().allMatch(CompletableFuture::isDone));
    }
}
