package io.raftlun.replication;

import io.raftlun.blockstore.BlockStore;
import io.raftlun.consensus.LeaderQuery;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.ratis.protocol.RaftGroupId;

/**
 * Builds a new replica of a volume from its leader before the replica joins the volume's group:
 * the leader's applied index and state (fence, reservations) first, then every chunk the leader
 * holds, at no more than a given rate, then a checkpoint at that index. Joined afterwards, the
 * replica is a member whose log starts after that index, so Raft only has to send it what was
 * written during the copy (or, past the leader's purged log, the usual catch-up fetches the chunks
 * changed since). Chunks copied later may hold writes past the index; replaying the log skips those by
 * the chunk's own index, as for any catch-up.
 *
 * <p>The copy is resumable: {@code persist} is told where it stands after each batch, once the
 * batch is synced, and a rebuild started again from that {@link Position} goes on from there.
 */
public final class ReplicaRebuild {

    /** How long one query to the leader may take (it retries through elections meanwhile). */
    private static final long QUERY_SECONDS = 60;

    /**
     * Where a rebuild stands: the leader's position it copies at (term, index, and the volume's
     * state besides its blocks there: fence, reservations), the next chunk to fetch, and the bytes
     * done of the total.
     */
    public record Position(long term, long index, byte[] state, long nextChunk, long bytesDone,
                           long bytesTotal) {
    }

    private final BlockStore store;
    private final LeaderQuery leader;
    private final RaftGroupId group;
    private final long bytesPerSecond;
    private final Consumer<Position> persist;
    private volatile Position position;
    private volatile double rate;
    /** The pace: since paceFrom, pacedBytes were copied (run's thread only). */
    private long paceFrom;
    private long pacedBytes;

    /**
     * @param bytesPerSecond at most this much chunk data per second (0: as fast as it goes), so
     *                       the initiators of the volume keep their share of disks and network
     * @param resume         where an earlier run of this rebuild stopped, or null to start
     */
    public ReplicaRebuild(BlockStore store, LeaderQuery leader, RaftGroupId group, long bytesPerSecond,
                          Position resume, Consumer<Position> persist) {
        this.store = store;
        this.leader = leader;
        this.group = group;
        this.bytesPerSecond = bytesPerSecond;
        this.position = resume;
        this.persist = persist;
    }

    /** Where the copy stands (null until the leader answered the first time). */
    public Position position() {
        return position;
    }

    /** Bytes per second over the last few batches. */
    public double rate() {
        return rate;
    }

    /** Copies the leader's chunks into the store, then checkpoints it at the leader's index; blocks. */
    public Position run() throws Exception {
        if (position == null) {
            VolumeEntry.ReplicaState state = VolumeEntry.state(ask(VolumeEntry.query(VolumeEntry.STATE)));
            long total = VolumeEntry.size(ask(VolumeEntry.query(VolumeEntry.CHANGED_BYTES, -1)));
            position = new Position(state.at().getTerm(), state.at().getIndex(), state.state(), 0, 0, total);
            persist.accept(position);
        }
        int batch = (int) Math.max(store.blockSize() * 256L, Math.min(VolumeStateMachine.CATCH_UP_BATCH_BYTES,
                bytesPerSecond == 0 ? Long.MAX_VALUE : bytesPerSecond / 4));
        paceFrom = System.nanoTime();
        pacedBytes = 0;
        while (true) {
            long batchStart = System.nanoTime();
            List<BlockStore.ChunkImage> images = VolumeEntry.chunks(ask(VolumeEntry.query(
                    VolumeEntry.CHANGED_CHUNKS, -1, position.nextChunk(), batch)));
            if (images.isEmpty()) {
                break;
            }
            long bytes = 0;
            for (BlockStore.ChunkImage image : images) {
                store.installChunk(image);
                bytes += image.data().length;
            }
            store.sync(); // before the position says these chunks are here
            Position p = position;
            position = new Position(p.term(), p.index(), p.state(), images.get(images.size() - 1).chunk() + 1,
                    p.bytesDone() + bytes, Math.max(p.bytesTotal(), p.bytesDone() + bytes));
            persist.accept(position);
            throttle(bytes);
            double seconds = (System.nanoTime() - batchStart) / 1e9;
            rate = rate == 0 ? bytes / seconds : 0.7 * rate + 0.3 * bytes / seconds;
        }
        store.checkpoint(position.term(), position.index(), position.state());
        return position;
    }

    /**
     * Sleeps as long as the bytes copied are ahead of the allowed rate. Time lost waiting (for a
     * new leader, say) is not made up by a burst beyond a second's worth of bytes.
     */
    private void throttle(long bytes) throws InterruptedException {
        if (bytesPerSecond <= 0) {
            return;
        }
        long now = System.nanoTime();
        if (now - (paceFrom + (long) (pacedBytes * 1e9 / bytesPerSecond)) > TimeUnit.SECONDS.toNanos(1)) {
            paceFrom = now - TimeUnit.SECONDS.toNanos(1);
            pacedBytes = 0;
        }
        pacedBytes += bytes;
        long wait = paceFrom + (long) (pacedBytes * 1e9 / bytesPerSecond) - now;
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }

    private org.apache.ratis.protocol.Message ask(org.apache.ratis.protocol.Message query)
            throws InterruptedException, ExecutionException, TimeoutException {
        return leader.ask(group, query).get(QUERY_SECONDS, TimeUnit.SECONDS);
    }
}
