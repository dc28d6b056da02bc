package io.raftlun.volume;

import io.netty.buffer.ByteBuf;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.ReservationOutcome;
import io.raftlun.volume.reservation.ReservationOutcome.UnitAttention;
import io.raftlun.volume.reservation.Reservations;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A block volume as the SCSI layer sees it: asynchronous from the start, because the volume
 * behind it may be local or replicated through a Raft log on other nodes.
 *
 * <p>Buffer ownership: every {@link ByteBuf} passed in is owned by the volume from the call on
 * (it releases it, also on failure); every {@link ByteBuf} a future completes with is owned by
 * the caller. Futures never complete on the caller's thread while it holds a lock of the volume,
 * and they may complete on any thread: callers that must answer on an event loop hop there.
 *
 * <p>Durability ({@link #writeCacheEnabled()}): a completed write is visible to every later read
 * on any node; it is on stable storage only after a completed {@link #flush()}, or at once when
 * written with {@code fua}.
 */
public interface BlockVolume extends AutoCloseable {

    /** The volume's cluster-wide name (also the source of its SCSI identity). */
    String name();

    /** Logical block size in bytes (512 or 4096). */
    int blockSize();

    /** Capacity in logical blocks. */
    long blockCount();

    /** Reads {@code blocks} blocks at {@code lba}; unwritten and unmapped blocks read as zeros. */
    CompletableFuture<ByteBuf> read(long lba, int blocks);

    /** Writes {@code data} (a whole number of blocks) at {@code lba}. */
    CompletableFuture<Void> write(long lba, ByteBuf data, boolean fua);

    /**
     * Writes one block of {@code pattern} to every block of the range; with {@code unmap} and an
     * all-zero pattern the range is deallocated instead (SBC-4 5.50).
     */
    CompletableFuture<Void> writeSame(long lba, long blocks, ByteBuf pattern, boolean unmap);

    /** Deallocates the extents; they read as zeros afterwards. */
    CompletableFuture<Void> unmap(List<Extent> extents);

    /**
     * Atomically compares the blocks at {@code lba} with {@code compare} and, only if equal, writes
     * {@code write} (same length). Completes with -1 on success, or the byte offset of the first
     * difference (SBC-4 5.3: MISCOMPARE, INFORMATION = offset).
     */
    CompletableFuture<Long> compareAndWrite(long lba, ByteBuf compare, ByteBuf write, boolean fua);

    /**
     * As {@link #write(long, ByteBuf, boolean)}, for a command that came through a portal another
     * node may take over: {@code fencingToken} is the Raft term in which this node took it (the
     * cluster's floating portal), 0 for a portal no other node takes over. Once the volume has
     * applied a change with a higher token, a change with a lower one fails with
     * {@link VolumeException.Kind#FENCED} and changes nothing: the initiator has moved to the
     * portal's new holder, and what it sent the old one (resent there after a partition healed,
     * say) must not overwrite what it wrote since. A volume no other node serves ignores the token.
     */
    default CompletableFuture<Void> write(long lba, ByteBuf data, boolean fua, long fencingToken) {
        return write(lba, data, fua);
    }

    /** As {@link #writeSame(long, long, ByteBuf, boolean)}, fenced as {@link #write(long, ByteBuf, boolean, long)}. */
    default CompletableFuture<Void> writeSame(long lba, long blocks, ByteBuf pattern, boolean unmap,
                                              long fencingToken) {
        return writeSame(lba, blocks, pattern, unmap);
    }

    /** As {@link #unmap(List)}, fenced as {@link #write(long, ByteBuf, boolean, long)}. */
    default CompletableFuture<Void> unmap(List<Extent> extents, long fencingToken) {
        return unmap(extents);
    }

    /**
     * As {@link #compareAndWrite(long, ByteBuf, ByteBuf, boolean)}, fenced as
     * {@link #write(long, ByteBuf, boolean, long)}.
     */
    default CompletableFuture<Long> compareAndWrite(long lba, ByteBuf compare, ByteBuf write, boolean fua,
                                                    long fencingToken) {
        return compareAndWrite(lba, compare, write, fua);
    }

    /** Makes every completed write durable (SYNCHRONIZE CACHE). */
    CompletableFuture<Void> flush();

    /**
     * Provisioning status from {@code lba} on, as consecutive extents of the same state, at most
     * {@code maxExtents} of them (GET LBA STATUS, SBC-4 5.7).
     */
    CompletableFuture<List<LbaStatus>> lbaStatus(long lba, int maxExtents);

    /** True while completed writes may still be in a volatile cache (the honest WCE bit). */
    boolean writeCacheEnabled();

    /** Applies a persistent reservation change in the volume's order of commands. */
    CompletableFuture<ReservationOutcome> reserve(ReservationCommand command);

    /** The current reservation state, for conflict checks and PERSISTENT RESERVE IN. */
    Reservations reservations();

    /**
     * Runs {@code listener} with the unit attentions each reservation change establishes (such as
     * REGISTRATIONS PREEMPTED), on every node serving the volume, whichever node the change came
     * through, before the change completes. Returns what unregisters it.
     */
    AutoCloseable onUnitAttentions(Consumer<List<UnitAttention>> listener);

    /**
     * A logical unit reset through this node: RESERVE(6) is released (SPC-2 5.5.1), and the other
     * nodes serving the volume are told so their sessions see its unit attention too. Completes
     * once they have it, or once the wait for an unreachable node ends. A volume no other node
     * serves has no one to tell.
     */
    default CompletableFuture<Void> reset() {
        reservations().logicalUnitReset();
        return CompletableFuture.completedFuture(null);
    }

    /** Runs {@code listener} for every logical unit reset another node announced. Returns what unregisters it. */
    default AutoCloseable onResetElsewhere(Runnable listener) {
        return () -> { };
    }

    /**
     * The node that orders this volume's writes (its Raft leader) as this node last heard, or null
     * when none is known or the volume has no other node. ALUA reports that node's port group as
     * the optimized path.
     */
    default String leaderNode() {
        return null;
    }

    /** Runs {@code listener} each time this node learns of a new leader. Returns what unregisters it. */
    default AutoCloseable onLeaderChange(Runnable listener) {
        return () -> { };
    }

    @Override
    void close();
}
