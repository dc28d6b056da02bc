package io.raftlun.replication;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.raftlun.blockstore.BlockStore;
import io.raftlun.consensus.LeaderQuery;
import io.raftlun.volume.LbaStatus;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.ReservationOutcome;
import io.raftlun.volume.reservation.ReservationOutcome.UnitAttention;
import io.raftlun.volume.reservation.Reservations;
import io.raftlun.volume.reservation.UnitAttentionListeners;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SnapshotManagementRequest;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica of a volume: applies the volume's log entries to its block store, in log order, with
 * each entry's index so a replay is harmless. The block store is the state; a snapshot is a
 * checkpoint (sync the store, record the index, the fence and the reservations), after which Ratis
 * may purge the log. A replica that fell behind the purged log fetches from the leader only the
 * chunks written since its own checkpoint (the block map's per-chunk indexes tell which).
 */
public final class VolumeStateMachine extends BaseStateMachine {

    private static final Logger log = LoggerFactory.getLogger(VolumeStateMachine.class);
    /** Log bytes after which a checkpoint is asked for, so the log of large writes stays bounded. */
    static final long CHECKPOINT_BYTES = 256L * 1024 * 1024;
    /** Data per catch-up request. */
    static final int CATCH_UP_BATCH_BYTES = 8 * 1024 * 1024;
    /**
     * Leads the state a checkpoint records besides the blocks (see {@link #encodeState}); a
     * checkpoint from before fences holds the reservations alone, whose format byte is 1 or 2.
     */
    private static final byte STATE_FORMAT = (byte) 0xf1;

    private final BlockStore store;
    private final LeaderQuery leaderQuery;
    private final Executor io;
    private volatile Reservations reservations = new Reservations();
    /** The highest fencing token of the {@link VolumeEntry#FENCED} changes applied (0: none yet). */
    private volatile long fence;
    private volatile SnapshotInfo checkpoint;
    /**
     * The index of the last change this replica applied, or of the checkpoint or catch-up that
     * stands for those before it: what a read barrier through a follower waits for (see
     * {@link VolumeEntry#BARRIER}). Unlike the last applied index, never one of Ratis's own
     * entries (a configuration, a new leader's first entry).
     */
    private volatile long lastChange = -1;
    private final AtomicLong bytesSinceCheckpoint = new AtomicLong();
    private final AtomicBoolean checkpointAsked = new AtomicBoolean();
    private final LongAdder catchUpBytes = new LongAdder();
    private final LongAdder leaderChanges = new LongAdder();
    private final LongAdder checkpoints = new LongAdder();
    private final LongAdder checkpointNanos = new LongAdder();
    private volatile LongConsumer commitLatency = nanos -> { };
    private final List<Consumer<String>> resetListeners = new CopyOnWriteArrayList<>();
    private final List<Runnable> leaderListeners = new CopyOnWriteArrayList<>();
    private final UnitAttentionListeners attentionListeners = new UnitAttentionListeners();
    /**
     * The chunk digests this replica noted when it applied a verify's NOTE_DIGESTS entry, by its
     * index: every replica notes them at the same point of the log, so a verify compares the
     * replicas' maps exactly, writes going on or not. Kept until asked for, the last few only.
     */
    private final Map<Long, Message> notedDigests = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>() {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Long, Message> eldest) {
                    return size() > 8;
                }
            });
    /** Who waits for this replica to apply an index. */
    private final IndexWaiters appliedWaiters = new IndexWaiters(() -> {
        TermIndex last = getLastAppliedTermIndex();
        return last == null ? -1 : last.getIndex();
    });

    public VolumeStateMachine(BlockStore store, LeaderQuery leaderQuery, Executor io) {
        this.store = store;
        this.leaderQuery = leaderQuery;
        this.io = io;
    }

    public BlockStore store() {
        return store;
    }

    /**
     * True while this replica takes part in its group and answers reads itself: joined and
     * initialized, not paused for a catch-up, not closed.
     */
    public boolean serving() {
        return getLifeCycleState() == LifeCycle.State.RUNNING;
    }

    public Reservations reservations() {
        return reservations;
    }

    /** Bytes of chunk data this replica fetched from leaders while catching up. */
    public long catchUpBytes() {
        return catchUpBytes.sum();
    }

    /** Leaders this replica learned of. */
    public long leaderChanges() {
        return leaderChanges.sum();
    }

    /** Checkpoints (Raft snapshots) taken, and the time they took in total. */
    public long checkpoints() {
        return checkpoints.sum();
    }

    public long checkpointNanos() {
        return checkpointNanos.sum();
    }

    /**
     * Tells {@code listener} how long each entry this replica submitted as leader took from
     * submission to commit (appended here, replicated to a majority, fsynced there).
     */
    public void onCommitLatency(LongConsumer listener) {
        commitLatency = listener;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage storage) throws IOException {
        super.initialize(server, groupId, storage);
        getLifeCycle().transition(LifeCycle.State.STARTING);
        restoreCheckpoint();
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    @Override
    public void reinitialize() throws IOException {
        getLifeCycle().transition(LifeCycle.State.STARTING);
        restoreCheckpoint();
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    /** The group closed here (node stopping, group left): reads no longer come to this replica. */
    @Override
    public void close() {
        LifeCycle.State state = getLifeCycleState();
        if (state == LifeCycle.State.RUNNING || state == LifeCycle.State.PAUSED) {
            getLifeCycle().transition(LifeCycle.State.CLOSING);
            getLifeCycle().transition(LifeCycle.State.CLOSED);
        }
    }

    /** Ratis pauses the state machine before it reloads it after a catch-up. */
    @Override
    public void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    private void restoreCheckpoint() {
        long[] durable = store.durableIndex();
        restoreState(store.durableState());
        if (durable[1] >= 0) {
            TermIndex at = TermIndex.valueOf(durable[0], durable[1]);
            checkpoint = snapshotAt(at);
            updateLastAppliedTermIndex(at.getTerm(), at.getIndex());
            lastChange = at.getIndex();
            log.info("volume {}: replica checkpoint at index {}", store.name(), at.getIndex());
        }
    }

    /**
     * The volume's state besides its blocks, as a checkpoint records it and a catch-up copies it:
     * the fence and the reservations. The caller holds this object's lock.
     */
    private byte[] encodeState() {
        byte[] encoded = reservations.encode();
        return ByteBuffer.allocate(9 + encoded.length).put(STATE_FORMAT).putLong(fence).put(encoded).array();
    }

    /** Restores what {@link #encodeState} recorded, or the reservations alone an older checkpoint recorded. */
    private synchronized void restoreState(byte[] state) {
        if (state != null && state.length >= 9 && state[0] == STATE_FORMAT) {
            ByteBuffer in = ByteBuffer.wrap(state);
            in.get();
            fence = in.getLong();
            byte[] rest = new byte[in.remaining()];
            in.get(rest);
            reservations = Reservations.decode(rest);
        } else {
            fence = 0;
            reservations = state == null ? new Reservations() : Reservations.decode(state);
        }
    }

    /** The highest fencing token applied here (see {@link VolumeEntry#fenced}). */
    public long fence() {
        return fence;
    }

    private static SnapshotInfo snapshotAt(TermIndex at) {
        return new SnapshotInfo() {
            @Override
            public TermIndex getTermIndex() {
                return at;
            }

            @Override
            public List<FileInfo> getFiles() {
                return List.of(); // the block store is the snapshot; it is never shipped as files
            }
        };
    }

    @Override
    public SnapshotInfo getLatestSnapshot() {
        return checkpoint;
    }

    // ---------------------------------------------------------------- applying the log

    /** On the leader: notes when the entry was submitted, so its commit latency is known when it applies. */
    @Override
    public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
        return super.startTransaction(request).setStateMachineContext(System.nanoTime());
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        if (trx.getStateMachineContext() instanceof Long submitted) {
            commitLatency.accept(System.nanoTime() - submitted);
        }
        RaftProtos.LogEntryProto entry = trx.getLogEntry();
        long index = entry.getIndex();
        ByteBuffer in = VolumeEntry.inPlace(entry.getStateMachineLogEntry().getLogData());
        try {
            Message answer = apply(index, in);
            store.noteApplied(index);
            return CompletableFuture.completedFuture(answer);
        } catch (RuntimeException e) {
            log.error("volume {}: log entry {} could not be applied: {}", store.name(), index, e.toString());
            return CompletableFuture.failedFuture(e);
        } finally {
            updateLastAppliedTermIndex(entry.getTerm(), index);
            lastChange = index;
            appliedWaiters.reached(index);
            if (bytesSinceCheckpoint.addAndGet(entry.getSerializedSize()) > CHECKPOINT_BYTES
                    && checkpointAsked.compareAndSet(false, true)) {
                askForCheckpoint();
            }
        }
    }

    /**
     * Completes once this replica has applied {@code index}, so what the entry changed (the
     * reservations, say) reads back here as on the leader that answered it.
     */
    public CompletableFuture<Void> applied(long index) {
        return appliedWaiters.await(index);
    }

    private Message apply(long index, ByteBuffer in) {
        byte kind = in.get();
        switch (kind) {
            case VolumeEntry.FENCED -> {
                long token = in.getLong();
                if (token < fence) {
                    return VolumeEntry.fencedAnswer(false, fence, Message.EMPTY);
                }
                synchronized (this) { // against a checkpoint encoding the fence meanwhile
                    fence = token;
                }
                return VolumeEntry.fencedAnswer(true, token, apply(index, in));
            }
            case VolumeEntry.WRITE -> {
                long lba = in.getLong();
                store.write(index, lba, Unpooled.wrappedBuffer(in));
                return Message.EMPTY;
            }
            case VolumeEntry.WRITES -> {
                store.write(index, VolumeEntry.writes(in));
                return Message.EMPTY;
            }
            case VolumeEntry.WRITE_SAME -> {
                long lba = in.getLong();
                long blocks = in.getLong();
                boolean deallocate = in.get() != 0;
                store.writeSame(index, lba, blocks, Unpooled.wrappedBuffer(in), deallocate);
                return Message.EMPTY;
            }
            case VolumeEntry.UNMAP -> {
                store.unmap(index, VolumeEntry.extents(in));
                return Message.EMPTY;
            }
            case VolumeEntry.COMPARE_AND_WRITE -> {
                long lba = in.getLong();
                int half = in.getInt();
                ByteBuf both = Unpooled.wrappedBuffer(in);
                long offset = store.compareAndWrite(index, lba, both.slice(0, half), both.slice(half, half));
                return VolumeEntry.offset(offset);
            }
            case VolumeEntry.RESERVE -> {
                byte[] command = new byte[in.remaining()];
                in.get(command);
                ReservationOutcome outcome;
                synchronized (this) { // against a checkpoint encoding the reservations meanwhile
                    outcome = reservations.apply(ReservationCommand.decode(command));
                }
                return VolumeEntry.outcome(attentionListeners.tell(outcome));
            }
            case VolumeEntry.RESET -> {
                String origin = StandardCharsets.UTF_8.decode(in).toString();
                synchronized (this) {
                    reservations.logicalUnitReset();
                }
                resetListeners.forEach(listener -> listener.accept(origin));
                return Message.EMPTY;
            }
            case VolumeEntry.GROW -> {
                store.grow(in.getLong()); // no-op when replayed: it never shrinks
                return Message.EMPTY;
            }
            case VolumeEntry.REPAIR -> {
                int repaired = 0;
                for (BlockStore.ChunkImage image : VolumeEntry.chunks(in)) {
                    repaired += store.repair(image);
                }
                if (repaired > 0) {
                    log.warn("volume {}: scrub repaired {} corrupt block(s) of this replica", store.name(), repaired);
                }
                return Message.EMPTY;
            }
            case VolumeEntry.NOTE_DIGESTS -> {
                notedDigests.put(index, VolumeEntry.digests(store.digests(in.getLong(), in.getLong())));
                return Message.EMPTY;
            }
            default -> throw new IllegalStateException("unknown volume log entry kind " + kind);
        }
    }

    /**
     * Tells {@code listener} the node each logical unit reset this replica applies came through,
     * so its unit attention reaches the sessions of every node. Returns what unregisters it.
     */
    public AutoCloseable onReset(Consumer<String> listener) {
        resetListeners.add(listener);
        return () -> resetListeners.remove(listener);
    }

    /** Runs {@code listener} whenever this replica learns of a new leader (never for "no leader"). */
    public AutoCloseable onLeaderChange(Runnable listener) {
        leaderListeners.add(listener);
        return () -> leaderListeners.remove(listener);
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId member, RaftPeerId newLeader) {
        leaderChanges.increment();
        leaderListeners.forEach(Runnable::run);
    }

    /**
     * Tells {@code listener} the unit attentions each reservation change this replica applies
     * establishes, so the registrants whose sessions are on this node learn of it, wherever the
     * change came from. Returns what unregisters it.
     */
    public AutoCloseable onUnitAttentions(Consumer<List<UnitAttention>> listener) {
        return attentionListeners.add(listener);
    }

    private void askForCheckpoint() {
        getServer().thenAccept(server -> {
            try {
                server.snapshotManagementAsync(SnapshotManagementRequest.newCreate(ClientId.randomId(), getId(),
                        getGroupId(), 0, 60_000, 1)).whenComplete((reply, failure) -> checkpointAsked.set(false));
            } catch (RuntimeException e) {
                checkpointAsked.set(false);
            }
        });
    }

    @Override
    public long takeSnapshot() {
        TermIndex last = getLastAppliedTermIndex();
        if (last == null || last.getIndex() < 0) {
            return -1;
        }
        long start = System.nanoTime();
        byte[] state;
        synchronized (this) {
            state = encodeState();
        }
        store.checkpoint(last.getTerm(), last.getIndex(), state);
        checkpoint = snapshotAt(last);
        bytesSinceCheckpoint.set(0);
        checkpoints.increment();
        checkpointNanos.add(System.nanoTime() - start);
        return last.getIndex();
    }

    // ---------------------------------------------------------------- queries

    @Override
    public CompletableFuture<Message> query(Message request) {
        ByteBuffer in = request.getContent().asReadOnlyByteBuffer();
        byte kind = in.get();
        if (kind == VolumeEntry.BARRIER) {
            return CompletableFuture.completedFuture(VolumeEntry.offset(lastChange));
        }
        return CompletableFuture.supplyAsync(() -> answer(kind, in), io);
    }

    private Message answer(byte kind, ByteBuffer in) {
        switch (kind) {
            case VolumeEntry.READ -> {
                long lba = in.getLong();
                int blocks = (int) in.getLong();
                ByteBuf data = store.read(lba, blocks);
                try {
                    byte[] bytes = new byte[data.readableBytes()];
                    data.readBytes(bytes);
                    return VolumeEntry.message(bytes);
                } finally {
                    data.release();
                }
            }
            case VolumeEntry.LBA_STATUS -> {
                List<LbaStatus> status = store.lbaStatus(in.getLong(), (int) in.getLong());
                ByteBuffer out = ByteBuffer.allocate(4 + 17 * status.size()).putInt(status.size());
                for (LbaStatus s : status) {
                    out.putLong(s.lba()).putLong(s.blocks()).put((byte) (s.mapped() ? 1 : 0));
                }
                out.flip();
                return VolumeEntry.answer(out);
            }
            case VolumeEntry.STATE -> {
                synchronized (this) {
                    TermIndex last = getLastAppliedTermIndex();
                    byte[] encoded = encodeState();
                    return VolumeEntry.answer(ByteBuffer.allocate(16 + encoded.length)
                            .putLong(last.getTerm()).putLong(last.getIndex()).put(encoded).flip());
                }
            }
            case VolumeEntry.CHANGED_BYTES -> {
                return VolumeEntry.size(store.changedBytes(in.getLong()));
            }
            case VolumeEntry.CHANGED_CHUNKS -> {
                long after = in.getLong();
                long from = in.getLong();
                int max = (int) in.getLong();
                return VolumeEntry.chunks(store.changedChunks(after, from, max));
            }
            case VolumeEntry.SCRUB -> {
                return VolumeEntry.scrubStep(store.scrub(in.getLong(), in.getLong(), in.getLong() != 0));
            }
            case VolumeEntry.NOTED_DIGESTS -> {
                long at = in.getLong();
                Message noted = notedDigests.remove(at);
                if (noted == null) {
                    throw new CompletionException(new IOException("this replica noted no digests at index " + at
                            + " (it caught up past it from the leader's chunks)"));
                }
                return noted;
            }
            default -> throw new CompletionException(new IOException("unknown volume query kind " + kind));
        }
    }

    // ---------------------------------------------------------------- catching up

    /**
     * Behind the leader's purged log: take the leader's applied index and state (fence, reservations)
     * first, then every chunk the leader changed after this replica's own applied index. A chunk
     * fetched later may already hold writes past that index; replaying them skips it by the chunk's
     * index.
     */
    @Override
    public CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(RaftProtos.RoleInfoProto roleInfo,
                                                                       TermIndex firstTermIndexInLog) {
        // Ratis's applied index is the last checkpoint's after a restart; the store knows better
        TermIndex mine = getLastAppliedTermIndex();
        long after = Math.max(mine == null ? -1 : mine.getIndex(), store.appliedIndex());
        log.info("volume {}: behind the leader's log (it starts at {}); fetching chunks changed after index {}",
                store.name(), firstTermIndexInLog, after);
        return leaderQuery.ask(getGroupId(), VolumeEntry.query(VolumeEntry.STATE)).thenComposeAsync(answer -> {
            VolumeEntry.ReplicaState state = VolumeEntry.state(answer);
            TermIndex leaderAt = state.at();
            return fetchChunks(after, 0, 0).thenApply(moved -> {
                synchronized (this) {
                    restoreState(state.state());
                    updateLastAppliedTermIndex(leaderAt.getTerm(), leaderAt.getIndex());
                    lastChange = leaderAt.getIndex();
                }
                takeSnapshot();
                appliedWaiters.reached(leaderAt.getIndex());
                log.info("volume {}: caught up to index {} with {} bytes of changed chunks", store.name(),
                        leaderAt.getIndex(), moved);
                return leaderAt;
            });
        }, io);
    }

    private CompletableFuture<Long> fetchChunks(long after, long fromChunk, long moved) {
        return leaderQuery.ask(getGroupId(), VolumeEntry.query(VolumeEntry.CHANGED_CHUNKS, after, fromChunk,
                CATCH_UP_BATCH_BYTES)).thenComposeAsync(answer -> {
                    List<BlockStore.ChunkImage> images = VolumeEntry.chunks(answer);
                    long bytes = 0;
                    for (BlockStore.ChunkImage image : images) {
                        store.installChunk(image);
                        bytes += image.data().length;
                    }
                    catchUpBytes.add(bytes);
                    if (images.isEmpty()) {
                        return CompletableFuture.completedFuture(moved);
                    }
                    return fetchChunks(after, images.get(images.size() - 1).chunk() + 1, moved + bytes);
                }, io);
    }
}
