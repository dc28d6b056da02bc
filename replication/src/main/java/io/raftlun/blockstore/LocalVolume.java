package io.raftlun.blockstore;

import io.netty.buffer.ByteBuf;
import io.raftlun.volume.BlockVolume;
import io.raftlun.volume.Extent;
import io.raftlun.volume.LbaStatus;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.ReservationOutcome;
import io.raftlun.volume.reservation.ReservationOutcome.UnitAttention;
import io.raftlun.volume.reservation.Reservations;
import io.raftlun.volume.reservation.UnitAttentionListeners;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A volume kept on this node only: the block store, driven from a small I/O thread pool. Writes
 * land in the operating system's page cache and the block map's log, so the write cache is real
 * (WCE=1) and SYNCHRONIZE CACHE or FUA fsyncs both. Persistent reservations are stored in the block
 * map; without APTPL they do not outlive a restart (SPC-4 5.12.5).
 *
 * <p>Reads and writes that {@link BlockStore#runsInline run inline} do so on the calling thread
 * (the connection's event loop): handing them to the pool and the answer back would cost two
 * thread wake-ups, more than the I/O itself (25 µs of a 60 µs 4 KiB read measured through QEMU's
 * initiator). Everything else goes to the pool, so a read that waits for a disk never holds up the
 * connections sharing the loop.
 */
final class LocalVolume implements BlockVolume {

    private final BlockStore store;
    private final Executor io;
    private final NodeStorage storage;
    private final Reservations reservations;
    private final UnitAttentionListeners attentionListeners = new UnitAttentionListeners();

    LocalVolume(BlockStore store, Executor io, NodeStorage storage) {
        this.store = store;
        this.io = io;
        this.storage = storage;
        Reservations saved = Reservations.decode(storage.reservations(store.record()));
        this.reservations = saved.view().aptpl() ? saved : new Reservations();
    }

    @Override
    public String name() {
        return store.name();
    }

    @Override
    public int blockSize() {
        return store.blockSize();
    }

    @Override
    public long blockCount() {
        return store.blockCount();
    }

    @Override
    public CompletableFuture<ByteBuf> read(long lba, int blocks) {
        return call(store.runsInline(lba, blocks), () -> store.read(lba, blocks));
    }

    @Override
    public CompletableFuture<Void> write(long lba, ByteBuf data, boolean fua) {
        return run(!fua && store.runsInline(lba, data.readableBytes() / blockSize()), () -> {
            try {
                store.write(0, lba, data);
            } finally {
                data.release();
            }
            if (fua) {
                store.sync();
            }
        }, data);
    }

    @Override
    public CompletableFuture<Void> writeSame(long lba, long blocks, ByteBuf pattern, boolean unmap) {
        return run(false, () -> {
            try {
                boolean zeros = pattern.forEachByte(b -> b == 0) == -1;
                store.writeSame(0, lba, blocks, pattern, unmap && zeros);
            } finally {
                pattern.release();
            }
        }, pattern);
    }

    @Override
    public CompletableFuture<Void> unmap(List<Extent> extents) {
        return run(false, () -> store.unmap(0, extents), null);
    }

    @Override
    public CompletableFuture<Long> compareAndWrite(long lba, ByteBuf compare, ByteBuf write, boolean fua) {
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    long offset = store.compareAndWrite(0, lba, compare, write);
                    if (offset < 0 && fua) {
                        store.sync();
                    }
                    return offset;
                } finally {
                    compare.release();
                    write.release();
                }
            }, io);
        } catch (RuntimeException e) { // the pool is shut down: the buffers are still ours to release
            compare.release();
            write.release();
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<Void> flush() {
        return store.syncAsync(io);
    }

    @Override
    public CompletableFuture<List<LbaStatus>> lbaStatus(long lba, int maxExtents) {
        return CompletableFuture.supplyAsync(() -> store.lbaStatus(lba, maxExtents), io);
    }

    @Override
    public boolean writeCacheEnabled() {
        return true;
    }

    @Override
    public CompletableFuture<ReservationOutcome> reserve(ReservationCommand command) {
        return CompletableFuture.supplyAsync(() -> {
            ReservationOutcome outcome;
            synchronized (reservations) {
                byte[] before = reservations.encode();
                outcome = reservations.apply(command);
                byte[] after = reservations.encode();
                if (!java.util.Arrays.equals(before, after)) {
                    storage.saveReservations(store.record(), after);
                }
            }
            return attentionListeners.tell(outcome);
        }, io);
    }

    @Override
    public AutoCloseable onUnitAttentions(Consumer<List<UnitAttention>> listener) {
        return attentionListeners.add(listener);
    }

    @Override
    public Reservations reservations() {
        return reservations;
    }

    @Override
    public void close() {
        // The store belongs to the node's storage, which syncs and closes it on shutdown.
    }

    private CompletableFuture<Void> run(boolean inline, Runnable action, ByteBuf owned) {
        return call(inline, () -> {
            action.run();
            return null;
        }, owned);
    }

    private <T> CompletableFuture<T> call(boolean inline, Supplier<T> action) {
        return call(inline, action, null);
    }

    /** Runs {@code action} here or on the pool; {@code owned} is released if the pool refuses it. */
    private <T> CompletableFuture<T> call(boolean inline, Supplier<T> action, ByteBuf owned) {
        if (inline) {
            try {
                return CompletableFuture.completedFuture(action.get());
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        try {
            return CompletableFuture.supplyAsync(action, io);
        } catch (RuntimeException e) { // the pool is shut down
            if (owned != null && owned.refCnt() > 0) {
                owned.release();
            }
            return CompletableFuture.failedFuture(e);
        }
    }
}
