package io.raftlun.replication;

import io.netty.buffer.ByteBuf;
import io.raftlun.blockstore.BlockStore.BlockWrite;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.ratis.protocol.Message;

/**
 * Gathers a volume's block writes into fewer log entries: a write goes out as an entry of its own
 * while few entries of writes are in flight; beyond that it waits, with the others that arrive
 * meanwhile, and they go out as one entry when an entry in flight completes. Each entry costs the
 * group the same work on every replica (a request, an append, a replication round trip, an apply,
 * a reply) whatever it carries, so at queue depth 1 nothing waits and at depth 32 the work is
 * shared by many writes.
 *
 * <p>Writes in flight together carry no order among themselves (the initiator has had no answer
 * for any of them); an entry applies its writes in arrival order at one index.
 */
final class WriteBatcher {

    /**
     * Entries of writes in flight before writes wait: two, so that one is formed and appended
     * while the other is replicated. One at a time made larger entries, but measured no faster.
     */
    static final int ENTRIES_IN_FLIGHT = 2;
    /** Data one batched entry carries at most; a write this large goes alone. */
    static final int BATCH_BYTES = 256 * 1024;

    /** A write waiting for the next entry; holds its data until the entry is encoded. */
    private record Waiting(BlockWrite write, CompletableFuture<Void> done) {
    }

    private final long fencingToken;
    private final Function<Message, CompletableFuture<?>> submit;
    private int inFlight;
    private List<Waiting> waiting = new ArrayList<>();
    private int waitingBytes;

    /** @param submit submits an entry to the group; completes once it is committed and applied */
    WriteBatcher(Function<Message, CompletableFuture<?>> submit) {
        this(0, submit);
    }

    /**
     * @param fencingToken the token the entries are {@link VolumeEntry#fenced} by (0: none)
     * @param submit       submits an entry to the group; completes once it is committed and applied
     *                     (and fails if its fence refused it)
     */
    WriteBatcher(long fencingToken, Function<Message, CompletableFuture<?>> submit) {
        this.fencingToken = fencingToken;
        this.submit = submit;
    }

    /** Writes whole blocks at {@code lba}; takes over {@code data} and releases it. */
    CompletableFuture<Void> write(long lba, ByteBuf data) {
        Waiting write = new Waiting(new BlockWrite(lba, data), new CompletableFuture<>());
        List<Waiting> entry;
        synchronized (this) {
            if (inFlight < ENTRIES_IN_FLIGHT || data.readableBytes() >= BATCH_BYTES) {
                entry = List.of(write);
            } else {
                waiting.add(write);
                waitingBytes += data.readableBytes();
                entry = waitingBytes >= BATCH_BYTES ? takeWaiting() : null;
            }
            if (entry != null) {
                inFlight++;
            }
        }
        if (entry != null) {
            send(entry);
        }
        return write.done();
    }

    /** Entries of writes submitted and not yet completed. */
    synchronized int inFlight() {
        return inFlight;
    }

    private List<Waiting> takeWaiting() {
        List<Waiting> taken = waiting;
        waiting = new ArrayList<>();
        waitingBytes = 0;
        return taken;
    }

    private void send(List<Waiting> writes) {
        CompletableFuture<?> committed;
        try {
            committed = submit.apply(writes.size() == 1
                    ? VolumeEntry.write(fencingToken, writes.get(0).write().lba(), writes.get(0).write().data())
                    : VolumeEntry.writes(fencingToken, writes.stream().map(Waiting::write).toList()));
        } catch (RuntimeException e) {
            committed = CompletableFuture.failedFuture(e);
        } finally {
            writes.forEach(w -> w.write().data().release());
        }
        committed.whenComplete((answer, failure) -> {
            // The waiting writes go out before these are answered: an answer may bring the next
            // write on this thread, which then waits for a later entry rather than overtaking them.
            List<Waiting> next = null;
            synchronized (this) {
                inFlight--;
                if (!waiting.isEmpty() && inFlight < ENTRIES_IN_FLIGHT) {
                    next = takeWaiting();
                    inFlight++;
                }
            }
            if (next != null) {
                send(next);
            }
            for (Waiting w : writes) {
                if (failure == null) {
                    w.done().complete(null);
                } else {
                    w.done().completeExceptionally(failure);
                }
            }
        });
    }
}
