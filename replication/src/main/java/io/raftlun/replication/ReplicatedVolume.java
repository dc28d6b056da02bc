package io.raftlun.replication;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.raftlun.blockstore.BlockStore;
import io.raftlun.consensus.RaftNode;
import io.raftlun.volume.BlockVolume;
import io.raftlun.volume.Extent;
import io.raftlun.volume.LbaStatus;
import io.raftlun.volume.VolumeException;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.ReservationOutcome;
import io.raftlun.volume.reservation.ReservationOutcome.UnitAttention;
import io.raftlun.volume.reservation.Reservations;
import io.raftlun.volume.reservation.UnitAttentionListeners;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A volume whose changes go through its Raft group, usable on any node. A write completes once its
 * entry is committed on a majority of the replicas (each of which fsynced it in its Raft log) and
 * applied by the leader, so every completed write is already on stable storage: the write cache is
 * off (WCE=0), SYNCHRONIZE CACHE has nothing left to do, FUA costs nothing extra.
 *
 * <p>Reads are linearizable. On a node holding a replica, a read first passes a read barrier (the
 * leader answers within its lease; a follower learns the leader's commit index and waits until it
 * has applied that far), then reads the local block store. A node without a replica asks the
 * leader for the data.
 */
public final class ReplicatedVolume implements BlockVolume {

    private static final Logger log = LoggerFactory.getLogger(ReplicatedVolume.class);
    /** How long a change every node depends on waits for each other replica to apply it. */
    static final Duration APPLY_EVERYWHERE_WAIT = Duration.ofSeconds(2);
    /**
     * How long a follower's read barrier waits for the leader's answer and to apply that far
     * before it tries Ratis's own: the Raft client would otherwise resend its question for
     * minutes to a leader that does not answer, and a follower may be cut off from its leader's
     * appends but not its answers.
     */
    static final Duration CATCH_UP_WAIT = Duration.ofSeconds(2);

    private final String name;
    private final int blockSize;
    private final LongSupplier blockCount;
    private final RaftNode raft;
    private final Supplier<RaftGroup> group;
    private final VolumeStateMachine replica; // null on a node without a replica
    private final Executor io;
    /** On a node without a replica, which applies no change: who hears of those made through it. */
    private final UnitAttentionListeners attentionListeners = new UnitAttentionListeners();
    /** Linearizable read barriers on the local replica, shared by concurrent reads. */
    private final SharedBarrier<Message> barriers;
    /** Block writes, gathered into fewer log entries while others are in flight. */
    private final WriteBatcher writes = new WriteBatcher(this::submitRepeatable);
    /**
     * Block writes through a fenced portal, by fencing token: its holder's writes are gathered
     * apart, their entries fenced by its token. A new holder's token is higher; the batchers of
     * lower ones are dropped then (their writes in flight still complete).
     */
    private final ConcurrentHashMap<Long, WriteBatcher> fencedWrites = new ConcurrentHashMap<>();

