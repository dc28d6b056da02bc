package io.raftlun.replication;

import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Read barriers shared by the reads that wait for them at the same time. A read needs a barrier
 * that started after the read arrived (then it sees every write acknowledged before it), not one
 * of its own: while one barrier runs, the reads arriving meanwhile all wait for the next one,
 * which starts when the running one ends. Under a queue depth of 32 that is one barrier per
 * round instead of 32; a lone read still gets a barrier at once.
 */
final class SharedBarrier<T> {

    private final Supplier<CompletableFuture<T>> start;
    private boolean running;
    private CompletableFuture<T> next; // not started yet: what reads arriving now wait for

    SharedBarrier(Supplier<CompletableFuture<T>> start) {
        this.start = start;
    }

    /** Completes as a barrier that started after this call completes. */
    CompletableFuture<T> await() {
        CompletableFuture<T> waiting;
        synchronized (this) {
            if (next == null) {
                next = new CompletableFuture<>();
            }
            waiting = next;
            if (running) {
                return waiting;
            }
            running = true;
            next = null;
        }
        run(waiting);
        return waiting;
    }

    private void run(CompletableFuture<T> barrier) {
        CompletableFuture<T> started;
        try {
            started = start.get();
        } catch (RuntimeException e) {
            started = CompletableFuture.failedFuture(e);
        }
        started.whenComplete((value, failure) -> {
            CompletableFuture<T> following;
            synchronized (this) {
                following = next;
                next = null;
                running = following != null;
            }
            if (failure != null) {
                barrier.completeExceptionally(failure);
            } else {
                barrier.complete(value);
            }
            if (following != null) {
                run(following);
            }
        });
    }
}
