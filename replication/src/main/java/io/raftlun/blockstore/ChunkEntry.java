package io.raftlun.blockstore;

import java.nio.ByteBuffer;

/**
 * One block map entry: for a chunk of {@link #BLOCKS} consecutive blocks, which blocks are
 * allocated, the CRC32C of each allocated block, and the log index of the last write that touched
 * the chunk. Not thread-safe: the block store guards each chunk with a lock.
 */
final class ChunkEntry {

    /** Blocks per chunk: 128 KiB of 512-byte blocks, so a chunk's entry stays near 1 KiB. */
    static final int BLOCKS = 256;
    private static final int FORMAT = 1;
    private static final int ENCODED_BYTES = 1 + 8 + BLOCKS / 8 + 4 * BLOCKS;
    /** A chunk with nothing allocated keeps only its last index (a tombstone, see {@link BlockMap#stage}). */
    private static final int EMPTY_ENCODED_BYTES = 1 + 8;

    private long lastIndex;
    private final long[] allocated = new long[BLOCKS / 64];
    private final int[] crc = new int[BLOCKS];

    long lastIndex() {
        return lastIndex;
    }

    void lastIndex(long index) {
        lastIndex = index;
    }

    boolean isAllocated(int block) {
        return (allocated[block >>> 6] & (1L << block)) != 0;
    }

    int crc(int block) {
        return crc[block];
    }

    void allocate(int block, int blockCrc) {
        allocated[block >>> 6] |= 1L << block;
        crc[block] = blockCrc;
    }

    void deallocate(int block) {
        allocated[block >>> 6] &= ~(1L << block);
        crc[block] = 0;
    }

    boolean empty() {
        for (long word : allocated) {
            if (word != 0) {
                return false;
            }
        }
        return true;
    }

    int allocatedCount() {
        int count = 0;
        for (long word : allocated) {
            count += Long.bitCount(word);
        }
        return count;
    }

    /** A copy to change: entries in the {@link ChunkCache} are shared and stay as they are. */
    ChunkEntry copy() {
        ChunkEntry copy = new ChunkEntry();
        copy.lastIndex = lastIndex;
        System.arraycopy(allocated, 0, copy.allocated, 0, allocated.length);
        System.arraycopy(crc, 0, copy.crc, 0, crc.length);
        return copy;
    }

    byte[] encode() {
        if (empty()) {
            return ByteBuffer.allocate(EMPTY_ENCODED_BYTES).put((byte) FORMAT).putLong(lastIndex).array();
        }
        ByteBuffer out = ByteBuffer.allocate(ENCODED_BYTES);
        out.put((byte) FORMAT).putLong(lastIndex);
        for (long word : allocated) {
            out.putLong(word);
        }
        for (int value : crc) {
            out.putInt(value);
        }
        return out.array();
    }

    static ChunkEntry decode(byte[] bytes) {
        if ((bytes.length != ENCODED_BYTES && bytes.length != EMPTY_ENCODED_BYTES) || bytes[0] != FORMAT) {
            throw new IllegalStateException("block map entry of unknown format (" + bytes.length + " bytes, format "
                    + (bytes.length > 0 ? bytes[0] : -1) + ")");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
        ChunkEntry entry = new ChunkEntry();
        entry.lastIndex = in.getLong();
        if (bytes.length == EMPTY_ENCODED_BYTES) {
            return entry;
        }
        for (int i = 0; i < entry.allocated.length; i++) {
            entry.allocated[i] = in.getLong();
        }
        for (int i = 0; i < BLOCKS; i++) {
            entry.crc[i] = in.getInt();
        }
        return entry;
    }
}
