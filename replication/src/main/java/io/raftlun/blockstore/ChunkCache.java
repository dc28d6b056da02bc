package io.raftlun.blockstore;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Decoded block map entries of one volume's recently used chunks, so a read or a write of a hot
 * chunk costs no RocksDB lookup and no decoding. Direct-mapped: each chunk has one slot, shared
 * with the chunks a multiple of the slot count away; a newer chunk simply takes the slot.
 *
 * <p>Write-through and filled only by a holder of the chunk's lock, after the block map holds what
 * is cached: a cached entry is never older than the map's. A cached entry is never changed; a
 * writer changes a {@link ChunkEntry#copy() copy} and caches that once committed.
 */
final class ChunkCache {

    /** About 1.1 KiB per entry: 4.5 MiB of heap at most per volume. */
    static final int MAX_SLOTS = 4096;

    /** A chunk's entry; {@code entry} null: the block map holds nothing for the chunk. */
    record Slot(long chunk, ChunkEntry entry) {
    }

    private final AtomicReferenceArray<Slot> slots;

    ChunkCache(long chunks) {
        this.slots = new AtomicReferenceArray<>((int) Math.max(1, Math.min(MAX_SLOTS, chunks)));
    }

    /** The chunk's slot, or null if it is not cached. */
    Slot lookup(long chunk) {
        Slot slot = slots.get(slotOf(chunk));
        return slot != null && slot.chunk == chunk ? slot : null;
    }

    /** Caches what the block map now holds for the chunk; the caller holds the chunk's lock. */
    void put(long chunk, ChunkEntry entry) {
        slots.set(slotOf(chunk), new Slot(chunk, entry));
    }

    /** Forgets the chunk (a block map write that may or may not have happened). */
    void forget(long chunk) {
        int index = slotOf(chunk);
        Slot slot = slots.get(index);
        if (slot != null && slot.chunk == chunk) {
            slots.compareAndSet(index, slot, null);
        }
    }

    private int slotOf(long chunk) {
        return (int) Long.remainderUnsigned(chunk, slots.length());
    }
}