    /**
     * @param blockCount the volume's capacity as the cluster config says now: it grows on every
     *                   node as that node applies the config, after every replica applied the
     *                   growth to its block store (see {@link #grow})
     */
    public ReplicatedVolume(String name, int blockSize, LongSupplier blockCount, RaftNode raft,
                            Supplier<RaftGroup> group, VolumeStateMachine replica, Executor io) {
        this.name = name;
        this.blockSize = blockSize;
        this.blockCount = blockCount;
        this.raft = raft;
        this.group = group;
        this.replica = replica;
        this.io = io;
        this.barriers = new SharedBarrier<>(this::startBarrier);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public long blockCount() {
        return blockCount.getAsLong();
    }

    private boolean local() {
        return replica != null && replica.serving();
    }

    private void checkRange(long lba, long blocks) {
        VolumeException.requireInRange(name, blockCount(), lba, blocks);
    }

    // ---------------------------------------------------------------- reads

    @Override
    public CompletableFuture<ByteBuf> read(long lba, int blocks) {
        try {
            checkRange(lba, blocks);
        } catch (VolumeException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (local()) {
            BlockStore store = replica.store();
            CompletableFuture<Message> barrier = barrier();
            CompletableFuture<ByteBuf> read = store.runsInline(lba, blocks)
                    ? barrier.thenApply(ignored -> store.read(lba, blocks)) // on the thread ending the barrier
                    : barrier.thenApplyAsync(ignored -> store.read(lba, blocks), io);
            return read.exceptionallyCompose(failure -> repairThenRead(store, lba, blocks, failure));
        }
        return raft.readRemote(group.get(), VolumeEntry.query(VolumeEntry.READ, lba, blocks))
                .thenApply(answer -> Unpooled.wrappedBuffer(answer.getContent().asReadOnlyByteBuffer()))
                .exceptionallyCompose(this::unavailable);
    }

    @Override
    public CompletableFuture<List<LbaStatus>> lbaStatus(long lba, int maxExtents) {
        if (local()) {
            BlockStore store = replica.store();
            return barrier().thenApplyAsync(ignored -> store.lbaStatus(lba, maxExtents), io);
        }
        return raft.readRemote(group.get(), VolumeEntry.query(VolumeEntry.LBA_STATUS, lba, maxExtents))
                .thenApply(answer -> {
                    ByteBuffer in = answer.getContent().asReadOnlyByteBuffer();
                    int count = in.getInt();
                    List<LbaStatus> status = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        status.add(new LbaStatus(in.getLong(), in.getLong(), in.get() != 0));
                    }
                    return status;
                }).exceptionallyCompose(this::unavailable);
    }

    /**
     * A local read found blocks that do not match their CRC32C: read the range from the other
     * replicas in turn (a linearizable read there, which checks their own CRCs), rewrite the
     * blocks their copy heals (checked against this replica's block map) and answer with their
     * copy, which is as recent as a local read. No replica answers: the MEDIUM ERROR stands.
     */
    private CompletableFuture<ByteBuf> repairThenRead(BlockStore store, long lba, int blocks, Throwable failure) {
        Throwable cause = VolumeException.cause(failure);
        if (!(cause instanceof VolumeException e) || e.kind() != VolumeException.Kind.MEDIUM_ERROR) {
            return CompletableFuture.failedFuture(cause);
        }
        CompletableFuture<ByteBuf> result = CompletableFuture.failedFuture(cause);
        for (String other : raft.others(group.get())) {
            result = result.exceptionallyCompose(stillBad -> raft.readFrom(group.get(), other,
                            VolumeEntry.query(VolumeEntry.READ, lba, blocks))
                    .thenApplyAsync(answer -> {
                        ByteBuf healthy = Unpooled.wrappedBuffer(answer.getContent().asReadOnlyByteBuffer());
                        int repaired = store.repair(lba, blocks, healthy);
                        log.warn("volume {}: {} corrupt block(s) in {}+{} repaired from replica {}", name, repaired,
                                lba, blocks, other);
                        return healthy;
                    }, io)
                    .exceptionallyCompose(again -> CompletableFuture.failedFuture(cause)));
        }
        return result;
    }

    private CompletableFuture<Message> barrier() {
        return barriers.await().exceptionallyCompose(this::unavailable);
    }

    /**
     * One read barrier on this node's replica. The leader passes Ratis's own within its lease. A
     * follower asks the leader for the index of the last change it applied and waits until it has
     * applied that far itself, which the leader's notice of that commit lets it do within
     * milliseconds ({@code CommitNotices}). Ratis's own follower read waits for the leader's commit
     * index instead, which can be an entry of Ratis's own that follows the change (with log
     * metadata on, it mostly was, and Ratis 3.3 told the follower it was committed only with its
     * next heartbeat: one read in eight right after a write through a follower waited 250 ms).
     * Without an answer from the leader (none known, an older node, a failure, or this node follows
     * another leader meanwhile: the one asked was cut off), or not caught up within {@link
     * #CATCH_UP_WAIT} of asking, Ratis's own.
     */
    private CompletableFuture<Message> startBarrier() {
        RaftGroup current = group.get();
        Message query = VolumeEntry.query(VolumeEntry.BARRIER);
        Supplier<CompletableFuture<Message>> ratisOwn = () -> raft.readLocal(current.getGroupId(), query);
        if (raft.isLeader(current.getGroupId())) { // asked first: the leader's reads are the hot path
            return ratisOwn.get();
        }
        Optional<String> leader = raft.leader(current.getGroupId());
        if (leader.isEmpty()) {
            return ratisOwn.get();
        }
        return raft.readFromLeader(current, leader.get(), query)
                .thenCompose(answer -> answer.getContent().size() == Long.BYTES
                        ? replica.applied(VolumeEntry.offset(answer)).thenApply(applied -> answer)
                        : ratisOwn.get())
                .orTimeout(CATCH_UP_WAIT.toMillis(), TimeUnit.MILLISECONDS)
                .exceptionallyCompose(failure -> ratisOwn.get());
    }

    // ---------------------------------------------------------------- changes

    @Override
    public CompletableFuture<Void> write(long lba, ByteBuf data, boolean fua) {
        return write(lba, data, fua, 0);
    }

    @Override
    public CompletableFuture<Void> write(long lba, ByteBuf data, boolean fua, long fencingToken) {
        try {
            checkRange(lba, data.readableBytes() / blockSize);
        } catch (RuntimeException e) {
            data.release();
            return CompletableFuture.failedFuture(e);
        }
        return writesFencedBy(fencingToken).write(lba, data);
    }

    private WriteBatcher writesFencedBy(long token) {
        if (token == 0) {
            return writes;
        }
        WriteBatcher batcher = fencedWrites.get(token);
        if (batcher == null) {
            fencedWrites.keySet().removeIf(older -> older < token);
            // the batcher writes its entries fenced already, sparing the data a copy
            batcher = fencedWrites.computeIfAbsent(token, t -> new WriteBatcher(t,
                    entry -> submitRepeatable(entry).thenApply(answer -> unfenced(answer, t))));
        }
        return batcher;
    }

    @Override
    public CompletableFuture<Void> writeSame(long lba, long blocks, ByteBuf pattern, boolean unmap) {
        return writeSame(lba, blocks, pattern, unmap, 0);
    }

    @Override
    public CompletableFuture<Void> writeSame(long lba, long blocks, ByteBuf pattern, boolean unmap,
                                             long fencingToken) {
        Message entry;
        try {
            checkRange(lba, blocks);
            boolean zeros = pattern.forEachByte(b -> b == 0) == -1;
            entry = VolumeEntry.writeSame(lba, blocks, pattern, unmap && zeros);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        } finally {
            pattern.release();
        }
        return submitRepeatable(entry, fencingToken).thenApply(answer -> null);
    }

    @Override
    public CompletableFuture<Void> unmap(List<Extent> extents) {
        return unmap(extents, 0);
    }

    @Override
    public CompletableFuture<Void> unmap(List<Extent> extents, long fencingToken) {
        try {
            for (Extent extent : extents) {
                checkRange(extent.lba(), extent.blocks());
            }
        } catch (VolumeException e) {
            return CompletableFuture.failedFuture(e);
        }
        return submitRepeatable(VolumeEntry.unmap(extents), fencingToken).thenApply(answer -> null);
    }

    @Override
    public CompletableFuture<Long> compareAndWrite(long lba, ByteBuf compare, ByteBuf write, boolean fua) {
        return compareAndWrite(lba, compare, write, fua, 0);
    }

    @Override
    public CompletableFuture<Long> compareAndWrite(long lba, ByteBuf compare, ByteBuf write, boolean fua,
                                                   long fencingToken) {
        Message entry;
        try {
            checkRange(lba, compare.readableBytes() / blockSize);
            entry = VolumeEntry.compareAndWrite(lba, compare, write);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        } finally {
            compare.release();
            write.release();
        }
        return submit(entry, fencingToken).thenApply(VolumeEntry::offset);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return CompletableFuture.completedFuture(null); // every completed write is in a majority's fsynced log
    }

    @Override
    public boolean writeCacheEnabled() {
        return false;
    }

    @Override
    public CompletableFuture<ReservationOutcome> reserve(ReservationCommand command) {
        return submitAndApplyEverywhere(VolumeEntry.reserve(command.encode())).thenApply(VolumeEntry::outcome)
                .thenApply(outcome -> replica == null ? attentionListeners.tell(outcome) : outcome);
    }

    /**
     * The unit attentions of every reservation change, as this node's replica applies it. A node
     * without a replica hears only of the changes made through itself (a known gap, as for
     * reservations).
     */
    @Override
    public AutoCloseable onUnitAttentions(Consumer<List<UnitAttention>> listener) {
        return replica != null ? replica.onUnitAttentions(listener) : attentionListeners.add(listener);
    }

    /**
     * The reservations as this node's replica has applied them (a node without a replica sees
     * none: reservation checks there are a known gap until reservations are served cluster-wide).
     */
    @Override
    public Reservations reservations() {
        return replica != null ? replica.reservations() : new Reservations();
    }

    /**
     * The reset goes through the log, so every replica applies it in order with the writes (and
     * releases RESERVE(6) there), and is told everywhere before it completes (see
     * {@link #submitAndApplyEverywhere}).
     */
    @Override
    public CompletableFuture<Void> reset() {
        return submitAndApplyEverywhere(VolumeEntry.reset(raft.self().name())).thenApply(answer -> null);
    }

    /**
     * Resets announced by other nodes, as this node's replica applies them. A node without a
     * replica does not apply the log and so does not learn of them (a known gap, as for
     * reservations).
     */
    @Override
    public AutoCloseable onResetElsewhere(Runnable listener) {
        if (replica == null) {
            return () -> { };
        }
        String self = raft.self().name();
        return replica.onReset(origin -> {
            if (!origin.equals(self)) {
                listener.run();
            }
        });
    }

    /**
     * Grows every replica's block store to {@code blocks} blocks, at one index of the volume's log,
     * so every write after it may use the new blocks on every replica. Completes once each
     * replica applied it (or did not answer in time; it applies it before it serves again).
     * Initiators see the new capacity only once the cluster config says so.
     */
    public CompletableFuture<Void> grow(long blocks) {
        return submitAndApplyEverywhere(VolumeEntry.grow(blocks)).thenApply(answer -> null);
    }

    /** The leader as this node's replica knows it; a node without a replica does not follow the group. */
    @Override
    public String leaderNode() {
        return replica == null ? null : raft.leader(group.get().getGroupId()).orElse(null);
    }

    @Override
    public AutoCloseable onLeaderChange(Runnable listener) {
        return replica == null ? () -> { } : replica.onLeaderChange(listener);
    }

    /** Submits a change; completes with its answer once it is committed (and applied by the leader). */
    private CompletableFuture<Message> submit(Message entry) {
        return raft.write(group.get(), entry).thenApply(RaftNode.Committed::answer)
                .exceptionallyCompose(this::unavailable);
    }

    /**
     * Submits a change that applied twice leaves the blocks as applied once (writes, unmaps): sent
     * again if a leader change leaves unknown whether it was appended. Until it completes the
     * initiator has no answer, so no later command of its can depend on it being applied once.
     */
    private CompletableFuture<Message> submitRepeatable(Message entry) {
        return raft.writeRepeatable(group.get(), entry).thenApply(RaftNode.Committed::answer)
                .exceptionallyCompose(this::unavailable);
    }

    /** As {@link #submit(Message)}, for a change {@link VolumeEntry#fenced} by {@code token} (0: none). */
    private CompletableFuture<Message> submit(Message change, long token) {
        return submit(VolumeEntry.fenced(token, change)).thenApply(answer -> unfenced(answer, token));
    }

    /** As {@link #submitRepeatable(Message)}, for a change {@link VolumeEntry#fenced} by {@code token} (0: none). */
    private CompletableFuture<Message> submitRepeatable(Message change, long token) {
        return submitRepeatable(VolumeEntry.fenced(token, change)).thenApply(answer -> unfenced(answer, token));
    }

    /** The change's own answer to an entry fenced by {@code token}; fails with FENCED if a newer token refused it. */
    private Message unfenced(Message answer, long token) {
        return token == 0 ? answer : VolumeEntry.unfenced(answer, name, token);
    }

    /**
     * Submits a change that SCSI state on every node depends on (reservations, a reset) and
     * answers once each replica has applied it: this one, and each other one through a read
     * barrier addressed to it (it learns the commit index and applies that far). So a command the
     * initiator sends next, through any portal, is checked against the new state. A replica that
     * does not answer within {@link #APPLY_EVERYWHERE_WAIT} (down, partitioned) is not waited for;
     * it applies the change before it serves again.
     */
    private CompletableFuture<Message> submitAndApplyEverywhere(Message entry) {
        RaftGroup current = group.get();
        return raft.write(current, entry).thenCompose(committed -> {
            List<CompletableFuture<?>> applied = new ArrayList<>();
            if (local()) {
                applied.add(replica.applied(committed.index()));
            }
            for (String other : raft.others(current)) {
                applied.add(raft.readFrom(current, other, VolumeEntry.query(VolumeEntry.BARRIER))
                        .orTimeout(APPLY_EVERYWHERE_WAIT.toMillis(), TimeUnit.MILLISECONDS)
                        .exceptionally(unreachable -> null));
            }
            return CompletableFuture.allOf(applied.toArray(CompletableFuture[]::new))
                    .thenApply(ignored -> committed.answer());
        }).exceptionallyCompose(this::unavailable);
    }

    /** Failures of the group (no quorum within the deadline, refused entries) as the SCSI layer knows them. */
    private <T> CompletableFuture<T> unavailable(Throwable failure) {
        Throwable cause = VolumeException.cause(failure);
        if (cause instanceof VolumeException) {
            return CompletableFuture.failedFuture(cause);
        }
        return CompletableFuture.failedFuture(new VolumeException(VolumeException.Kind.UNAVAILABLE,
                "volume " + name + " is unavailable: " + cause, cause));
    }

    @Override
    public void close() {
        // The group and the store belong to the node, which closes them on shutdown.
    }
}
