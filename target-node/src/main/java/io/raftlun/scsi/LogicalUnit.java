package io.raftlun.scsi;

import io.raftlun.volume.BlockVolume;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.ReservationOutcome;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One LUN of a target: a disk over a volume, and the state SCSI keeps per logical unit on this
 * node: pending unit attentions per I_T nexus, the caching mode page. Reservations, RESERVE(6)'s
 * too, are the volume's, so every node serving it enforces the same ones.
 */
public final class LogicalUnit implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LogicalUnit.class);

    private final long lun;
    private final BlockVolume volume;
    private final LunIdentity identity;
    private final boolean readOnly;
    private final Map<ItNexus, ArrayDeque<Sense>> unitAttentions = new ConcurrentHashMap<>();
    private volatile boolean writeCacheEnabled;
    private final AutoCloseable resetsElsewhere;
    private final AutoCloseable leaderChanges;
    private volatile String leader;
    private final AutoCloseable reservationAttentions;
    /** RESERVE(6) releases this node submitted and the volume may not have applied yet. */
    private CompletableFuture<Void> releases = CompletableFuture.completedFuture(null);
    private final SenseCounter senses;

    public LogicalUnit(long lun, BlockVolume volume, LunIdentity identity, boolean readOnly) {
        this(lun, volume, identity, readOnly, SenseCounter.NONE);
    }

    /** As above, counting the unit's CHECK CONDITIONs by sense key into {@code senses}. */
    public LogicalUnit(long lun, BlockVolume volume, LunIdentity identity, boolean readOnly, SenseCounter senses) {
        this.senses = senses;
        this.lun = lun;
        this.volume = volume;
        this.identity = identity;
        this.readOnly = readOnly;
        this.writeCacheEnabled = volume.writeCacheEnabled();
        this.resetsElsewhere = volume.onResetElsewhere(this::resetHere);
        this.leader = volume.leaderNode();
        this.leaderChanges = volume.onLeaderChange(this::leaderMaybeMoved);
        this.reservationAttentions = volume.onUnitAttentions(attentions -> attentions.forEach(attention ->
                unitAttentionForRegistrant(attention.nexus(), attention.asc())));
    }

    public long lun() {
        return lun;
    }

    public BlockVolume volume() {
        return volume;
    }

    public LunIdentity identity() {
        return identity;
    }

    public boolean readOnly() {
        return readOnly;
    }

    /**
     * WCE as the caching mode page reports it. Starts as the volume's truth; an initiator may turn
     * it off, and then every write is made durable before GOOD (written as FUA).
     */
    boolean writeCacheEnabled() {
        return writeCacheEnabled;
    }

    void writeCacheEnabled(boolean enabled) {
        writeCacheEnabled = enabled && volume.writeCacheEnabled();
    }

    /** A write must reach stable storage before GOOD: asked for (FUA), or no write cache to hide it. */
    boolean forceUnitAccess(boolean fua) {
        return fua || (!writeCacheEnabled && volume.writeCacheEnabled());
    }

    /** Counts {@code result} if it is a CHECK CONDITION; returns it. */
    ScsiResult counted(ScsiResult result) {
        byte[] sense = result.senseData();
        if (result.status() == ScsiResult.CHECK_CONDITION && sense != null && sense.length > 2) {
            // fixed format keeps the key in byte 2, descriptor format (0x72, 0x73) in byte 1
            senses.checkCondition((sense[0] & 0x7e) == 0x72 ? sense[1] & 0x0f : sense[2] & 0x0f);
        }
        return result;
    }

    // ------------------------------------------------------------ unit attentions (SAM-5 5.14)

    void nexusOpened(ItNexus nexus) {
        ArrayDeque<Sense> pending = new ArrayDeque<>();
        pending.add(Sense.unitAttention(Sense.POWER_ON_RESET));
        unitAttentions.put(nexus, pending);
    }

    /**
     * The nexus is gone: so are its unit attentions, and a RESERVE(6) it holds (SPC-2 5.5.1).
     * Completes once the release is applied on every node.
     */
    CompletableFuture<Void> nexusClosed(ItNexus nexus) {
        unitAttentions.remove(nexus);
        String key = nexus.reservationKey();
        // Its RESERVE(6) came through this node, whose replica applied it before GOOD: most sessions hold
        // none and end without a log entry.
        if (!key.equals(volume.reservations().view().reserve6Holder())) {
            return CompletableFuture.completedFuture(null);
        }
        return releaseInOrder(ReservationCommand.release6(key));
    }

    /** Establishes a unit attention for every known nexus but {@code except} (null: for all). */
    void unitAttentionForOthers(ItNexus except, int asc) {
        unitAttentions.forEach((nexus, pending) -> {
            if (!nexus.equals(except)) {
                add(pending, Sense.unitAttention(asc));
            }
        });
    }

    /** Establishes a unit attention for the nexuses whose PR key string is {@code prNexus}. */
    private void unitAttentionForRegistrant(String prNexus, int asc) {
        unitAttentions.forEach((nexus, pending) -> {
            if (nexus.reservationKey().equals(prNexus)) {
                add(pending, Sense.unitAttention(asc));
            }
        });
    }

    private static void add(ArrayDeque<Sense> pending, Sense sense) {
        synchronized (pending) {
            if (!pending.contains(sense)) {
                pending.add(sense);
            }
        }
    }

    /** The oldest pending unit attention for {@code nexus}, removed; or null. */
    Sense takeUnitAttention(ItNexus nexus) {
        ArrayDeque<Sense> pending = unitAttentions.get(nexus);
        if (pending == null) {
            return null;
        }
        synchronized (pending) {
            return pending.poll();
        }
    }

    boolean hasUnitAttention(ItNexus nexus) {
        ArrayDeque<Sense> pending = unitAttentions.get(nexus);
        if (pending == null) {
            return false;
        }
        synchronized (pending) {
            return !pending.isEmpty();
        }
    }

    // ------------------------------------------------------------ RESERVE(6) (SPC-2 5.5.1)

    /** True if another I_T nexus than {@code nexus} holds RESERVE(6): then {@code nexus} conflicts. */
    boolean reservedByAnother(ItNexus nexus) {
        return volume.reservations().reserve6HeldByAnother(nexus.reservationKey());
    }

    /** RESERVE(6): true if {@code nexus} holds the logical unit now, on every node serving it. */
    CompletableFuture<Boolean> reserve(ItNexus nexus) {
        ReservationCommand reserve = ReservationCommand.reserve6(nexus.reservationKey(), nexus.initiatorPortName(),
                nexus.relativeTargetPort());
        CompletableFuture<Void> pending;
        synchronized (this) {
            pending = releases;
        }
        // After this node's pending releases: one for a session now reinstated must not undo it.
        return pending.thenCompose(ignored -> volume.reserve(reserve))
                .thenApply(outcome -> outcome.result() == ReservationOutcome.Result.GOOD);
    }

    /** RELEASE(6): releases only what {@code nexus} holds (SPC-2 7.17). */
    CompletableFuture<Void> release(ItNexus nexus) {
        return volume.reserve(ReservationCommand.release6(nexus.reservationKey())).thenApply(outcome -> null);
    }

    /**
     * This node's target port serves the LUN from now on. A RESERVE(6) held through that port was
     * held by a nexus that is gone (the node restarted, or the LUN was taken away), so it is
     * released; RESERVE(6) through this node waits for that.
     */
    public CompletableFuture<Void> openedOnPort(int relativeTargetPort) {
        return releaseInOrder(ReservationCommand.release6ThroughPort(relativeTargetPort));
    }

    /** A release that later RESERVE(6)s through this node are ordered after. */
    private synchronized CompletableFuture<Void> releaseInOrder(ReservationCommand release) {
        CompletableFuture<Void> applied = volume.reserve(release).handle((outcome, failure) -> {
            if (failure != null) {
                log.warn("LUN {}: releasing RESERVE(6) on volume {} failed: {}", lun, volume.name(),
                        failure.toString());
            }
            return null;
        });
        releases = releases.isDone() ? applied : CompletableFuture.allOf(releases, applied);
        return applied;
    }

    /**
     * A logical unit or target reset: RESERVE(6) released, and a unit attention for every I_T
     * nexus, the issuer's too (SAM-5 6.3.3), here at once and on the other nodes serving the
     * volume before the future completes, so a multipath initiator learns of it on every path.
     */
    CompletableFuture<Void> reset() {
        resetHere();
        return volume.reset();
    }

    /**
     * The volume's leader moved, and with it the optimized port group: every nexus is told (SPC-4
     * 5.16.2.6), so multipath initiators ask REPORT TARGET PORT GROUPS again and move their I/O.
     * A leader re-elected in place changes no state and raises nothing.
     */
    private void leaderMaybeMoved() {
        String now = volume.leaderNode();
        if (now != null && !now.equals(leader)) {
            leader = now;
            unitAttentionForOthers(null, Sense.ASYMMETRIC_ACCESS_STATE_CHANGED);
        }
    }

    /**
     * The volume grew (the config every node applies says so): every nexus is told CAPACITY DATA
     * HAS CHANGED (SBC-4 4.6), so initiators read the capacity again.
     */
    public void capacityChanged() {
        unitAttentionForOthers(null, Sense.CAPACITY_DATA_HAS_CHANGED);
    }

    /** A reset through this node or another: the volume releases RESERVE(6) itself. */
    private void resetHere() {
        unitAttentionForOthers(null, Sense.BUS_DEVICE_RESET);
    }

    /** The LUN is no longer served: it stops listening to its volume. */
    @Override
    public void close() {
        for (AutoCloseable listener : List.of(resetsElsewhere, leaderChanges, reservationAttentions)) {
            try {
                listener.close();
            } catch (Exception e) {
                log.warn("LUN {}: could not stop listening to volume {}: {}", lun, volume.name(), e.toString());
            }
        }
    }
}
