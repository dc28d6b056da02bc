package io.raftlun.scsi;

import io.raftlun.volume.BlockVolume;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One LUN of a target: a disk over a volume, and the state SCSI keeps per logical unit: pending
 * unit attentions per I_T nexus, the RESERVE(6) holder, the caching mode page.
 */
public final class LogicalUnit {

    private final long lun;
    private final BlockVolume volume;
    private final LunIdentity identity;
    private final boolean readOnly;
    private final Map<ItNexus, ArrayDeque<Sense>> unitAttentions = new ConcurrentHashMap<>();
    private volatile ItNexus reservedBy;
    private volatile boolean writeCacheEnabled;

    public LogicalUnit(long lun, BlockVolume volume, LunIdentity identity, boolean readOnly) {
        this.lun = lun;
        this.volume = volume;
        this.identity = identity;
        this.readOnly = readOnly;
        this.writeCacheEnabled = volume.writeCacheEnabled();
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

    // ------------------------------------------------------------ unit attentions (SAM-5 5.14)

    void nexusOpened(ItNexus nexus) {
        ArrayDeque<Sense> pending = new ArrayDeque<>();
        pending.add(Sense.unitAttention(Sense.POWER_ON_RESET));
        unitAttentions.put(nexus, pending);
    }

    void nexusClosed(ItNexus nexus) {
        unitAttentions.remove(nexus);
        if (nexus.equals(reservedBy)) {
            reservedBy = null; // SPC-2 5.5.1: an I_T nexus loss releases RESERVE(6)
        }
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
    void unitAttentionForRegistrant(String prNexus, int asc) {
        unitAttentions.forEach((nexus, pending) -> {
            if (reservationKey(nexus).equals(prNexus)) {
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

    // ------------------------------------------------------------ reservations

    ItNexus reservedBy() {
        return reservedBy;
    }

    /** RESERVE(6): true if now held by {@code nexus}. */
    synchronized boolean reserve(ItNexus nexus) {
        if (reservedBy == null || reservedBy.equals(nexus)) {
            reservedBy = nexus;
            return true;
        }
        return false;
    }

    /** RELEASE(6): releases only what {@code nexus} holds (SPC-2 7.17). */
    synchronized void release(ItNexus nexus) {
        if (nexus.equals(reservedBy)) {
            reservedBy = null;
        }
    }

    /** Logical unit and target resets release RESERVE(6) and tell everyone else (SAM-5 6.3). */
    void reset(ItNexus by) {
        reservedBy = null;
        unitAttentionForOthers(by, Sense.BUS_DEVICE_RESET);
    }

    /** The I_T nexus as persistent reservations name it. */
    static String reservationKey(ItNexus nexus) {
        return nexus.initiatorPortName() + "|" + nexus.targetPortName();
    }
}
